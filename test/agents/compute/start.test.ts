// Choosing the compute driver: fake or qemu on request (qemu refused, naming what is missing,
// where it cannot run), and by default qemu only where it can run with the linuxbridge
// dataplane; the accelerator and the reasons show in the banner text.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { chooseDriver, driverText, qemuBlockers } from '../../../src/agents/compute/start.js';
import { loadConfig } from '../../../src/core/config.js';

const config = (env: NodeJS.ProcessEnv) => loadConfig({ dataDir: '/tmp/kumo-x' }, env);

describe('compute driver choice', () => {
  it('reads KUMO_ACCEL, KUMO_QEMU_BINARY and KUMO_QEMU_STOP_TIMEOUT, refusing bad values', () => {
    const defaults = config({});
    assert.equal(defaults.compute.accel, 'auto');
    assert.equal(defaults.compute.qemuStopTimeoutSeconds, 60);
    assert.equal(defaults.compute.qemuBinary, undefined);
    const set = config({ KUMO_ACCEL: 'tcg', KUMO_QEMU_BINARY: '/opt/qemu/bin/qemu-system-x86_64', KUMO_QEMU_STOP_TIMEOUT: '5' });
    assert.deepEqual([set.compute.accel, set.compute.qemuBinary, set.compute.qemuStopTimeoutSeconds], ['tcg', '/opt/qemu/bin/qemu-system-x86_64', 5]);
    assert.throws(() => config({ KUMO_ACCEL: 'hvf' }), /KUMO_ACCEL=hvf: use auto, kvm or tcg/);
    assert.throws(() => config({ KUMO_QEMU_STOP_TIMEOUT: 'soon' }), /expected an integer/);
    assert.throws(() => config({ KUMO_QEMU_STOP_TIMEOUT: '-1' }), /KUMO_QEMU_STOP_TIMEOUT/);
  });

  it('takes fake on request and refuses an unknown driver', async () => {
    const fake = await chooseDriver(config({ KUMO_COMPUTE_DRIVER: 'fake' }));
    assert.deepEqual(fake, { name: 'fake', reason: 'requested with --compute-driver fake' });
    assert.equal(driverText(fake), 'driver fake: requested with --compute-driver fake');
    await assert.rejects(chooseDriver(config({ KUMO_COMPUTE_DRIVER: 'xen' })), /--compute-driver xen: use fake or qemu/);
  });

  it('refuses qemu where it cannot run, naming what is missing', async () => {
    const env = { KUMO_COMPUTE_DRIVER: 'qemu', KUMO_QEMU_BINARY: '/nonexistent/qemu-system-x86_64' };
    assert.ok(qemuBlockers(config(env)).some((b) => b.startsWith('/nonexistent/qemu-system-x86_64')));
    await assert.rejects(chooseDriver(config(env)), /--compute-driver qemu needs .*\/nonexistent\/qemu-system-x86_64/);
  });

  it('by default runs fake where qemu cannot run, or where the dataplane would leave guests unconnected', async () => {
    const noQemu = await chooseDriver(config({ KUMO_QEMU_BINARY: '/nonexistent/qemu' }));
    assert.equal(noQemu.name, 'fake');
    assert.match(noQemu.reason, /simulated \(fake driver\): the qemu driver needs .*\/nonexistent\/qemu/);
    const noop = await chooseDriver(config({ KUMO_DATAPLANE: 'noop' }));
    assert.equal(noop.name, 'fake');
    assert.match(noop.reason, qemuBlockers(config({})).length > 0 ? /qemu driver needs/ : /need the linuxbridge dataplane, and it is noop/);
  });

  it('picks qemu with TCG on request where QEMU can run, and says so', { skip: qemuBlockers(config({})).length > 0 ? `qemu cannot run here: ${qemuBlockers(config({})).join(', ')}` : false }, async () => {
    const choice = await chooseDriver(config({ KUMO_COMPUTE_DRIVER: 'qemu', KUMO_ACCEL: 'tcg', KUMO_DATAPLANE: 'noop' }));
    assert.equal(choice.name, 'qemu');
    assert.deepEqual(choice.accel, { accel: 'tcg', reason: 'TCG was asked for' });
    assert.match(choice.reason, /noop dataplane leaves guests' NICs unconnected/);
    assert.match(driverText(choice), /^driver qemu \(accel tcg: TCG was asked for\): requested with --compute-driver qemu/);
  });
});
