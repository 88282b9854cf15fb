// A port of another project that names a server as its device (device_id = the server,
// device_owner compute:nova) is not the server's: Nova finds an instance's ports with
// tenant_id = instance.project_id and device_id = instance.uuid. So the forged port shows in
// none of the server's views (addresses, ips, os-interface, security groups), in none of its
// metadata (network_data.json, local/public-ipv4, security-groups) or config drive; the
// server's owner cannot detach or delete it, deleting the server leaves it alone, and the
// forger's network gets no metadata of the server through the relay.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MetadataRelay } from '../../../src/agents/network/metadata-relay.js';
import { createLogger } from '../../../src/core/log.js';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { projectWithMember, type ProjectUser } from '../image/helpers.js';
import { raw } from '../metadata/helpers.js';
import { signInstanceId } from '../../../src/contracts/metadata.js';
import { activeImage, boot, nova, waitForServer } from './helpers.js';

const V2 = '/networking/v2.0';

describe("another project's port naming a server as its device", { timeout: 120_000 }, () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  let demoProject: string;
  let outsider: ProjectUser;
  let serverId: string;
  let own: { id: string; ip: string };
  let forged: { id: string; ip: string; networkId: string; floatingIp: string };
  let dir: string;
  let relay: MetadataRelay;

  async function ok(method: string, path: string, token: string, body: unknown, status: number): Promise<Record<string, any>> {
    const res = await api(cloud.url, method, path, token, body);
    assert.equal(res.status, status, `${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    return res.json;
  }

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake' } });
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    outsider = await projectWithMember(cloud.url, admin, 'forger');
    const image = await activeImage(cloud.url, admin);

    const ext = (await ok('POST', `${V2}/networks`, admin, { network: { name: 'ext', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'physnet1' } }, 201)).network;
    await ok('POST', `${V2}/subnets`, admin, { subnet: { network_id: ext.id, ip_version: 4, cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', enable_dhcp: false } }, 201);

    const mine = (await ok('POST', `${V2}/networks`, demo, { network: { name: 'a-net' } }, 201)).network;
    demoProject = mine.project_id;
    await ok('POST', `${V2}/subnets`, demo, { subnet: { network_id: mine.id, ip_version: 4, cidr: '10.70.0.0/24' } }, 201);
    const created = await boot(cloud.url, demo, { name: 'victim', imageRef: image, flavorRef: '42', networks: [{ uuid: mine.id }], config_drive: true });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    serverId = created.json.server.id;
    assert.equal((await waitForServer(cloud.url, demo, serverId, ['ACTIVE', 'ERROR'])).status, 'ACTIVE');
    const ownPort = (await ok('GET', `${V2}/ports?device_id=${serverId}`, demo, undefined, 200)).ports[0];
    own = { id: ownPort.id, ip: ownPort.fixed_ips[0].ip_address };

    // The other project: its own network behind its own router, a group of its own, and a port
    // claiming the server as its device, with a floating IP.
    const theirs = (await ok('POST', `${V2}/networks`, outsider.token, { network: { name: 'b-net' } }, 201)).network;
    const theirSubnet = (await ok('POST', `${V2}/subnets`, outsider.token, { subnet: { network_id: theirs.id, ip_version: 4, cidr: '10.71.0.0/24' } }, 201)).subnet;
    const router = (await ok('POST', `${V2}/routers`, outsider.token, { router: { name: 'b-router', external_gateway_info: { network_id: ext.id } } }, 201)).router;
    await ok('PUT', `${V2}/routers/${router.id}/add_router_interface`, outsider.token, { subnet_id: theirSubnet.id }, 200);
    const group = (await ok('POST', `${V2}/security-groups`, outsider.token, { security_group: { name: 'b-only' } }, 201)).security_group;
    const port = (
      await ok('POST', `${V2}/ports`, outsider.token, { port: { network_id: theirs.id, device_id: serverId, device_owner: 'compute:nova', security_groups: [group.id] } }, 201)
    ).port;
    const fip = (await ok('POST', `${V2}/floatingips`, outsider.token, { floatingip: { floating_network_id: ext.id, port_id: port.id } }, 201)).floatingip;
    forged = { id: port.id, ip: port.fixed_ips[0].ip_address, networkId: theirs.id, floatingIp: fip.floating_ip_address };

    dir = mkdtempSync(join(tmpdir(), 'kumo-forged-'));
    relay = new MetadataRelay({
      socketPath: join(dir, 'metadata.sock'),
      bus: cloud.cloud.bus,
      metadataUrl: cloud.cloud.metadataUrl,
      sharedSecret: cloud.cloud.config.metadata.sharedSecret as string,
      log: createLogger('silent'),
    });
    await relay.start();
  });
  after(async () => {
    await relay?.stop();
    await cloud?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("is not in the server's addresses, ips, security groups or server list", async () => {
    const shown = (await nova(cloud.url, 'GET', `/servers/${serverId}`, demo)).json.server;
    assert.deepEqual(Object.keys(shown.addresses), ['a-net']);
    assert.deepEqual(shown.addresses['a-net'].map((a: { addr: string }) => a.addr), [own.ip]);
    assert.deepEqual(shown.security_groups, [{ name: 'default' }]);
    const detail = (await nova(cloud.url, 'GET', '/servers/detail', demo)).json.servers.find((s: { id: string }) => s.id === serverId);
    assert.deepEqual(Object.keys(detail.addresses), ['a-net']);
    assert.deepEqual(detail.security_groups, [{ name: 'default' }]);
    const ips = await nova(cloud.url, 'GET', `/servers/${serverId}/ips`, demo);
    assert.deepEqual(Object.keys(ips.json.addresses), ['a-net']);
    assert.equal((await nova(cloud.url, 'GET', `/servers/${serverId}/ips/b-net`, demo)).status, 404);
    const groups = await nova(cloud.url, 'GET', `/servers/${serverId}/os-security-groups`, demo);
    assert.deepEqual(groups.json.security_groups.map((g: { name: string }) => g.name), ['default']);
    const byIp = await nova(cloud.url, 'GET', `/servers?ip=${encodeURIComponent(forged.ip.replace(/\./g, '\\.'))}$`, demo);
    assert.deepEqual(byIp.json.servers, [], "the forged port's address finds no server");
  });

  it('is not among the interfaces, and the server cannot detach or delete it', async () => {
    const listed = await nova(cloud.url, 'GET', `/servers/${serverId}/os-interface`, demo);
    assert.deepEqual(listed.json.interfaceAttachments.map((i: { port_id: string }) => i.port_id), [own.id]);
    assert.equal((await nova(cloud.url, 'GET', `/servers/${serverId}/os-interface/${forged.id}`, demo)).status, 404);
    const detached = await nova(cloud.url, 'DELETE', `/servers/${serverId}/os-interface/${forged.id}`, demo);
    assert.equal(detached.status, 404, JSON.stringify(detached.body));
    const kept = await api(cloud.url, 'GET', `${V2}/ports/${forged.id}`, outsider.token);
    assert.equal(kept.status, 200, 'the port is still there');
    assert.equal(kept.json.port.device_id, serverId);
  });

  it("is not in the server's metadata or config drive", async () => {
    const secret = cloud.cloud.config.metadata.sharedSecret as string;
    const headers = { 'x-instance-id': serverId, 'x-tenant-id': demoProject, 'x-instance-id-signature': signInstanceId(secret, serverId), 'x-forwarded-for': own.ip };
    const get = async (path: string) => {
      const res = await raw({ url: cloud.cloud.metadataUrl }, path, headers);
      assert.equal(res.status, 200, `${path}: HTTP ${res.status} ${res.body}`);
      return res.body;
    };
    const networkData = JSON.parse(await get('/openstack/latest/network_data.json'));
    assert.deepEqual(networkData.links.map((l: { vif_id: string }) => l.vif_id), [own.id]);
    assert.equal(await get('/latest/meta-data/local-ipv4'), own.ip);
    assert.equal(await get('/latest/meta-data/public-ipv4'), '', "the forger's floating IP is not the server's");
    assert.equal(await get('/latest/meta-data/security-groups'), 'default');

    const drive = cloud.cloud.compute.configDrive;
    assert.ok(drive, 'the cloud writes config drives');
    const files = await drive.files(serverId);
    const onDrive = JSON.parse((files.get('openstack/latest/network_data.json') as Buffer).toString('utf8'));
    assert.deepEqual(onDrive.links.map((l: { vif_id: string }) => l.vif_id), [own.id]);
    const ec2 = JSON.parse((files.get('ec2/latest/meta-data.json') as Buffer).toString('utf8'));
    assert.equal(ec2['local-ipv4'], own.ip);
    assert.equal(ec2['public-ipv4'], '');
  });

  it("gets the forger's network no metadata of the server", async () => {
    const res = await raw({ socketPath: join(dir, 'metadata.sock') }, '/openstack/latest/meta_data.json', { 'x-forwarded-for': forged.ip, 'x-neutron-network-id': forged.networkId });
    assert.equal(res.status, 404, `HTTP ${res.status} ${res.body}`);
    assert.ok(!res.body.includes(serverId));
  });

  it('stays when the server is deleted', async () => {
    assert.equal((await nova(cloud.url, 'DELETE', `/servers/${serverId}`, demo)).status, 204);
    await waitForServer(cloud.url, demo, serverId, ['DELETED']);
    assert.equal((await api(cloud.url, 'GET', `${V2}/ports/${own.id}`, admin)).status, 404, "the server's own port went with it");
    const kept = await api(cloud.url, 'GET', `${V2}/ports/${forged.id}`, outsider.token);
    assert.equal(kept.status, 200, "the other project's port is not the server's to delete");
  });
});
