// The Image service driven end to end by the real `openstack` CLI against a real `kumo up`
// process: upload, list, show, properties, download, sharing, protection and policy.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startKumo, type KumoProcess } from './helpers/kumo-process.js';
import { cliSkip, OpenStackCli } from './helpers/openstack-cli.js';

const ADMIN = ['--os-cloud', 'kumo-admin'];
const DEMO = ['--os-cloud', 'kumo-demo'];

const hash = (algorithm: 'md5' | 'sha256', data: Buffer): string => createHash(algorithm).update(data).digest('hex');

interface ListedImage {
  ID: string;
  Name: string;
  Status: string;
  Size?: number;
  Checksum?: string;
  Visibility?: string;
  'Disk Format'?: string;
  'Container Format'?: string;
  Protected?: boolean;
  Project?: string;
}

describe('image through the openstack CLI', { skip: cliSkip, timeout: 300_000 }, () => {
  let root: string;
  let kumo: KumoProcess;
  let cli: OpenStackCli;
  /** 3 MB and a bit of random data: several upload chunks, not a round size. */
  const data = randomBytes(3 * 1024 * 1024 + 12_345);
  let file: string;
  let image: Record<string, any>;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kumo-e2e-image-'));
    kumo = await startKumo({ dataDir: join(root, 'data') });
    cli = new OpenStackCli(join(root, 'home'), join(kumo.dataDir, 'clouds.yaml'));
    file = join(root, 'disk.qcow2');
    writeFileSync(file, data);
  });

  after(async () => {
    if (kumo) await kumo.stop('SIGTERM').catch(() => kumo.kill());
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const show = (id: string, cloud = ADMIN) => cli.json<Record<string, any>>([...cloud, 'image', 'show', id]);
  const list = (cloud: string[], ...args: string[]) => cli.json<ListedImage[]>([...cloud, 'image', 'list', ...args]);

  it('image create --file uploads the data; image show reports it active with its size and md5', async () => {
    const created = await cli.json<Record<string, any>>([
      ...ADMIN, 'image', 'create', '--file', file, '--disk-format', 'qcow2', '--container-format', 'bare', '--public', 'cli-image',
    ]);
    assert.equal(created.name, 'cli-image');
    assert.equal(created.visibility, 'public');
    image = await show(created.id as string);
    assert.equal(image.status, 'active');
    assert.equal(image.size, data.length);
    assert.equal(image.checksum, hash('md5', data));
    assert.equal(image.disk_format, 'qcow2');
    assert.equal(image.container_format, 'bare');
    assert.equal(image.visibility, 'public');
    assert.equal(image.protected, false);
    assert.ok(existsSync(join(kumo.dataDir, 'images', image.id as string)), 'the data is in DATA/images');
    assert.equal(existsSync(join(kumo.dataDir, 'images', `${image.id as string}.partial`)), false);
  });

  it('image list --long shows it with formats, size, checksum, status and visibility', async () => {
    const rows = await list(ADMIN, '--long');
    const row = rows.find((r) => r.ID === image.id);
    assert.ok(row, `cli-image in ${JSON.stringify(rows)}`);
    assert.equal(row.Name, 'cli-image');
    assert.equal(row.Status, 'active');
    assert.equal(row.Size, data.length);
    assert.equal(row.Checksum, hash('md5', data));
    assert.equal(row['Disk Format'], 'qcow2');
    assert.equal(row['Container Format'], 'bare');
    assert.equal(row.Visibility, 'public');
    assert.equal(row.Protected, false);
    assert.equal(row.Project, image.owner);
    assert.ok((await list(DEMO)).some((r) => r.ID === image.id), 'a public image is in demo\'s list too');
  });

  it('image set --property adds a property and image unset --property removes it', async () => {
    await cli.ok([...ADMIN, 'image', 'set', '--property', 'os_distro=debian', '--property', 'hw_rng_model=virtio', image.id as string]);
    let shown = await show(image.id as string);
    assert.equal(shown.properties?.os_distro, 'debian', JSON.stringify(shown.properties));
    assert.equal(shown.properties?.hw_rng_model, 'virtio');
    await cli.ok([...ADMIN, 'image', 'unset', '--property', 'os_distro', image.id as string]);
    shown = await show(image.id as string);
    assert.equal('os_distro' in (shown.properties ?? {}), false, JSON.stringify(shown.properties));
    assert.equal(shown.properties?.hw_rng_model, 'virtio', 'the other property stays');
    assert.equal(shown.status, 'active');
    assert.equal(shown.checksum, hash('md5', data));
  });

  it('image save --file writes the same bytes back', async () => {
    const out = join(root, 'saved.qcow2');
    await cli.ok([...ADMIN, 'image', 'save', '--file', out, image.id as string]);
    assert.equal(hash('sha256', readFileSync(out)), hash('sha256', data));
    rmSync(out);
  });

  it('image add project shares an image; the member accepts it and then lists it', async () => {
    const small = join(root, 'small.raw');
    writeFileSync(small, data.subarray(0, 100_000));
    const shared = await cli.json<Record<string, any>>([
      ...ADMIN, 'image', 'create', '--file', small, '--disk-format', 'raw', '--container-format', 'bare', '--shared', 'cli-shared',
    ]);
    const sharedId = shared.id as string;
    const demoProject = await cli.value([...DEMO, 'token', 'issue'], 'project_id');
    const member = await cli.json<Record<string, any>>([...ADMIN, 'image', 'add', 'project', sharedId, 'demo']);
    assert.equal(member.member_id, demoProject);
    assert.equal(member.status, 'pending');
    assert.equal((await list(DEMO)).some((r) => r.ID === sharedId), false, 'a pending share is not in demo\'s list');

    await cli.ok([...DEMO, 'image', 'set', '--accept', sharedId]);
    const rows = await list(DEMO);
    assert.ok(rows.some((r) => r.ID === sharedId && r.Name === 'cli-shared'), `cli-shared in demo's list: ${JSON.stringify(rows)}`);
    const members = await cli.json<Array<Record<string, string>>>([...ADMIN, 'image', 'member', 'list', sharedId]);
    assert.deepEqual(members.map((m) => [m['Member ID'], m.Status]), [[demoProject, 'accepted']]);
    const saved = join(root, 'shared-saved.raw');
    await cli.ok([...DEMO, 'image', 'save', '--file', saved, sharedId]);
    assert.equal(hash('sha256', readFileSync(saved)), hash('sha256', data.subarray(0, 100_000)));
  });

  it('image delete fails on a protected image and works once it is unprotected', async () => {
    const id = image.id as string;
    await cli.ok([...ADMIN, 'image', 'set', '--protected', id]);
    assert.equal((await show(id)).protected, true);
    const refused = await cli.fails([...ADMIN, 'image', 'delete', id]);
    assert.match(refused.stderr, /403/, refused.stderr);
    assert.match(refused.stderr, /protected/, refused.stderr);
    assert.equal((await show(id)).status, 'active', 'the image is still there');
    assert.ok(existsSync(join(kumo.dataDir, 'images', id)), 'and so is its data');

    await cli.ok([...ADMIN, 'image', 'set', '--unprotected', id]);
    await cli.ok([...ADMIN, 'image', 'delete', id]);
    await cli.fails([...ADMIN, 'image', 'show', id]);
    assert.equal((await list(ADMIN)).some((r) => r.ID === id), false);
    assert.equal(existsSync(join(kumo.dataDir, 'images', id)), false, 'the data is gone with the image');
  });

  it('demo cannot make an image public (403) and nothing is created', async () => {
    const refused = await cli.fails([
      ...DEMO, 'image', 'create', '--file', file, '--disk-format', 'qcow2', '--container-format', 'bare', '--public', 'demo-public',
    ]);
    assert.match(refused.stderr, /403/, refused.stderr);
    assert.match(refused.stderr, /publicize_image/, refused.stderr);
    assert.deepEqual(await list(ADMIN, '--name', 'demo-public'), []);
    // What demo may do: a private image of its own.
    const own = await cli.json<Record<string, any>>([
      ...DEMO, 'image', 'create', '--file', file, '--disk-format', 'qcow2', '--container-format', 'bare', '--private', 'demo-private',
    ]);
    assert.equal((await show(own.id as string, DEMO)).status, 'active');
    const refusedSet = await cli.fails([...DEMO, 'image', 'set', '--public', own.id as string]);
    assert.match(refusedSet.stderr, /403/, refusedSet.stderr);
    assert.equal((await show(own.id as string, DEMO)).visibility, 'private');
  });

  it('image create --import goes through glance-direct (stage, then import)', async () => {
    const created = await cli.json<Record<string, any>>([
      ...DEMO, 'image', 'create', '--file', file, '--disk-format', 'raw', '--container-format', 'bare', '--import', 'cli-imported',
    ]);
    const id = created.id as string;
    let shown: Record<string, any> = {};
    for (let i = 0; i < 50; i++) {
      shown = await show(id, DEMO);
      if (shown.status === 'active') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(shown.status, 'active');
    assert.equal(shown.checksum, hash('md5', data));
    assert.equal(shown.size, data.length);
    assert.equal(existsSync(join(kumo.dataDir, 'image-staging', id)), false, 'nothing stays staged');
  });
});
