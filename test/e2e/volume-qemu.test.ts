// Volumes in real guests through the openstack CLI: `kumo up` (a child process) with the qemu
// driver under TCG and the linuxbridge dataplane in a network lab, once per volume backend
// (`file`, then `nbd`: exported by qemu-storage-daemon over NBD with TLS-PSK; set
// KUMO_TEST_VOLUME_BACKENDS=nbd to run one). A running kumo-tiny guest's user data waits for
// /dev/vdb, writes a marker and syncs; the volume is hot-attached with `server add volume`
// after ACTIVE; a file volume is grown with `volume set --size` (the guest sees the new size),
// an nbd one is refused that (no online extend) and keeps serving the guest's writes across a
// restart of `kumo up` (its storage daemon with it); it is listed with `server volume list` and
// detached with `server remove volume`; a second guest gets it and reads the marker back; a
// third guest boots from a volume made from kumo-tiny (`server create --volume`) and prints its
// ready line. Run it under `flock /work/hostlab.lock`. Needs root, QEMU, the CLI and kumo-tiny's
// build tools.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startKumo, type KumoProcess } from './helpers/kumo-process.js';
import { OpenStackCli } from './helpers/openstack-cli.js';
import { countReadyLines, KumoRest, kumoTinyFile, QemuLab, qemuPrerequisites, qemuProcessesMentioning, skipUnless, until, type Json } from './helpers/qemu-guests.js';

const prerequisites = await qemuPrerequisites();
const skip = skipUnless(prerequisites, 'the real-QEMU volume suite');

const DEMO = ['--os-cloud', 'kumo-demo'];
const STEP = { timeout: 300_000 };

const BACKENDS = (process.env.KUMO_TEST_VOLUME_BACKENDS ?? 'file,nbd').split(',');

for (const backend of BACKENDS) describe(`volumes in real QEMU guests through the openstack CLI (${backend} backend)`, { skip, timeout: 1_800_000 }, () => {
  let qlab: QemuLab;
  let root: string;
  let kumo: KumoProcess;
  let cli: OpenStackCli;
  let rest: KumoRest;
  const ids: Record<string, string> = {};
  const marker = `kumo-vol-${randomBytes(6).toString('hex')}`;
  const timings: Record<string, number> = {};
  let env: Record<string, string> = {};

  async function volumeStatus(id: string): Promise<string | undefined> {
    const r = await rest.call('GET', `/volume/v3/volumes/${id}`);
    return r.status === 404 ? 'deleted' : (r.json.volume?.status as string | undefined);
  }
  const waitVolume = (id: string, status: string, timeoutMs = 120_000) =>
    until(`volume ${id} to be ${status}`, async () => (await volumeStatus(id)) === status, timeoutMs, 200);

  function userData(name: string, lines: string[]): string {
    const file = join(root, `${name}-user-data.sh`);
    writeFileSync(file, ['#!/bin/sh', '(', ...lines.map((l) => `  ${l}`), ') >/dev/console 2>&1 &', 'exit 0', ''].join('\n'));
    return file;
  }

  async function bootReady(name: string, args: string[]): Promise<string> {
    const created = await cli.json<Json>([...DEMO, 'server', 'create', '--flavor', 'm1.nano', '--network', 'int', ...args, '--wait', name], { timeoutMs: 300_000 });
    assert.equal(created.status, 'ACTIVE', JSON.stringify(created));
    ids[name] = created.id as string;
    return rest.waitConsole(ids[name] as string, `${name}'s ready line`, (text) => countReadyLines(text) >= 1, 180_000);
  }

  before(async () => {
    if (prerequisites.missing.length > 0) throw new Error(`CI is set and QEMU is present, but this suite also needs: ${prerequisites.missing.join('; ')}`);
    const image = await kumoTinyFile();
    qlab = await QemuLab.create();
    root = mkdtempSync(join(tmpdir(), 'kumo-e2e-volume-'));
    env = qlab.kumoEnv({ KUMO_CACHE_DIR: dirname(image), KUMO_VOLUME_BACKENDS: backend });
    kumo = await startKumo({ dataDir: join(root, 'data'), env, timeoutMs: 60_000 });
    cli = new OpenStackCli(join(root, 'home'), join(kumo.dataDir, 'clouds.yaml'));
    rest = new KumoRest(kumo.url, kumo.dataDir);
    await rest.waitImage('kumo-tiny');
    await cli.ok([...DEMO, 'network', 'create', 'int']);
    await cli.ok([...DEMO, 'subnet', 'create', '--network', 'int', '--subnet-range', '10.91.8.0/24', 'int-subnet']);
    await cli.ok([...DEMO, 'router', 'create', 'r1']);
    await cli.ok([...DEMO, 'router', 'add', 'subnet', 'r1', 'int-subnet']);
  });

  after(async () => {
    if (timings.attach !== undefined) console.log(`# volume e2e timings (ms, ${backend}): ${JSON.stringify(timings)}`);
    if (cli) await cli.killAll();
    if (kumo) await kumo.stop('SIGTERM', 30_000).catch(() => kumo.kill());
    if (qlab) await qlab.cleanup();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('hot-attaches a volume to a running guest (server add volume), whose user data writes a marker on /dev/vdb', STEP, async () => {
    const script = userData('vm1', [
      'n=0',
      'while [ ! -b /dev/vdb ] && [ $n -lt 600 ]; do n=$((n + 1)); sleep 1; done',
      '[ -b /dev/vdb ] || { echo "kumo-e2e no vdb"; exit 1; }',
      `echo ${marker} | dd of=/dev/vdb conv=fsync 2>/dev/null`,
      'sync',
      'echo "kumo-e2e vol-marker-written $(cat /sys/block/vdb/serial)"',
      'last=""',
      'i=0',
      'while [ -b /dev/vdb ]; do',
      '  s=$(cat /sys/block/vdb/size 2>/dev/null)',
      '  if [ -n "$s" ] && [ "$s" != "$last" ]; then echo "kumo-e2e vdb-size $s"; last=$s; fi',
      // A write that reaches the volume every few seconds: over NBD it must survive the server's restart.
      ...(backend === 'nbd'
        ? ['  i=$((i + 1))', '  if echo "kumo-io-$i" | dd of=/dev/vdb bs=512 seek=2048 conv=fsync 2>/dev/null; then echo "kumo-e2e vdb-io $i ok"; else [ -b /dev/vdb ] && echo "kumo-e2e vdb-io $i fail"; fi']
        : []),
      '  sleep 1',
      'done',
      'echo "kumo-e2e vdb-gone"',
    ]);
    await bootReady('vm1', ['--image', 'kumo-tiny', '--user-data', script]);
    const volume = await cli.json<Json>([...DEMO, 'volume', 'create', '--size', '1', 'data']);
    ids.data = volume.id as string;
    await waitVolume(ids.data, 'available');
    const started = Date.now();
    await cli.ok([...DEMO, 'server', 'add', 'volume', 'vm1', 'data']);
    timings.attach = Date.now() - started;
    const text = await rest.waitConsole(ids.vm1 as string, 'the marker written to vdb', (t) => /kumo-e2e vol-marker-written \S+\r?$/m.test(t), 120_000);
    timings.attachToGuestWrite = Date.now() - started;
    assert.match(text, new RegExp(`kumo-e2e vol-marker-written ${ids.data.slice(0, 20)}\\r?$`, 'm'), 'the guest sees the volume id as the serial');
    // Its watcher prints the size a moment after the marker: a 1 GiB disk (512-byte sectors).
    await rest.waitConsole(ids.vm1 as string, 'the size of vdb', (t) => /kumo-e2e vdb-size 2097152\r?$/m.test(t), 30_000);
    await waitVolume(ids.data, 'in-use');
    const listed = await cli.json<Array<Json>>([...DEMO, 'server', 'volume', 'list', 'vm1']);
    assert.deepEqual(listed.map((a) => a['Volume ID']), [ids.data], JSON.stringify(listed));
    assert.equal(listed[0]?.Device, '/dev/vdb');
    const shown = await cli.json<Json>([...DEMO, 'volume', 'show', 'data']);
    assert.equal(shown.status, 'in-use');
  });

  if (backend === 'file') it('grows the attached volume (volume set --size): the guest sees 2 GiB', STEP, async () => {
    const started = Date.now();
    await cli.ok([...DEMO, '--os-volume-api-version', '3.42', 'volume', 'set', '--size', '2', 'data']);
    await rest.waitConsole(ids.vm1 as string, 'the new size', (t) => /kumo-e2e vdb-size 4194304\r?$/m.test(t), 60_000);
    timings.extendSeenInGuest = Date.now() - started;
    await waitVolume(ids.data as string, 'in-use');
  });

  if (backend === 'nbd') it('refuses to grow the attached nbd volume, which keeps serving the guest across a restart of kumo up', STEP, async () => {
    const refused = await cli.run([...DEMO, '--os-volume-api-version', '3.42', 'volume', 'set', '--size', '2', 'data']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /cannot grow|detach/i, refused.stderr);
    const ioLines = (t: string) => [...t.matchAll(/kumo-e2e vdb-io (\d+) (ok|fail)\r?$/gm)].map((m) => ({ n: Number(m[1]), ok: m[2] === 'ok' }));
    const before = ioLines(await rest.waitConsole(ids.vm1 as string, 'writes to vdb', (t) => ioLines(t).length > 0, 60_000));
    const lastBefore = Math.max(...before.map((l) => l.n));
    const started = Date.now();
    await kumo.stop('SIGTERM', 30_000);
    kumo = await startKumo({ dataDir: kumo.dataDir, env, timeoutMs: 60_000 });
    rest = new KumoRest(kumo.url, kumo.dataDir);
    const after = await rest.waitConsole(ids.vm1 as string, 'a write after the restart', (t) => ioLines(t).some((l) => l.n > lastBefore + 2 && l.ok), 120_000);
    timings.nbdRestartToGuestWrite = Date.now() - started;
    assert.deepEqual(ioLines(after).filter((l) => !l.ok), [], 'no write failed while the storage daemon restarted');
    await waitVolume(ids.data as string, 'in-use');
  });

  it('detaches it (server remove volume): the guest lets go and the volume is available', STEP, async () => {
    const started = Date.now();
    await cli.ok([...DEMO, 'server', 'remove', 'volume', 'vm1', 'data']);
    await waitVolume(ids.data as string, 'available', 90_000);
    timings.detachUntilAvailable = Date.now() - started;
    await rest.waitConsole(ids.vm1 as string, 'vdb gone', (t) => /kumo-e2e vdb-gone\r?$/m.test(t), 30_000);
    assert.deepEqual(await cli.json<Array<Json>>([...DEMO, 'server', 'volume', 'list', 'vm1']), []);
  });

  it('gives the volume to a second guest, which reads the marker back', STEP, async () => {
    const script = userData('vm2', [
      'n=0',
      'while [ ! -b /dev/vdb ] && [ $n -lt 600 ]; do n=$((n + 1)); sleep 1; done',
      'echo "kumo-e2e read-back $(head -n 1 /dev/vdb)"',
    ]);
    await bootReady('vm2', ['--image', 'kumo-tiny', '--user-data', script]);
    await cli.ok([...DEMO, 'server', 'add', 'volume', 'vm2', 'data']);
    await rest.waitConsole(ids.vm2 as string, 'the marker read back', (t) => new RegExp(`kumo-e2e read-back ${marker}\\r?$`, 'm').test(t), 120_000);
    await cli.ok([...DEMO, 'server', 'remove', 'volume', 'vm2', 'data']);
    await waitVolume(ids.data as string, 'available', 90_000);
  });

  it('boots a third guest from a volume made from kumo-tiny (server create --volume), which prints its ready line', STEP, async () => {
    const volume = await cli.json<Json>([...DEMO, 'volume', 'create', '--image', 'kumo-tiny', '--size', '1', 'bootvol']);
    ids.bootvol = volume.id as string;
    await waitVolume(ids.bootvol, 'available', 180_000);
    const text = await bootReady('vm3', ['--volume', 'bootvol']);
    assert.equal(countReadyLines(text), 1);
    const server = await cli.json<Json>([...DEMO, 'server', 'show', 'vm3']);
    assert.match(JSON.stringify(server.volumes_attached), new RegExp(ids.bootvol));
    assert.equal((await volumeStatus(ids.bootvol)), 'in-use');
  });

  it('deletes the servers: their volumes are available again and no QEMU is left', STEP, async () => {
    const names = ['vm1', 'vm2', 'vm3'].filter((n) => ids[n]);
    await cli.ok([...DEMO, 'server', 'delete', '--wait', ...names], { timeoutMs: 300_000 });
    await waitVolume(ids.bootvol as string, 'available', 60_000);
    for (const name of names) assert.deepEqual(qemuProcessesMentioning(ids[name] as string), []);
    await cli.ok([...DEMO, 'volume', 'delete', 'data', 'bootvol']);
    await waitVolume(ids.data as string, 'deleted', 60_000);
  });
});
