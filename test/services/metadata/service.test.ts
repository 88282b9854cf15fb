// Nova's metadata API called as the relay calls it (signed X-Instance-ID): the EC2 tree and the
// OpenStack documents of a server with a key pair, user data and a floating IP, the password
// a guest posts once, and every refusal: missing or repeated headers (400), a bad signature
// (403), an unknown, deleted or other tenant's instance (404), a path that names nothing (404).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { signInstanceId } from '../../../src/contracts/metadata.js';
import { api } from '../../helpers/cloud.js';
import { nova, waitForServer } from '../compute/helpers.js';
import { buildScene, raw, signedHeaders, USER_DATA, type RawResponse, type Scene } from './helpers.js';

describe('metadata service', { timeout: 120_000 }, () => {
  let scene: Scene;
  let url: string;

  before(async () => {
    scene = await buildScene();
    url = scene.tc.cloud.metadataUrl;
  });
  after(async () => scene?.tc.stop());

  /** A signed request for `web` (or `instanceId`). */
  const get = (path: string, instanceId = scene.web.id): Promise<RawResponse> => raw({ url }, path, signedHeaders(scene, instanceId, scene.projectId, '10.30.0.200'));
  const text = async (path: string, instanceId?: string): Promise<string> => {
    const res = await get(path, instanceId);
    assert.equal(res.status, 200, `${path}: HTTP ${res.status} ${res.body}`);
    return res.body;
  };
  const json = async (path: string, instanceId?: string): Promise<Record<string, any>> => {
    const res = await get(path, instanceId);
    assert.equal(res.status, 200, `${path}: HTTP ${res.status} ${res.body}`);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    return JSON.parse(res.body) as Record<string, any>;
  };
  /** Nova's (webob's) plain-text error page. */
  const refused = (res: RawResponse, status: number, message: RegExp) => {
    assert.equal(res.status, status, `HTTP ${res.status} ${res.body}`);
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    assert.match(res.body, new RegExp(`^${status} `));
    assert.match(res.body, message);
  };

  describe('where it listens', () => {
    it('has a port of its own, read back into the config, and the secret the data directory keeps', async () => {
      const { config } = scene.tc.cloud;
      assert.notEqual(config.metadata.port, 0);
      assert.notEqual(config.metadata.port, config.port);
      assert.equal(url, `http://127.0.0.1:${config.metadata.port}`);
      assert.match(config.metadata.sharedSecret ?? '', /^[0-9a-f]{64}$/);
      const file = `${scene.tc.dataDir}/metadata-secret`;
      assert.equal(readFileSync(file, 'utf8').trim(), config.metadata.sharedSecret);
      assert.equal(statSync(file).mode & 0o777, 0o600);
    });

    it('is not the user-facing API: the main port knows no /latest', async () => {
      const res = await api(scene.tc.url, 'GET', '/latest/meta-data/');
      assert.equal(res.status, 404);
    });
  });

  describe('EC2 format', () => {
    it('lists the versions at / without any header', async () => {
      const res = await raw({ url }, '/');
      assert.equal(res.status, 200);
      const versions = res.body.split('\n');
      assert.equal(versions[0], '1.0');
      assert.deepEqual(versions.slice(-2), ['2009-04-04', 'latest']);
    });

    it('lists a version and its meta-data directory as Nova does', async () => {
      assert.equal(await text('/latest'), 'meta-data/\nuser-data');
      assert.equal(
        await text('/latest/meta-data/'),
        [
          'ami-id',
          'ami-launch-index',
          'ami-manifest-path',
          'block-device-mapping/',
          'hostname',
          'instance-action',
          'instance-id',
          'instance-type',
          'local-hostname',
          'local-ipv4',
          'placement/',
          'public-hostname',
          'public-ipv4',
          'public-keys/',
          'reservation-id',
          'security-groups',
        ].join('\n'),
      );
      assert.equal(await text('/2009-04-04/meta-data'), await text('/latest/meta-data/'), 'latest is 2009-04-04');
      assert.equal(await text('/ec2/latest/meta-data/'), await text('/latest/meta-data/'), 'the /ec2 prefix is optional');
    });

    it("answers each key with the server's own values", async () => {
      const { web } = scene;
      const server = (await nova(scene.tc.url, 'GET', `/servers/${web.id}`, scene.demo)).json.server;
      const flavor = (await nova(scene.tc.url, 'GET', `/flavors/${server.flavor.id}`, scene.demo)).json.flavor;
      // Nova's EC2 instance id is i-%08x of an internal number; Kumo uses the UUID's first 8 hex digits.
      assert.equal(await text('/latest/meta-data/instance-id'), `i-${web.id.replaceAll('-', '').slice(0, 8)}`);
      assert.equal(await text('/2009-04-04/meta-data/instance-id'), `i-${web.id.slice(0, 8)}`);
      assert.match(await text('/latest/meta-data/ami-id'), /^ami-[0-9a-f]{8}$/);
      assert.equal(await text('/latest/meta-data/ami-launch-index'), '0');
      assert.equal(await text('/latest/meta-data/ami-manifest-path'), 'FIXME');
      assert.equal(await text('/latest/meta-data/hostname'), 'web-server.novalocal');
      assert.equal(await text('/latest/meta-data/local-hostname'), 'web-server.novalocal');
      assert.equal(await text('/latest/meta-data/public-hostname'), 'web-server.novalocal');
      assert.equal(await text('/latest/meta-data/instance-type'), flavor.name);
      assert.equal(await text('/latest/meta-data/instance-type'), 'm1.nano');
      assert.equal(await text('/latest/meta-data/local-ipv4'), web.fixedIp);
      assert.equal(await text('/latest/meta-data/public-ipv4'), web.floatingIp);
      assert.equal(await text('/latest/meta-data/instance-action'), 'none');
      assert.match(await text('/latest/meta-data/reservation-id'), /^r-/);
      assert.equal(await text('/latest/meta-data/security-groups'), 'default');
      assert.equal(await text('/latest/meta-data/placement/'), 'availability-zone');
      assert.equal(await text('/latest/meta-data/placement/availability-zone'), server['OS-EXT-AZ:availability_zone']);
      assert.equal(await text('/latest/meta-data/block-device-mapping/'), 'ami\nroot');
      assert.equal(await text('/latest/meta-data/block-device-mapping/root'), '/dev/vda');
    });

    it('shows the key pair as public-keys/0=<name> and its openssh-key', async () => {
      assert.equal(await text('/latest/meta-data/public-keys/'), `0=${scene.web.keyName}`);
      assert.equal(await text('/latest/meta-data/public-keys/0/'), 'openssh-key');
      assert.equal(await text('/latest/meta-data/public-keys/0/openssh-key'), scene.web.publicKey);
    });

    it('serves the user data as given, and 404 for a server without', async () => {
      assert.equal(await text('/latest/user-data'), USER_DATA);
      assert.equal(await text('/2009-04-04/user-data'), USER_DATA);
      refused(await get('/latest/user-data', scene.plain.id), 404, /The resource could not be found\./);
    });

    it('shows a server without key, user data or floating IP without them', async () => {
      const { plain } = scene;
      assert.equal(await text('/latest', plain.id), 'meta-data/');
      const keys = (await text('/latest/meta-data/', plain.id)).split('\n');
      assert.ok(!keys.includes('public-keys/'));
      assert.equal(await text('/latest/meta-data/public-ipv4', plain.id), '');
      assert.equal(await text('/latest/meta-data/local-ipv4', plain.id), plain.fixedIp);
    });

    it('shows older versions with only the keys they had', async () => {
      const keys = (await text('/1.0/meta-data/')).split('\n');
      assert.ok(keys.includes('instance-id'));
      for (const later of ['public-ipv4', 'instance-type', 'placement/', 'block-device-mapping/', 'instance-action']) assert.ok(!keys.includes(later), later);
      const v2008 = (await text('/2008-02-01/meta-data/')).split('\n');
      assert.ok(v2008.includes('placement/') && !v2008.includes('instance-action'));
    });

    it('answers 404 for what names nothing', async () => {
      for (const path of ['/latest/meta-data/nope', '/latest/meta-data/hostname/more', '/2001-01-01/meta-data/', '/latest/meta-data/public-keys/1', '/latest/nothing', '/latest/meta-data/security-groups/default']) {
        refused(await get(path), 404, /The resource could not be found\./);
      }
    });

    it('normalises the path as Nova does', async () => {
      assert.equal(await text('//latest//meta-data/./instance-id'), `i-${scene.web.id.slice(0, 8)}`);
      assert.equal(await text('/latest/meta-data/placement/../instance-id'), `i-${scene.web.id.slice(0, 8)}`);
      refused(await get('/latest/meta-data/%E0%A4%A'), 400, /The request path is not valid\./);
    });
  });

  describe('OpenStack format', () => {
    it('lists its versions, dated ones included', async () => {
      const versions = (await text('/openstack')).split('\n');
      for (const v of ['2012-08-10', '2013-04-04', '2013-10-17', '2015-10-15', '2016-06-30', '2016-10-06', '2017-02-22', '2018-08-27', 'latest']) assert.ok(versions.includes(v), v);
      assert.equal(versions.at(-1), 'latest');
      assert.equal(await text('/openstack/'), versions.join('\n'));
    });

    it('lists what a version holds', async () => {
      assert.equal(await text('/openstack/latest'), ['meta_data.json', 'user_data', 'password', 'vendor_data.json', 'network_data.json', 'vendor_data2.json'].join('\n'));
      assert.equal(await text('/openstack/2012-08-10/'), ['meta_data.json', 'user_data'].join('\n'));
      assert.equal(await text('/openstack/latest', scene.plain.id), ['meta_data.json', 'password', 'vendor_data.json', 'network_data.json', 'vendor_data2.json'].join('\n'));
    });

    it('meta_data.json: uuid is the server id, with keys, metadata and project', async () => {
      const { web } = scene;
      const md = await json('/openstack/latest/meta_data.json');
      assert.equal(md.uuid, web.id);
      assert.equal(md.name, 'Web Server');
      assert.equal(md.hostname, 'web-server.novalocal');
      assert.equal(md.launch_index, 0);
      assert.equal(md.availability_zone, 'nova');
      assert.equal(md.project_id, scene.projectId);
      assert.deepEqual(md.meta, { role: 'web' });
      assert.deepEqual(md.public_keys, { [web.keyName]: web.publicKey });
      assert.deepEqual(md.keys, [{ name: web.keyName, type: 'ssh', data: web.publicKey }]);
      assert.deepEqual(md.devices, []);
      assert.equal(Buffer.from(md.random_seed, 'base64').length, 512);
      assert.equal(md.admin_pass, undefined, 'Nova gives the admin password to the config drive only');
      assert.notEqual((await json('/openstack/latest/meta_data.json')).random_seed, md.random_seed, 'a fresh seed each time');
    });

    it('meta_data.json of an old version has only what that version had', async () => {
      const md = await json('/openstack/2012-08-10/meta_data.json');
      assert.equal(md.uuid, scene.web.id);
      assert.equal(md.random_seed, undefined);
      assert.equal(md.project_id, undefined);
      assert.equal(md.devices, undefined);
      assert.equal((await json('/openstack/2018-08-27/meta_data.json')).project_id, scene.projectId);
    });

    it('network_data.json: a DHCP network from the port, as Nova builds it', async () => {
      const { web } = scene;
      const nd = await json('/openstack/latest/network_data.json');
      assert.deepEqual(nd, {
        links: [{ id: `tap${web.portId}`.slice(0, 14), vif_id: web.portId, type: 'bridge', mtu: null, ethernet_mac_address: web.mac }],
        networks: [{ id: 'network0', type: 'ipv4_dhcp', link: `tap${web.portId}`.slice(0, 14), network_id: scene.int.networkId }],
        services: [{ type: 'dns', address: '10.30.0.53' }],
      });
    });

    it('network_data.json: a static network with its routes and DNS', async () => {
      const { plain } = scene;
      const nd = await json('/openstack/latest/network_data.json', plain.id);
      const link = `tap${plain.portId}`.slice(0, 14);
      assert.equal(nd.links[0].id, link);
      assert.equal(typeof nd.links[0].mtu, 'number');
      assert.deepEqual(nd.networks, [
        {
          id: 'network0',
          type: 'ipv4',
          link,
          ip_address: plain.fixedIp,
          netmask: '255.255.255.0',
          routes: [
            { network: '0.0.0.0', netmask: '0.0.0.0', gateway: '10.40.0.1' },
            { network: '192.168.0.0', netmask: '255.255.0.0', gateway: '10.40.0.254' },
          ],
          network_id: scene.static.networkId,
          services: [{ type: 'dns', address: '10.40.0.53' }],
        },
      ]);
    });

    it('serves user_data and the vendor data', async () => {
      assert.equal(await text('/openstack/latest/user_data'), USER_DATA);
      assert.deepEqual(await json('/openstack/latest/vendor_data.json'), {});
      assert.deepEqual(await json('/openstack/latest/vendor_data2.json'), { static: {} });
      assert.deepEqual(await json('/openstack/2018-08-27/vendor_data.json'), {});
      refused(await get('/openstack/latest/user_data', scene.plain.id), 404, /could not be found/);
    });

    it('answers 404 for what names nothing', async () => {
      for (const path of ['/openstack/latest/nope.json', '/openstack/2099-01-01/meta_data.json', '/openstack/2012-08-10/network_data.json', '/openstack/2012-08-10/password', '/openstack/content/0000', '/openstack/latest/meta_data.json/uuid']) {
        refused(await get(path), 404, /could not be found/);
      }
    });
  });

  describe('password', () => {
    const post = (body: string | Buffer, instanceId = scene.plain.id, method = 'POST') =>
      raw({ url }, '/openstack/latest/password', { ...signedHeaders(scene, instanceId), 'content-type': 'application/octet-stream' }, method, body);

    it('is empty until the guest posts one, then set once', async () => {
      assert.equal(await text('/openstack/latest/password', scene.plain.id), '');
      refused(await post('x'.repeat(4 * 255 + 1)), 400, /Request is too large\./);
      assert.equal((await post('encrypted-password==')).status, 200);
      assert.equal(await text('/openstack/latest/password', scene.plain.id), 'encrypted-password==');
      assert.equal(await text('/openstack/2013-04-04/password', scene.plain.id), 'encrypted-password==');
      refused(await post('another'), 409, /conflict/);
      assert.equal(await text('/openstack/latest/password', scene.plain.id), 'encrypted-password==');
    });

    it('takes a post without a content type, and refuses a huge one in plain text', async () => {
      const headers = signedHeaders(scene, scene.web.id);
      assert.equal((await raw({ url }, '/openstack/latest/password', headers, 'POST', 'posted-bare')).status, 200);
      assert.equal(await text('/openstack/latest/password'), 'posted-bare');
      refused(await raw({ url }, '/openstack/latest/password', headers, 'POST', Buffer.alloc(200 * 1024)), 413, /./);
    });

    it('takes no other method', async () => {
      refused(await post('x', scene.web.id, 'PUT'), 400, /GET and POST only are supported\./);
      refused(await post('x', scene.web.id, 'DELETE'), 400, /GET and POST only are supported\./);
    });
  });

  describe('who may ask', () => {
    it('400 without X-Instance-ID, its signature or X-Tenant-ID', async () => {
      const all = signedHeaders(scene, scene.web.id);
      const without = (name: string) => Object.fromEntries(Object.entries(all).filter(([k]) => k !== name));
      refused(await raw({ url }, '/latest/meta-data/', without('x-instance-id')), 400, /X-Instance-ID header is missing from request\./);
      refused(await raw({ url }, '/latest/meta-data/', without('x-instance-id-signature')), 400, /X-Instance-ID-Signature header is missing from request\./);
      refused(await raw({ url }, '/latest/meta-data/', without('x-tenant-id')), 400, /X-Tenant-ID header is missing from request\./);
      refused(await raw({ url }, '/openstack/latest/meta_data.json', {}), 400, /X-Instance-ID header is missing/);
    });

    it('400 when a header comes twice', async () => {
      const headers = signedHeaders(scene, scene.web.id);
      refused(await raw({ url }, '/latest/meta-data/', { ...headers, 'x-instance-id': [scene.web.id, scene.plain.id] }), 400, /Multiple X-Instance-ID headers/);
      refused(await raw({ url }, '/latest/meta-data/', { ...headers, 'x-tenant-id': [scene.projectId, scene.projectId] }), 400, /Multiple X-Tenant-ID headers/);
    });

    it('403 when the signature does not match', async () => {
      const headers = signedHeaders(scene, scene.web.id);
      const cases = [
        { ...headers, 'x-instance-id-signature': signInstanceId('not-the-secret', scene.web.id) },
        { ...headers, 'x-instance-id-signature': signInstanceId(scene.tc.cloud.config.metadata.sharedSecret as string, scene.plain.id) },
        { ...headers, 'x-instance-id-signature': 'short' },
        { ...headers, 'x-instance-id-signature': '' },
        { ...headers, 'x-instance-id-signature': headers['x-instance-id-signature']!.toUpperCase() },
      ];
      for (const h of cases) refused(await raw({ url }, '/latest/meta-data/', h), 403, /Invalid proxy request signature\./);
    });

    it('404 for an unknown instance, one of another tenant, and a deleted one', async () => {
      refused(await raw({ url }, '/latest/meta-data/', signedHeaders(scene, randomUUID())), 404, /could not be found/);
      refused(await raw({ url }, '/latest/meta-data/', signedHeaders(scene, 'not-a-uuid')), 404, /could not be found/);
      refused(await raw({ url }, '/latest/meta-data/', signedHeaders(scene, scene.web.id, 'another-project')), 404, /could not be found/);
      // The root listing needs no instance at all.
      assert.equal((await raw({ url }, '/', signedHeaders(scene, randomUUID()))).status, 200);
    });

    it('404 once the server is deleted', async () => {
      const { plain } = scene;
      assert.equal((await nova(scene.tc.url, 'DELETE', `/servers/${plain.id}`, scene.demo)).status, 204);
      await waitForServer(scene.tc.url, scene.demo, plain.id, ['DELETED']);
      refused(await get('/openstack/latest/meta_data.json', plain.id), 404, /could not be found/);
    });
  });
});
