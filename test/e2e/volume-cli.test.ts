// Block storage driven end to end by the real `openstack` CLI against a real `kumo up`
// process, once per volume backend (KUMO_VOLUME_BACKENDS=file, then nbd): volumes, from images
// and snapshots, extend, types and quotas, attach and detach and boot from volume on the fake
// compute driver (the qemu suite has real guests), and the refusals a user sees for bad input.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startKumo, type KumoProcess } from './helpers/kumo-process.js';
import { cliSkip, OpenStackCli } from './helpers/openstack-cli.js';
import { kumoTinyFile } from './helpers/qemu-guests.js';

const DEMO = ['--os-cloud', 'kumo-demo'];
const ADMIN = ['--os-cloud', 'kumo-admin'];

for (const backend of ['file', 'nbd'] as const) describe(`volumes through the openstack CLI (${backend} backend)`, { skip: cliSkip, timeout: 600_000 }, () => {
  let root: string;
  let kumo: KumoProcess;
  let cli: OpenStackCli;

  before(async () => {
    await kumoTinyFile();
    root = mkdtempSync(join(tmpdir(), 'kumo-e2e-volume-'));
    kumo = await startKumo({ dataDir: join(root, 'data'), env: { KUMO_GUEST_IMAGE: 'import', KUMO_VOLUME_BACKENDS: backend } });
    cli = new OpenStackCli(join(root, 'home'), join(kumo.dataDir, 'clouds.yaml'));
  });

  after(async () => {
    await cli?.killAll();
    if (kumo) await kumo.stop('SIGTERM').catch(() => kumo.kill());
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const show = (id: string) => cli.json<Record<string, any>>([...DEMO, 'volume', 'show', id]);
  const waitStatus = async (id: string, wanted: string[], timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: Record<string, any> = {};
    while (Date.now() < deadline) {
      last = await show(id);
      if (wanted.includes(last.status as string)) return last;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    throw new Error(`volume ${id} stayed ${last.status}`);
  };
  const file = (id: string) => join(kumo.dataDir, 'volumes', backend, `volume-${id}.qcow2`);
  const waitImage = async () => {
    // kumo up imports kumo-tiny in the background on a first start.
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const r = await cli.run([...DEMO, 'image', 'show', '-f', 'json', 'kumo-tiny']);
      if (r.code === 0 && (JSON.parse(r.stdout) as { status: string }).status === 'active') return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error('kumo-tiny did not become active');
  };

  it('volume create / list / show / set / set --size / delete', async () => {
    const created = await cli.json<Record<string, any>>([...DEMO, 'volume', 'create', '--size', '1', '--property', 'team=blue', 'cli-vol']);
    assert.equal(created.name, 'cli-vol');
    const ready = await waitStatus(created.id as string, ['available', 'error']);
    assert.equal(ready.status, 'available');
    assert.equal(ready.size, 1);
    assert.ok(existsSync(file(created.id as string)));
    const rows = await cli.json<Array<Record<string, any>>>([...DEMO, 'volume', 'list']);
    assert.ok(rows.some((r) => r.ID === created.id && r.Status === 'available' && r.Size === 1), JSON.stringify(rows));
    await cli.ok([...DEMO, 'volume', 'set', '--name', 'cli-vol-2', '--description', 'renamed', '--property', 'tier=gold', created.id as string]);
    const renamed = await show(created.id as string);
    assert.equal(renamed.name, 'cli-vol-2');
    assert.equal(renamed.description, 'renamed');
    assert.match(JSON.stringify(renamed.properties), /tier/);
    await cli.ok([...DEMO, 'volume', 'set', '--size', '2', created.id as string]);
    const grown = await waitStatus(created.id as string, ['available'], 30_000);
    assert.equal(grown.size, 2);
    // Shrinking is refused by the CLI's own check or by Cinder's 400; either way nothing changes.
    const shrink = await cli.run([...DEMO, 'volume', 'set', '--size', '1', created.id as string]);
    assert.notEqual(shrink.code, 0);
    assert.equal((await show(created.id as string)).size, 2);
    await cli.ok([...DEMO, 'volume', 'delete', created.id as string]);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && (await cli.run([...DEMO, 'volume', 'show', created.id as string])).code === 0) await new Promise((r) => setTimeout(r, 300));
    assert.notEqual((await cli.run([...DEMO, 'volume', 'show', created.id as string])).code, 0);
    assert.equal(existsSync(file(created.id as string)), false);
  });

  it('volume create --image kumo-tiny, volume snapshot create and volume create --snapshot', async () => {
    await waitImage();
    const fromImage = await cli.json<Record<string, any>>([...DEMO, 'volume', 'create', '--image', 'kumo-tiny', '--size', '1', 'boot-vol']);
    const ready = await waitStatus(fromImage.id as string, ['available', 'error'], 120_000);
    assert.equal(ready.status, 'available');
    assert.equal(ready.bootable, 'true');
    assert.match(JSON.stringify(ready.volume_image_metadata), /kumo-tiny|image_id/);

    const snap = await cli.json<Record<string, any>>([...DEMO, 'volume', 'snapshot', 'create', '--volume', fromImage.id as string, 'boot-snap']);
    const snapDeadline = Date.now() + 60_000;
    let snapStatus = '';
    while (Date.now() < snapDeadline) {
      snapStatus = (await cli.json<Record<string, any>>([...DEMO, 'volume', 'snapshot', 'show', snap.id as string])).status as string;
      if (snapStatus === 'available' || snapStatus === 'error') break;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    assert.equal(snapStatus, 'available');
    const fromSnap = await cli.json<Record<string, any>>([...DEMO, 'volume', 'create', '--snapshot', snap.id as string, '--size', '2', 'from-snap']);
    const restored = await waitStatus(fromSnap.id as string, ['available', 'error'], 60_000);
    assert.equal(restored.status, 'available');
    assert.equal(restored.size, 2);
    assert.equal(restored.snapshot_id, snap.id);
  });

  it('volume type create / set and quota show', async () => {
    const type = await cli.json<Record<string, any>>([...ADMIN, 'volume', 'type', 'create', '--property', `volume_backend_name=${backend}`, 'gold']);
    assert.equal(type.name, 'gold');
    await cli.ok([...ADMIN, 'volume', 'type', 'set', '--property', 'tier=1', '--description', 'the good one', 'gold']);
    const shown = await cli.json<Record<string, any>>([...ADMIN, 'volume', 'type', 'show', 'gold']);
    assert.match(JSON.stringify(shown.properties), /tier/);
    assert.equal(shown.description, 'the good one');
    const typed = await cli.json<Record<string, any>>([...DEMO, 'volume', 'create', '--size', '1', '--type', 'gold', 'typed']);
    assert.equal((await waitStatus(typed.id as string, ['available', 'error'])).type, 'gold');
    const host = await cli.json<Record<string, any>>([...ADMIN, 'volume', 'show', typed.id as string]);
    assert.match(String(host['os-vol-host-attr:host']), new RegExp(`@${backend}#`));
    const quota = await cli.json<Record<string, any>>([...DEMO, 'quota', 'show']);
    const text = JSON.stringify(quota);
    assert.match(text, /gigabytes/);
    assert.match(text, /snapshots/);
  });

  it('server add volume / server volume list / server remove volume, and server create --volume (fake compute driver)', async () => {
    await waitImage();
    const server = await cli.json<Record<string, any>>([...DEMO, '--os-compute-api-version', '2.37', 'server', 'create', '--flavor', 'm1.nano', '--image', 'kumo-tiny', '--nic', 'none', '--wait', 'vol-host']);
    assert.equal(server.status, 'ACTIVE');
    const volume = await cli.json<Record<string, any>>([...DEMO, 'volume', 'create', '--size', '1', 'attach-me']);
    await waitStatus(volume.id as string, ['available']);
    await cli.ok([...DEMO, 'server', 'add', 'volume', 'vol-host', 'attach-me']);
    await waitStatus(volume.id as string, ['in-use']);
    const listed = await cli.json<Array<Record<string, any>>>([...DEMO, 'server', 'volume', 'list', 'vol-host']);
    assert.deepEqual(listed.map((a) => a['Volume ID']), [volume.id]);
    const grow = await cli.run([...DEMO, '--os-volume-api-version', '3.42', 'volume', 'set', '--size', '2', 'attach-me']);
    if (backend === 'nbd') {
      // QEMU cannot grow an NBD node: Cinder's 400, and the volume stays as it was.
      assert.notEqual(grow.code, 0);
      assert.match(grow.stderr, /cannot grow|detach/i, grow.stderr);
      assert.equal((await show(volume.id as string)).size, 1);
    } else {
      assert.equal(grow.code, 0, grow.stderr);
      assert.equal((await waitStatus(volume.id as string, ['in-use'], 30_000)).size, 2);
    }
    await cli.ok([...DEMO, 'server', 'remove', 'volume', 'vol-host', 'attach-me']);
    await waitStatus(volume.id as string, ['available']);
    assert.deepEqual(await cli.json<Array<unknown>>([...DEMO, 'server', 'volume', 'list', 'vol-host']), []);

    const bootVolume = await cli.json<Record<string, any>>([...DEMO, 'volume', 'create', '--image', 'kumo-tiny', '--size', '1', 'boot-me']);
    await waitStatus(bootVolume.id as string, ['available'], 120_000);
    const booted = await cli.json<Record<string, any>>([...DEMO, '--os-compute-api-version', '2.37', 'server', 'create', '--flavor', 'm1.nano', '--volume', 'boot-me', '--nic', 'none', '--wait', 'from-volume']);
    assert.equal(booted.status, 'ACTIVE');
    assert.match(JSON.stringify(booted.volumes_attached), new RegExp(bootVolume.id as string));
    assert.equal((await show(bootVolume.id as string)).status, 'in-use');
    await cli.ok([...DEMO, 'server', 'delete', '--wait', 'from-volume', 'vol-host']);
    await waitStatus(bootVolume.id as string, ['available']);
  });

  it('refuses bad input with Cinder 4xx messages the CLI prints', async () => {
    for (const size of ['0', '-1', '99999999999']) {
      const r = await cli.run([...DEMO, 'volume', 'create', '--size', size, 'bad']);
      assert.notEqual(r.code, 0, `size ${size}`);
      assert.match(r.stderr, /HTTP 400|Invalid|must be|greater/i, r.stderr);
    }
    const type = await cli.run([...DEMO, 'volume', 'create', '--size', '1', '--type', 'no-such-type', 'bad']);
    assert.notEqual(type.code, 0);
    assert.match(type.stderr, /no-such-type|not be found|404/i);
    const snap = await cli.run([...DEMO, 'volume', 'create', '--snapshot', '00000000-0000-0000-0000-000000000000', 'bad']);
    assert.notEqual(snap.code, 0);
    const quota = await cli.run([...DEMO, 'volume', 'create', '--size', '5000', 'too-big']);
    assert.notEqual(quota.code, 0);
    assert.match(quota.stderr, /quota|413|exceed/i, quota.stderr);
  });
});
