// The whole path of a real instance through the API on the qemu driver: kumo-tiny goes into
// the image service, a server boots from it (image service -> image cache -> overlay -> QEMU),
// its console output comes through os-getConsoleOutput, stop and start go through ACPI and a
// new QEMU, a QEMU killed behind the cloud's back turns the server SHUTOFF within seconds with
// a `stop` action, and delete leaves nothing behind.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runningPid } from '../../../src/core/host/daemons.js';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { guestImage, qemuSuitePrerequisites } from '../../helpers/guest-image.js';
import { boot, nova, waitForServer } from '../../services/compute/helpers.js';

const { skip, missing } = await qemuSuitePrerequisites();
/** Every process whose command line mentions `text` (how many QEMUs run a server). */
function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        return readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('servers on the qemu driver (kumo-tiny, TCG)', { skip, timeout: 600_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'kumo-qemu-cloud-'));
  const dataDir = join(work, 'data');
  const stateDir = join(work, 'run');
  let cloud: TestCloud;
  let demo: string;
  let image: string;
  const servers: string[] = [];

  const startCloud = () =>
    startTestCloud({
      dataDir,
      env: { KUMO_COMPUTE_DRIVER: 'qemu', KUMO_ACCEL: 'tcg', KUMO_QEMU_STOP_TIMEOUT: '30' },
      dataplane: { driver: 'noop', stateDir },
    });
  const qmpSocket = (id: string) => join(stateDir, 'qemu', id, 'qmp.sock');
  const pidOf = (id: string) => runningPid(join(stateDir, 'qemu', id, 'qemu.pid'), qmpSocket(id));

  /** The whole console log the API serves (the driver bounds it to its last 100 KiB). */
  async function consoleOutput(id: string): Promise<string> {
    const response = await nova(cloud.url, 'POST', `/servers/${id}/action`, demo, { 'os-getConsoleOutput': {} });
    assert.equal(response.status, 200, JSON.stringify(response.body));
    return String(response.json.output).replace(/\r/g, '');
  }

  async function waitConsole(id: string, pattern: RegExp, count = 1): Promise<void> {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const text = await consoleOutput(id);
      if ((text.match(new RegExp(pattern.source, 'gm'))?.length ?? 0) >= count) return;
      if (Date.now() > deadline) assert.fail(`no ${pattern} (#${count}) on the console; it ends:\n${text.split('\n').slice(-15).join('\n')}`);
      await sleep(500);
    }
  }

  before(async () => {
    if (missing) throw new Error(`CI is set and QEMU is installed, but this is missing: ${missing}`);
    const file = await guestImage();
    cloud = await startCloud();
    demo = await cloud.token('demo');
    const admin = await cloud.token('admin');
    const created = await api(cloud.url, 'POST', '/image/v2/images', admin, { name: 'kumo-tiny', disk_format: 'qcow2', container_format: 'bare', visibility: 'public' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    image = created.json.id as string;
    const put = await fetch(`${cloud.url}/image/v2/images/${image}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': admin, 'content-type': 'application/octet-stream' },
      body: readFileSync(file),
    });
    assert.equal(put.status, 204);
  });

  after(async () => {
    for (const id of servers) {
      await nova(cloud.url, 'DELETE', `/servers/${id}`, demo).catch(() => undefined);
      await waitForServer(cloud.url, demo, id, ['DELETED'], 60_000).catch(() => undefined);
    }
    await cloud?.stop();
    // Only QEMUs of this suite, found by their pid files and guarded by their QMP socket paths.
    for (const id of existsSync(join(stateDir, 'qemu')) ? readdirSync(join(stateDir, 'qemu')) : []) {
      const pid = pidOf(id);
      if (pid !== undefined) process.kill(pid, 'SIGKILL');
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('boots a server from the image service into a QEMU guest and serves its console', async (t) => {
    assert.equal(cloud.cloud.computeDriver.name, 'qemu');
    assert.equal(cloud.cloud.computeDriver.accel?.accel, 'tcg');
    const started = Date.now();
    const created = await boot(cloud.url, demo, { name: 'real, one', imageRef: image, flavorRef: '42', networks: 'none' });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id = created.json.server.id as string;
    servers.push(id);
    const server = await waitForServer(cloud.url, demo, id, ['ACTIVE', 'ERROR'], 120_000);
    assert.equal(server.status, 'ACTIVE', JSON.stringify(server.fault));
    assert.ok(pidOf(id) !== undefined, 'a QEMU runs the server');
    await waitConsole(id, /^kumo-tiny ready none none$/);
    t.diagnostic(`POST /servers to the guest's ready line: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const admin = await cloud.token('admin');
    const hypervisors = await nova(cloud.url, 'GET', '/os-hypervisors/detail', admin);
    assert.equal(hypervisors.status, 200);
    assert.equal(hypervisors.json.hypervisors[0].hypervisor_type, 'QEMU');
  });

  it('stops on the power button and starts a new QEMU on the same disk', async () => {
    const id = servers[0] as string;
    const pid = pidOf(id);
    assert.equal((await nova(cloud.url, 'POST', `/servers/${id}/action`, demo, { 'os-stop': null })).status, 202);
    await waitForServer(cloud.url, demo, id, ['SHUTOFF'], 60_000);
    assert.equal(pidOf(id), undefined);
    await waitConsole(id, /kumo-tiny power-button: powering off/);
    assert.equal((await nova(cloud.url, 'POST', `/servers/${id}/action`, demo, { 'os-start': null })).status, 202);
    await waitForServer(cloud.url, demo, id, ['ACTIVE'], 60_000);
    const again = pidOf(id);
    assert.ok(again !== undefined && again !== pid);
    await waitConsole(id, /^kumo-tiny ready none none$/, 2);
  });

  it('turns a server whose QEMU was killed SHUTOFF within seconds, with a stop action', async (t) => {
    const id = servers[0] as string;
    const pid = pidOf(id);
    assert.ok(pid !== undefined);
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const server = await waitForServer(cloud.url, demo, id, ['SHUTOFF'], 10_000);
    t.diagnostic(`SHUTOFF ${Date.now() - killedAt} ms after SIGKILL`);
    assert.equal(server['OS-EXT-STS:power_state'], 4);
    const actions = await nova(cloud.url, 'GET', `/servers/${id}/os-instance-actions`, demo);
    assert.equal(actions.json.instanceActions[0].action, 'stop');
  });

  it('keeps guests running across a restart of the cloud: the new agent adopts them, starts none twice', async () => {
    const id = servers[0] as string;
    assert.equal((await nova(cloud.url, 'POST', `/servers/${id}/action`, demo, { 'os-start': null })).status, 202);
    await waitForServer(cloud.url, demo, id, ['ACTIVE'], 60_000);
    await waitConsole(id, /^kumo-tiny ready none none$/, 3);
    const pid = pidOf(id);
    assert.ok(pid !== undefined);
    await cloud.stop();
    assert.equal(pidOf(id), pid, 'the guest outlives the cloud process');
    cloud = await startCloud();
    demo = await cloud.token('demo');
    const server = await waitForServer(cloud.url, demo, id, ['ACTIVE', 'SHUTOFF', 'ERROR']);
    assert.equal(server.status, 'ACTIVE');
    assert.equal(pidOf(id), pid, 'the same QEMU');
    assert.deepEqual(processesMentioning(qmpSocket(id)), [pid], 'one QEMU for the server');
    assert.equal((await consoleOutput(id)).match(/^kumo-tiny ready none none$/gm)?.length, 3, 'no new boot');
  });

  it('rebuilds a server on a fresh disk in a new QEMU', async () => {
    const id = servers[0] as string;
    const pid = pidOf(id);
    const rebuilt = await nova(cloud.url, 'POST', `/servers/${id}/action`, demo, { rebuild: { imageRef: image } });
    assert.equal(rebuilt.status, 202, JSON.stringify(rebuilt.body));
    await waitForServer(cloud.url, demo, id, ['ACTIVE', 'ERROR'], 60_000);
    const again = pidOf(id);
    assert.ok(again !== undefined && again !== pid, 'a new QEMU');
    await waitConsole(id, /^kumo-tiny ready none none$/);
    assert.equal((await consoleOutput(id)).match(/^kumo-tiny ready none none$/gm)?.length, 1, 'a fresh console log of one boot');
  });

  it('deletes a server without leaving a QEMU, a disk or a socket behind', async () => {
    const id = servers[0] as string;
    const pid = pidOf(id);
    assert.ok(pid !== undefined);
    assert.equal((await nova(cloud.url, 'DELETE', `/servers/${id}`, demo)).status, 204);
    await waitForServer(cloud.url, demo, id, ['DELETED'], 60_000);
    assert.deepEqual(processesMentioning(qmpSocket(id)), [], `no QEMU (it was pid ${pid})`);
    assert.equal(existsSync(join(dataDir, 'instances', id)), false, 'no instance directory');
    assert.equal(existsSync(join(stateDir, 'qemu', id)), false, 'no runtime directory');
  });
});
