// Object storage driven end to end by the real clients against a real `kumo up` process:
// Debian's `swift` CLI (python3-swiftclient) and `openstack container/object`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanEnv, startKumo, type KumoProcess } from './helpers/kumo-process.js';
import { cliSkip, OpenStackCli } from './helpers/openstack-cli.js';

const SWIFT = '/usr/bin/swift';
const skip = cliSkip || (existsSync(SWIFT) ? false : `${SWIFT} is not installed (apt-get install python3-swiftclient)`);
const DEMO = ['--os-cloud', 'kumo-demo'];

const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

describe('object storage through the swift and openstack CLIs', { skip, timeout: 600_000 }, () => {
  let root: string;
  let kumo: KumoProcess;
  let cli: OpenStackCli;
  let env: NodeJS.ProcessEnv;
  let account: string;
  /** 50 MB of random data: ten 5 MB segments. */
  const data = randomBytes(50 * 1024 * 1024);
  let file: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kumo-e2e-object-'));
    kumo = await startKumo({ dataDir: join(root, 'data') });
    cli = new OpenStackCli(join(root, 'home'), join(kumo.dataDir, 'clouds.yaml'));
    file = join(root, 'big.bin');
    writeFileSync(file, data);
    // The demo openrc, as a user would source it (the password is in it).
    const openrc = readFileSync(join(kumo.dataDir, 'demo-openrc.sh'), 'utf8');
    env = cleanEnv({ HOME: join(root, 'home'), no_proxy: '*', NO_PROXY: '*' });
    for (const m of openrc.matchAll(/^export (OS_\w+)=(.*)$/gm)) env[m[1] as string] = (m[2] as string).replace(/^['"]|['"]$/g, '');
    const stat = await swift('stat');
    account = /Account: (AUTH_\w+)/.exec(stat)?.[1] as string;
    assert.ok(account, stat);
  });

  after(async () => {
    await cli?.killAll();
    if (kumo) await kumo.stop('SIGTERM').catch(() => kumo.kill());
    if (root) rmSync(root, { recursive: true, force: true });
  });

  function swift(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(SWIFT, args, { env, cwd: root, timeout: 300_000, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
        if (error) reject(new Error(`swift ${args.join(' ')}: ${error.message}\n${stdout}\n${stderr}`));
        else resolve(stdout);
      });
    });
  }

  it('swift stat shows the account', async () => {
    const out = await swift('stat');
    assert.match(out, /Containers: \d+/);
    assert.match(out, /Bytes: \d+/);
  });

  for (const slo of [false, true]) {
    it(`swift upload --segment-size 5M${slo ? ' --use-slo' : ''} of 50 MB downloads identical`, async () => {
      const container = slo ? 'slo' : 'dlo';
      await swift('upload', '--segment-size', '5M', ...(slo ? ['--use-slo'] : []), '--object-name', 'big.bin', container, file);
      const segments = (await swift('list', `${container}_segments`)).split('\n').filter(Boolean);
      assert.equal(segments.length, 10);
      const stat = await swift('stat', container, 'big.bin');
      assert.match(stat, /Content Length: 52428800/);
      assert.match(stat, slo ? /X-Static-Large-Object: True/i : /Manifest: dlo_segments\//);
      const out = join(root, `${container}.out`);
      await swift('download', container, 'big.bin', '-o', out);
      assert.equal(md5(readFileSync(out)), md5(data));
    });
  }

  it("swift post -r '.r:*' lets an anonymous GET read the object (a large one once its segments are public too)", async () => {
    const small = join(root, 'public.txt');
    writeFileSync(small, 'for everyone\n');
    await swift('upload', '--object-name', 'public.txt', 'slo', small);
    const plain = `${kumo.url}/object-store/v1/${account}/slo/public.txt`;
    const large = `${kumo.url}/object-store/v1/${account}/slo/big.bin`;
    assert.equal((await fetch(plain)).status, 401);
    await swift('post', '-r', '.r:*', 'slo');
    const res = await fetch(plain);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'for everyone\n');
    // As in Swift, a manifest's segments are read as the caller: their container must be readable too.
    assert.equal((await fetch(large)).status, 401);
    await swift('post', '-r', '.r:*', 'slo_segments');
    const big = await fetch(large);
    assert.equal(big.status, 200);
    assert.equal(md5(Buffer.from(await big.arrayBuffer())), md5(data));
    await swift('post', '-r', '', 'slo');
    assert.equal((await fetch(plain)).status, 401);
  });

  it('swift tempurl signs a URL that works, and only with its signature', async () => {
    await swift('post', '-m', 'Temp-URL-Key:kumo-secret');
    const path = `/v1/${account}/dlo/big.bin`;
    const signed = (await swift('tempurl', 'GET', '600', path, 'kumo-secret')).trim();
    assert.match(signed, /temp_url_sig=/);
    const good = await fetch(`${kumo.url}/object-store${signed}`);
    assert.equal(good.status, 200);
    assert.equal(md5(Buffer.from(await good.arrayBuffer())), md5(data));
    assert.equal((await fetch(`${kumo.url}/object-store${path}`)).status, 401);
    const tampered = signed.replace(/temp_url_sig=([0-9a-f])/, (_m, c: string) => `temp_url_sig=${c === '0' ? '1' : '0'}`);
    assert.equal((await fetch(`${kumo.url}/object-store${tampered}`)).status, 401);
    const sha512 = (await swift('tempurl', '--digest', 'sha512', 'GET', '600', `${kumo.url}/object-store${path}`, 'kumo-secret')).trim();
    assert.equal((await fetch(sha512, { method: 'HEAD' })).status, 200);
  });

  it('openstack container and object commands: create, list, show, save, delete', async () => {
    await cli.ok([...DEMO, 'container', 'create', 'cli']);
    const containers = await cli.json<Array<{ Name: string }>>([...DEMO, 'container', 'list']);
    assert.ok(containers.some((c) => c.Name === 'cli'));
    const small = join(root, 'small.txt');
    writeFileSync(small, 'hello from the openstack CLI\n');
    const created = await cli.json<Array<Record<string, string>>>([...DEMO, 'object', 'create', 'cli', small, '--name', 'small.txt']);
    assert.equal(created[0]?.etag, md5(readFileSync(small)));
    const objects = await cli.json<Array<{ Name: string }>>([...DEMO, 'object', 'list', 'cli']);
    assert.deepEqual(objects.map((o) => o.Name), ['small.txt']);
    const shown = await cli.json<Record<string, string>>([...DEMO, 'object', 'show', 'cli', 'small.txt']);
    assert.equal(shown['content-length'], String(readFileSync(small).length));
    assert.equal(shown['content-type'], 'text/plain');
    const container = await cli.json<Record<string, string | number>>([...DEMO, 'container', 'show', 'cli']);
    assert.equal(String(container.object_count), '1');
    const saved = join(root, 'saved.txt');
    await cli.ok([...DEMO, 'object', 'save', '--file', saved, 'cli', 'small.txt']);
    assert.equal(readFileSync(saved, 'utf8'), 'hello from the openstack CLI\n');
    await cli.ok([...DEMO, 'object', 'delete', 'cli', 'small.txt']);
    await cli.ok([...DEMO, 'container', 'delete', 'cli']);
    const after = await cli.json<Array<{ Name: string }>>([...DEMO, 'container', 'list']);
    assert.ok(!after.some((c) => c.Name === 'cli'));
  });

  it('swift delete removes manifests with their segments, and leaves no file behind', async () => {
    await swift('delete', 'slo');
    await swift('delete', 'dlo');
    await swift('delete', 'slo_segments');
    await swift('delete', 'dlo_segments');
    const list = (await swift('list')).split('\n').filter(Boolean);
    assert.deepEqual(list, []);
    const dataDir = join(kumo.dataDir, 'objects', 'data');
    assert.deepEqual(readdirSync(dataDir).flatMap((d) => readdirSync(join(dataDir, d))), []);
  });
});
