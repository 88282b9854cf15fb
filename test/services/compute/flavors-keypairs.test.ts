// Nova's flavors (with extra specs and access lists) and key pairs over raw HTTP against the
// whole cloud in this process, on SQLite and, when KUMO_TEST_DATABASE_URL is set, PostgreSQL:
// the shapes at 2.1 and the later microversions, then every refusal with Nova's error body.
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, type TestCloud } from '../../helpers/cloud.js';
import { projectId } from '../image/helpers.js';
import { ensureDefaultFlavors, findFlavorForBoot, renderFlavorForServer } from '../../../src/services/compute/flavors.js';
import { getKeypair } from '../../../src/services/compute/keypairs.js';
import { cloudOn, ENGINES, nova, ok, refused, type Body, memberCaller } from './resource-helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function wire(...parts: Buffer[]): Buffer {
  return Buffer.concat(parts.flatMap((p) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(p.length);
    return [length, p];
  }));
}

function ed25519Key(): { line: string; blob: Buffer } {
  const jwk = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
  const blob = wire(Buffer.from('ssh-ed25519'), Buffer.from(jwk.x as string, 'base64url'));
  return { line: `ssh-ed25519 ${blob.toString('base64')} me@host`, blob };
}

function ecdsaKey(): { line: string; blob: Buffer } {
  const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x as string, 'base64url'), Buffer.from(jwk.y as string, 'base64url')]);
  const blob = wire(Buffer.from('ecdsa-sha2-nistp256'), Buffer.from('nistp256'), point);
  return { line: `ecdsa-sha2-nistp256 ${blob.toString('base64')}`, blob };
}

const md5Colons = (blob: Buffer) => createHash('md5').update(blob).digest('hex').match(/../g)?.join(':');

for (const engine of ENGINES) {
  describe(`compute flavors and key pairs on ${engine.name}`, { skip: engine.skip, timeout: 180_000 }, () => {
    let tc: TestCloud;
    let stop: () => Promise<void>;
    let admin: string;
    let demo: string;
    let demoProject: string;
    let demoUser: string;
    let adminUser: string;

    before(async () => {
      ({ tc, stop } = await cloudOn(engine.name));
      admin = await tc.token('admin');
      demo = await tc.token('demo');
      demoProject = await projectId(tc.url, admin, 'demo');
      const users = await api(tc.url, 'GET', '/identity/v3/users', admin);
      const idOf = (name: string) => (users.json.users as Body[]).find((u) => u.name === name)?.id as string;
      demoUser = idOf('demo');
      adminUser = idOf('admin');
    });
    after(async () => stop?.());

    const demoCaller = () => memberCaller(demoProject, demoUser);

    describe('flavors', () => {
      it('seeds DevStack flavors, listed in Nova order with the 2.1 detail shape', async () => {
        const list = await ok(tc, 'GET', '/flavors', demo, undefined, 200);
        assert.deepEqual(list.flavors.map((f: Body) => f.id), ['1', '2', '3', '4', '42', '5', '84']);
        assert.deepEqual(Object.keys(list.flavors[0]).sort(), ['id', 'links', 'name']);
        const detail = await ok(tc, 'GET', '/flavors/detail', demo, undefined, 200);
        const tiny = detail.flavors.find((f: Body) => f.id === '1');
        assert.deepEqual(
          { ...tiny, links: undefined },
          {
            id: '1', name: 'm1.tiny', ram: 512, disk: 1, vcpus: 1, swap: '', 'OS-FLV-EXT-DATA:ephemeral': 0,
            'OS-FLV-DISABLED:disabled': false, rxtx_factor: 1, 'os-flavor-access:is_public': true, links: undefined,
          },
        );
        assert.deepEqual(tiny.links.map((l: Body) => l.rel), ['self', 'bookmark']);
        assert.equal(tiny.links[0].href, `${tc.url}/compute/v2.1/flavors/1`);
        assert.equal(tiny.links[1].href, `${tc.url}/compute/flavors/1`);
        const nano = (await ok(tc, 'GET', '/flavors/42', demo, undefined, 200)).flavor;
        assert.equal(nano.name, 'm1.nano');
        assert.equal(nano.ram, 128);
        const micro = (await ok(tc, 'GET', '/flavors/84', demo, undefined, 200)).flavor;
        assert.deepEqual([micro.ram, micro.disk, micro.vcpus], [192, 1, 1]);
      });

      it('seeding again, even several at once, changes nothing', async () => {
        await Promise.all([ensureDefaultFlavors(tc.cloud.compute), ensureDefaultFlavors(tc.cloud.compute), ensureDefaultFlavors(tc.cloud.compute)]);
        const list = await ok(tc, 'GET', '/flavors?is_public=none', admin, undefined, 200);
        assert.equal(list.flavors.filter((f: Body) => /^m1\./.test(f.name)).length, 7);
      });

      it('filters by minRam and minDisk, sorts, and pages with flavors_links', async () => {
        const big = await ok(tc, 'GET', '/flavors/detail?minRam=4096&minDisk=80', demo, undefined, 200);
        assert.deepEqual(big.flavors.map((f: Body) => f.id), ['4', '5']);
        const sorted = await ok(tc, 'GET', '/flavors?sort_key=memory_mb&sort_dir=desc', demo, undefined, 200);
        assert.deepEqual(sorted.flavors.map((f: Body) => f.id).slice(0, 3), ['5', '4', '3']);
        const first = await ok(tc, 'GET', '/flavors?limit=2', demo, undefined, 200);
        assert.deepEqual(first.flavors.map((f: Body) => f.id), ['1', '2']);
        const next = first.flavors_links[0];
        assert.equal(next.rel, 'next');
        const nextUrl = new URL(next.href);
        assert.equal(nextUrl.searchParams.get('marker'), '2');
        const second = await ok(tc, 'GET', `/flavors${nextUrl.search}`, demo, undefined, 200);
        assert.deepEqual(second.flavors.map((f: Body) => f.id), ['3', '4']);
        const last = await ok(tc, 'GET', '/flavors?marker=5', demo, undefined, 200);
        assert.deepEqual(last.flavors.map((f: Body) => f.id), ['84']);
        assert.equal(last.flavors_links, undefined);
      });

      it('refuses bad list parameters with 400', async () => {
        assert.match(await refused(tc, 'GET', '/flavors?minRam=abc', demo, undefined, 400), /Invalid minRam filter \[abc\]/);
        await refused(tc, 'GET', '/flavors?minDisk=-1', demo, undefined, 400);
        await refused(tc, 'GET', '/flavors?sort_key=bogus', demo, undefined, 400);
        await refused(tc, 'GET', '/flavors?sort_dir=up', demo, undefined, 400);
        await refused(tc, 'GET', '/flavors?limit=-1', demo, undefined, 400);
        assert.match(await refused(tc, 'GET', '/flavors?marker=nope', demo, undefined, 400), /marker \[nope\] not found/);
        assert.match(await refused(tc, 'GET', '/flavors?is_public=maybe', admin, undefined, 400), /Invalid is_public filter/);
      });

      it('answers an unknown flavor with itemNotFound', async () => {
        assert.equal(await refused(tc, 'GET', '/flavors/nope', demo, undefined, 404), 'Flavor nope could not be found.');
      });

      it('lets an admin create flavors, with a generated or a chosen id', async () => {
        const made = (await ok(tc, 'POST', '/flavors', admin, { flavor: { name: 'auto', ram: 256, vcpus: 1, disk: 2 } }, 200)).flavor;
        assert.match(made.id, UUID);
        assert.equal(made.swap, '');
        assert.equal(made.rxtx_factor, 1);
        assert.equal(made['os-flavor-access:is_public'], true);
        const chosen = (
          await ok(tc, 'POST', '/flavors', admin, {
            flavor: { name: 'chosen', id: 'my-flavor.1', ram: '1024', vcpus: '2', disk: 0, swap: 512, 'OS-FLV-EXT-DATA:ephemeral': 5, rxtx_factor: 2.5 },
          }, 200)
        ).flavor;
        assert.equal(chosen.id, 'my-flavor.1');
        assert.deepEqual([chosen.ram, chosen.vcpus, chosen.swap, chosen['OS-FLV-EXT-DATA:ephemeral'], chosen.rxtx_factor], [1024, 2, 512, 5, 2.5]);
        assert.equal((await ok(tc, 'GET', '/flavors/my-flavor.1', demo, undefined, 200)).flavor.name, 'chosen');
        const nullId = (await ok(tc, 'POST', '/flavors', admin, { flavor: { name: 'null-id', id: null, ram: 64, vcpus: 1, disk: 0 } }, 200)).flavor;
        assert.match(nullId.id, UUID);
      });

      it('refuses duplicate names and ids with 409', async () => {
        assert.equal(
          await refused(tc, 'POST', '/flavors', admin, { flavor: { name: 'm1.tiny', ram: 1, vcpus: 1, disk: 0 } }, 409),
          'Flavor with name m1.tiny already exists.',
        );
        assert.equal(
          await refused(tc, 'POST', '/flavors', admin, { flavor: { name: 'other', id: '1', ram: 1, vcpus: 1, disk: 0 } }, 409),
          'Flavor with ID 1 already exists.',
        );
      });

      it('refuses bad flavor bodies with 400', async () => {
        const base = { name: 'bad', ram: 1, vcpus: 1, disk: 0 };
        const cases: unknown[] = [
          { flavor: { ...base, ram: 0 } },
          { flavor: { ...base, vcpus: 0 } },
          { flavor: { ...base, vcpus: 'x' } },
          { flavor: { ...base, vcpus: 1.5 } },
          { flavor: { ...base, disk: -1 } },
          { flavor: { ...base, swap: -1 } },
          { flavor: { ...base, 'OS-FLV-EXT-DATA:ephemeral': -1 } },
          { flavor: { ...base, rxtx_factor: 0 } },
          { flavor: { ...base, rxtx_factor: 'fast' } },
          { flavor: { ...base, name: '' } },
          { flavor: { ...base, name: 'x'.repeat(256) } },
          { flavor: { ...base, name: ' padded ' } },
          { flavor: { ...base, name: 7 } },
          { flavor: { ...base, id: 'bad/id' } },
          { flavor: { ...base, 'os-flavor-access:is_public': 'perhaps' } },
          { flavor: { ...base, ram: 2147483648 } },
          { flavor: { ...base, colour: 'red' } },
          { flavor: { name: 'bad', vcpus: 1, disk: 0 } },
          { flavor: 'm1.huge' },
          { flavor: null },
          {},
          [],
          'not json',
          '{"flavor": ',
        ];
        for (const body of cases) {
          const message = await refused(tc, 'POST', '/flavors', admin, body, 400);
          assert.ok(message.length > 0, JSON.stringify(body));
        }
        assert.match(await refused(tc, 'POST', '/flavors', admin, { flavor: { ...base, ram: 0 } }, 400), /Invalid input for field\/attribute ram/);
      });

      it('keeps flavor management to admins (403)', async () => {
        const message = await refused(tc, 'POST', '/flavors', demo, { flavor: { name: 'mine', ram: 1, vcpus: 1, disk: 0 } }, 403);
        assert.equal(message, "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed.");
        await refused(tc, 'DELETE', '/flavors/1', demo, undefined, 403);
        await refused(tc, 'POST', '/flavors/1/os-extra_specs', demo, { extra_specs: { a: 'b' } }, 403);
        await refused(tc, 'POST', '/flavors/1/action', demo, { addTenantAccess: { tenant: demoProject } }, 403);
      });

      it('deletes flavors with 202, then answers 404', async () => {
        const made = (await ok(tc, 'POST', '/flavors', admin, { flavor: { name: 'doomed', ram: 1, vcpus: 1, disk: 0 } }, 200)).flavor;
        await ok(tc, 'POST', `/flavors/${made.id}/os-extra_specs`, admin, { extra_specs: { k: 'v' } }, 200);
        const res = await nova(tc, 'DELETE', `/flavors/${made.id}`, admin);
        assert.equal(res.status, 202);
        await refused(tc, 'GET', `/flavors/${made.id}`, admin, undefined, 404);
        await refused(tc, 'DELETE', `/flavors/${made.id}`, admin, undefined, 404);
        // The name is free again.
        await ok(tc, 'POST', '/flavors', admin, { flavor: { name: 'doomed', ram: 1, vcpus: 1, disk: 0 } }, 200);
      });

      it('manages extra specs', async () => {
        const made = (await ok(tc, 'POST', '/flavors', admin, { flavor: { name: 'specced', ram: 1, vcpus: 1, disk: 0 } }, 200)).flavor;
        const path = `/flavors/${made.id}/os-extra_specs`;
        assert.deepEqual(await ok(tc, 'GET', path, demo, undefined, 200), { extra_specs: {} });
        assert.deepEqual(
          await ok(tc, 'POST', path, admin, { extra_specs: { 'hw:cpu_policy': 'dedicated', 'quota:disk_read_bytes_sec': 1000, flag: true } }, 200),
          { extra_specs: { 'hw:cpu_policy': 'dedicated', 'quota:disk_read_bytes_sec': '1000', flag: 'True' } },
        );
        assert.deepEqual(await ok(tc, 'GET', `${path}/hw:cpu_policy`, demo, undefined, 200), { 'hw:cpu_policy': 'dedicated' });
        assert.deepEqual(await ok(tc, 'PUT', `${path}/hw:cpu_policy`, admin, { 'hw:cpu_policy': 'shared' }, 200), { 'hw:cpu_policy': 'shared' });
        assert.equal(await refused(tc, 'PUT', `${path}/hw:cpu_policy`, admin, { other: 'x' }, 400), 'Request body and URI mismatch');
        assert.equal(await refused(tc, 'PUT', `${path}/a`, admin, { a: '1', b: '2' }, 400), 'Request body contains too many items');
        await refused(tc, 'PUT', `${path}/a`, admin, { a: { nested: 1 } }, 400);
        await refused(tc, 'PUT', `${path}/a`, admin, { a: 'x'.repeat(256) }, 400);
        await refused(tc, 'POST', path, admin, { extra_specs: { 'bad/key': 'x' } }, 400);
        await refused(tc, 'POST', path, admin, { extra_specs: 'x' }, 400);
        await refused(tc, 'POST', path, admin, { specs: {} }, 400);
        const detail = await ok(tc, 'GET', path, admin, undefined, 200);
        assert.equal(detail.extra_specs['hw:cpu_policy'], 'shared');
        const del = await nova(tc, 'DELETE', `${path}/flag`, admin);
        assert.equal(del.status, 200);
        assert.equal(
          await refused(tc, 'GET', `${path}/flag`, admin, undefined, 404),
          `Flavor ${made.id} has no extra specs with key flag.`,
        );
        await refused(tc, 'DELETE', `${path}/flag`, admin, undefined, 404);
        await refused(tc, 'GET', '/flavors/nope/os-extra_specs', admin, undefined, 404);
        await refused(tc, 'POST', '/flavors/nope/os-extra_specs', admin, { extra_specs: { a: 'b' } }, 404);
        const boot = await findFlavorForBoot(tc.cloud.compute, demoCaller(), made.id);
        assert.deepEqual(boot.extraSpecs, { 'hw:cpu_policy': 'shared', 'quota:disk_read_bytes_sec': '1000' });
      });

      it('hides private flavors from projects not on the access list', async () => {
        const made = (
          await ok(tc, 'POST', '/flavors', admin, { flavor: { name: 'private', ram: 64, vcpus: 1, disk: 0, 'os-flavor-access:is_public': false } }, 200)
        ).flavor;
        assert.equal(made['os-flavor-access:is_public'], false);
        const demoList = async () => (await ok(tc, 'GET', '/flavors', demo, undefined, 200)).flavors.map((f: Body) => f.id);
        assert.ok(!(await demoList()).includes(made.id));
        await refused(tc, 'GET', `/flavors/${made.id}`, demo, undefined, 404);
        const onlyPrivate = await ok(tc, 'GET', '/flavors?is_public=false', admin, undefined, 200);
        assert.deepEqual(onlyPrivate.flavors.map((f: Body) => f.id), [made.id]);
        const all = await ok(tc, 'GET', '/flavors?is_public=none', admin, undefined, 200);
        assert.ok(all.flavors.some((f: Body) => f.id === made.id) && all.flavors.some((f: Body) => f.id === '1'));
        await assert.rejects(findFlavorForBoot(tc.cloud.compute, demoCaller(), made.id), /Invalid flavorRef provided\./);

        assert.deepEqual(await ok(tc, 'GET', `/flavors/${made.id}/os-flavor-access`, admin, undefined, 200), { flavor_access: [] });
        const added = await ok(tc, 'POST', `/flavors/${made.id}/action`, admin, { addTenantAccess: { tenant: demoProject } }, 200);
        assert.deepEqual(added, { flavor_access: [{ flavor_id: made.id, tenant_id: demoProject }] });
        assert.ok((await demoList()).includes(made.id));
        assert.equal((await ok(tc, 'GET', `/flavors/${made.id}`, demo, undefined, 200)).flavor.name, 'private');
        assert.equal((await findFlavorForBoot(tc.cloud.compute, demoCaller(), made.id)).isPublic, false);
        assert.match(
          await refused(tc, 'POST', `/flavors/${made.id}/action`, admin, { addTenantAccess: { tenant: demoProject } }, 409),
          /Flavor access already exists/,
        );
        await ok(tc, 'POST', `/flavors/${made.id}/action`, admin, { removeTenantAccess: { tenant: demoProject } }, 200);
        assert.ok(!(await demoList()).includes(made.id));
        assert.match(await refused(tc, 'POST', `/flavors/${made.id}/action`, admin, { removeTenantAccess: { tenant: demoProject } }, 404), /Flavor access not found/);
        await refused(tc, 'POST', `/flavors/${made.id}/action`, admin, { addTenantAccess: {} }, 400);
        await refused(tc, 'POST', `/flavors/${made.id}/action`, admin, { addTenantAccess: { tenant: 5 } }, 400);
        await refused(tc, 'POST', `/flavors/${made.id}/action`, admin, { addTenantAccess: 'x' }, 400);
        assert.match(await refused(tc, 'POST', `/flavors/${made.id}/action`, admin, { fly: {} }, 400), /There is no such action: fly/);
        await refused(tc, 'POST', `/flavors/${made.id}/action`, admin, [], 400);
        await refused(tc, 'POST', '/flavors/nope/action', admin, { addTenantAccess: { tenant: demoProject } }, 404);
      });

      it('has no access list for public flavors', async () => {
        assert.equal(await refused(tc, 'GET', '/flavors/1/os-flavor-access', admin, undefined, 404), 'Access list not available for public flavors.');
        await refused(tc, 'GET', '/flavors/1/os-flavor-access', demo, undefined, 403);
        await refused(tc, 'POST', '/flavors/1/action', admin, { addTenantAccess: { tenant: demoProject } }, 409, '2.7');
      });

      it('finds the flavor a boot names, by id or link', async () => {
        const ctx = tc.cloud.compute;
        const tiny = await findFlavorForBoot(ctx, demoCaller(), '1');
        assert.deepEqual(
          { ...tiny, extraSpecs: undefined },
          {
            id: '1', name: 'm1.tiny', vcpus: 1, memoryMb: 512, rootGb: 1, ephemeralGb: 0, swapMb: 0, rxtxFactor: 1,
            isPublic: true, disabled: false, extraSpecs: undefined, description: null,
          },
        );
        assert.equal((await findFlavorForBoot(ctx, demoCaller(), `${tc.url}/compute/v2.1/flavors/42`)).name, 'm1.nano');
        for (const bad of ['', 'nope', `${tc.url}/compute/v2.1/flavors/`, '../1x']) {
          await assert.rejects(findFlavorForBoot(ctx, demoCaller(), bad), (e: Error & { status?: number }) => e.status === 400 && e.message === 'Invalid flavorRef provided.');
        }
        assert.deepEqual(renderFlavorForServer(tiny, `${tc.url}/compute/v2.1`), { id: '1', links: [{ href: `${tc.url}/compute/flavors/1`, rel: 'bookmark' }] });
      });
    });

    describe('key pairs', () => {
      it('generates an RSA key pair, returning the private key once', async () => {
        const made = (await ok(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'generated' } }, 200)).keypair;
        assert.deepEqual(Object.keys(made).sort(), ['fingerprint', 'name', 'private_key', 'public_key', 'user_id']);
        assert.equal(made.user_id, demoUser);
        assert.match(made.private_key, /^-----BEGIN RSA PRIVATE KEY-----\n/);
        const [type, encoded, comment] = (made.public_key as string).split(' ');
        assert.equal(type, 'ssh-rsa');
        assert.equal(comment, 'Generated-by-Nova');
        const blob = Buffer.from(encoded as string, 'base64');
        assert.equal(made.fingerprint, md5Colons(blob));
        // The public key is the private key's: its modulus closes the blob.
        const jwk = createPublicKey(made.private_key).export({ format: 'jwk' });
        const n = Buffer.from(jwk.n as string, 'base64url');
        assert.ok(blob.subarray(blob.length - n.length).equals(n));
        const shown = (await ok(tc, 'GET', '/os-keypairs/generated', demo, undefined, 200)).keypair;
        assert.equal(shown.private_key, undefined);
        assert.equal(shown.public_key, made.public_key);
        assert.deepEqual(Object.keys(shown).sort(), ['created_at', 'deleted', 'deleted_at', 'fingerprint', 'id', 'name', 'public_key', 'updated_at', 'user_id']);
        assert.equal(shown.deleted, false);
        assert.equal(typeof shown.id, 'number');
        assert.equal(shown.user_id, demoUser);
      });

      it('imports ssh-ed25519 and ecdsa keys with Nova fingerprints', async () => {
        const ed = ed25519Key();
        const imported = (await ok(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'ed key', public_key: ed.line } }, 200)).keypair;
        assert.equal(imported.fingerprint, md5Colons(ed.blob));
        assert.equal(imported.private_key, undefined);
        const ec = ecdsaKey();
        const ecMade = (await ok(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'ec_key-1.0@x', public_key: ec.line } }, 201, '2.2')).keypair;
        assert.equal(ecMade.fingerprint, md5Colons(ec.blob));
        assert.equal(ecMade.type, 'ssh');
        const row = await getKeypair(tc.cloud.compute, demoUser, 'ed key');
        assert.equal(row.public_key, ed.line);
      });

      it('generates and imports x509 key pairs from 2.2', async () => {
        const made = (await ok(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'cert', type: 'x509' } }, 201, '2.2')).keypair;
        assert.equal(made.type, 'x509');
        const cert = new X509Certificate(made.public_key);
        assert.ok(cert.verify(cert.publicKey), 'self-signed');
        assert.ok(cert.checkPrivateKey(createPrivateKey(made.private_key)));
        assert.match(cert.subject, /O=OpenStack/);
        const sha1 = createHash('sha1').update(cert.raw).digest('hex').match(/../g)?.join(':');
        assert.equal(made.fingerprint, sha1);
        const imported = (await ok(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'cert-copy', type: 'x509', public_key: made.public_key } }, 201, '2.2')).keypair;
        assert.equal(imported.fingerprint, sha1);
        assert.equal(imported.private_key, undefined);
        assert.equal((await ok(tc, 'GET', '/os-keypairs/cert-copy', demo, undefined, 200, '2.2')).keypair.type, 'x509');
        for (const name of ['cert', 'cert-copy']) await ok(tc, 'DELETE', `/os-keypairs/${name}`, demo, undefined, 204, '2.2');
      });

      it('lists key pairs wrapped as Nova does, with type from 2.2', async () => {
        const list = await ok(tc, 'GET', '/os-keypairs', demo, undefined, 200);
        assert.ok(list.keypairs.length >= 1);
        for (const item of list.keypairs) assert.deepEqual(Object.keys(item.keypair).sort(), ['fingerprint', 'name', 'public_key']);
        const typed = await ok(tc, 'GET', '/os-keypairs', demo, undefined, 200, '2.2');
        for (const item of typed.keypairs) assert.equal(item.keypair.type, 'ssh');
        const adminList = await ok(tc, 'GET', '/os-keypairs', admin, undefined, 200);
        assert.ok(!adminList.keypairs.some((k: Body) => k.keypair.name === 'generated'), 'key pairs belong to their user');
      });

      it('refuses bad public keys with 400', async () => {
        const ed = ed25519Key();
        const ec = ecdsaKey();
        const bad = [
          'not a key',
          'ssh-rsa',
          'ssh-rsa !!!notbase64!!!',
          `ssh-rsa ${ed.line.split(' ')[1]}`, // the blob says ssh-ed25519
          `ssh-ed25519 ${ed.blob.subarray(0, ed.blob.length - 3).toString('base64')}`,
          `ssh-ed25519 ${Buffer.concat([ed.blob, Buffer.from([0])]).toString('base64')}`,
          `ecdsa-sha2-nistp384 ${ec.line.split(' ')[1]}`,
          `ssh-dss ${ed.line.split(' ')[1]}`,
          '',
        ];
        for (const publicKey of bad) {
          assert.equal(
            await refused(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'bad-key', public_key: publicKey } }, 400),
            'Keypair data is invalid: failed to generate fingerprint',
            publicKey,
          );
        }
        await refused(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'bad-cert', public_key: 'nope', type: 'x509' } }, 400, '2.2');
        await refused(tc, 'GET', '/os-keypairs/bad-key', demo, undefined, 404);
      });

      it('refuses bad names and bodies with 400', async () => {
        assert.equal(
          await refused(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'bad/name' } }, 400),
          'Keypair data is invalid: Keypair name contains unsafe characters',
        );
        for (const name of ['', 'x'.repeat(256), 5, null]) {
          assert.match(await refused(tc, 'POST', '/os-keypairs', demo, { keypair: { name } }, 400), /^Keypair data is invalid: /);
        }
        await refused(tc, 'POST', '/os-keypairs', demo, { keypair: {} }, 400);
        await refused(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'k', public_key: 42 } }, 400);
        await refused(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'k', type: 'ssh' } }, 400); // no type before 2.2
        await refused(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'k', type: 'pgp' } }, 400, '2.2');
        await refused(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'k', user_id: demoUser } }, 400, '2.9');
        await refused(tc, 'POST', '/os-keypairs', demo, { keypair: 'k' }, 400);
        await refused(tc, 'POST', '/os-keypairs', demo, 'garbage', 400);
      });

      it('refuses a duplicate name with 409, per user', async () => {
        const ed = ed25519Key();
        await ok(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'dup', public_key: ed.line } }, 200);
        assert.equal(await refused(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'dup', public_key: ed.line } }, 409), "Key pair 'dup' already exists.");
        await ok(tc, 'POST', '/os-keypairs', admin, { keypair: { name: 'dup', public_key: ed.line } }, 200);
      });

      it('deletes with 202 (204 from 2.2) and answers 404 after', async () => {
        const ed = ed25519Key();
        await ok(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'gone', public_key: ed.line } }, 200);
        assert.equal((await nova(tc, 'DELETE', '/os-keypairs/gone', demo)).status, 202);
        assert.equal(await refused(tc, 'GET', '/os-keypairs/gone', demo, undefined, 404), `Keypair gone not found for user ${demoUser}`);
        await refused(tc, 'DELETE', '/os-keypairs/gone', demo, undefined, 404);
        await ok(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'gone', public_key: ed.line } }, 201, '2.2');
        assert.equal((await nova(tc, 'DELETE', '/os-keypairs/gone', demo, undefined, '2.2')).status, 204);
        await assert.rejects(getKeypair(tc.cloud.compute, demoUser, 'gone'), /Keypair gone not found/);
      });

      it('lets an admin act for another user from 2.10, and no one else', async () => {
        await refused(tc, 'GET', '/os-keypairs/generated', admin, undefined, 404);
        const shown = await ok(tc, 'GET', `/os-keypairs/generated?user_id=${demoUser}`, admin, undefined, 200, '2.10');
        assert.equal(shown.keypair.user_id, demoUser);
        const list = await ok(tc, 'GET', `/os-keypairs?user_id=${demoUser}`, admin, undefined, 200, '2.10');
        assert.ok(list.keypairs.some((k: Body) => k.keypair.name === 'generated'));
        await refused(tc, 'GET', `/os-keypairs?user_id=${adminUser}`, demo, undefined, 403, '2.10');
        await refused(tc, 'DELETE', `/os-keypairs/dup?user_id=${adminUser}`, demo, undefined, 403, '2.10');
        const ed = ed25519Key();
        const forDemo = await ok(tc, 'POST', '/os-keypairs', admin, { keypair: { name: 'given', public_key: ed.line, user_id: demoUser } }, 201, '2.10');
        assert.equal(forDemo.keypair.user_id, demoUser);
        await ok(tc, 'GET', '/os-keypairs/given', demo, undefined, 200);
        await refused(tc, 'POST', '/os-keypairs', demo, { keypair: { name: 'taken', public_key: ed.line, user_id: adminUser } }, 403, '2.10');
      });
    });
  });
}
