// What Horizon and the SDKs trip on (issue 18): a deleted server as a page marker, floating IPs
// in a server's addresses, an admin booting on another project's network, and a member refused
// an external network that is not shared.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { projectWithMember, type ProjectUser } from '../image/helpers.js';
import { activeImage, boot, nova, waitForServer } from './helpers.js';

const V2 = '/networking/v2.0';

describe('compute behaviour real clients rely on', { timeout: 120_000 }, () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  let outsider: ProjectUser;
  let image: string;
  let demoNet: string;
  let extNet: string;

  async function ok(method: string, path: string, token: string, body: unknown, status: number): Promise<any> {
    const res = await api(cloud.url, method, path, token, body);
    assert.equal(res.status, status, `${method} ${path}: ${JSON.stringify(res.body)}`);
    return res.json;
  }

  async function active(token: string, name: string, networkId: string): Promise<string> {
    const res = await boot(cloud.url, token, { name, imageRef: image, flavorRef: '42', networks: [{ uuid: networkId }] });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal((await waitForServer(cloud.url, token, res.json.server.id, ['ACTIVE', 'ERROR'])).status, 'ACTIVE');
    return res.json.server.id;
  }

  before(async () => {
    cloud = await startTestCloud();
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    outsider = await projectWithMember(cloud.url, admin, 'outsider');
    image = await activeImage(cloud.url, admin);
    extNet = (await ok('POST', `${V2}/networks`, admin, { network: { name: 'ext', 'router:external': true } }, 201)).network.id;
    await ok('POST', `${V2}/subnets`, admin, { subnet: { network_id: extNet, ip_version: 4, cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', enable_dhcp: false } }, 201);
    demoNet = (await ok('POST', `${V2}/networks`, demo, { network: { name: 'demo-net' } }, 201)).network.id;
    const subnet = (await ok('POST', `${V2}/subnets`, demo, { subnet: { network_id: demoNet, ip_version: 4, cidr: '10.90.0.0/24' } }, 201)).subnet;
    const router = (await ok('POST', `${V2}/routers`, demo, { router: { name: 'r', external_gateway_info: { network_id: extNet } } }, 201)).router;
    await ok('PUT', `${V2}/routers/${router.id}/add_router_interface`, demo, { subnet_id: subnet.id }, 200);
  });

  after(async () => {
    await cloud.stop();
  });

  it('pages on from a deleted server used as the marker, as Nova does', async () => {
    const ids: string[] = [];
    for (const name of ['m1', 'm2', 'm3']) ids.push(await active(demo, name, demoNet));
    // Newest first: m3, m2, m1. Delete m2 and page on from it.
    assert.equal((await nova(cloud.url, 'DELETE', `/servers/${ids[1]}`, demo)).status, 204);
    await waitForServer(cloud.url, demo, ids[1] as string, ['DELETED']);
    const page = await nova(cloud.url, 'GET', `/servers?marker=${ids[1]}&name=^m`, demo);
    assert.equal(page.status, 200, JSON.stringify(page.body));
    assert.deepEqual(page.json.servers.map((s: any) => s.name), ['m1']);
    const unknown = await nova(cloud.url, 'GET', '/servers?marker=6c8c0f6e-0000-4000-8000-000000000000', demo);
    assert.equal(unknown.status, 400);
  });

  it("refuses another project's server, deleted or not, as a member's marker", async () => {
    const theirs = await active(admin, 'admins', demoNet);
    const res = await nova(cloud.url, 'GET', `/servers?marker=${theirs}`, outsider.token);
    assert.equal(res.status, 400, JSON.stringify(res.body));
  });

  it('lists an associated floating IP in addresses, typed floating, after its fixed address', async () => {
    const id = await active(demo, 'with-fip', demoNet);
    const port = (await ok('GET', `${V2}/ports?device_id=${id}`, demo, undefined, 200)).ports[0];
    const fip = (await ok('POST', `${V2}/floatingips`, demo, { floatingip: { floating_network_id: extNet, port_id: port.id } }, 201)).floatingip;
    const shown = await nova(cloud.url, 'GET', `/servers/${id}`, demo);
    const entries = shown.json.server.addresses['demo-net'];
    assert.deepEqual(
      entries.map((e: any) => [e.addr, e['OS-EXT-IPS:type'], e['OS-EXT-IPS-MAC:mac_addr']]),
      [
        [port.fixed_ips[0].ip_address, 'fixed', port.mac_address],
        [fip.floating_ip_address, 'floating', port.mac_address],
      ],
    );
    const ips = await nova(cloud.url, 'GET', `/servers/${id}/ips/demo-net`, demo);
    assert.equal(ips.json['demo-net'].length, 2);
    // Disassociated: gone from the server again.
    await ok('PUT', `${V2}/floatingips/${fip.id}`, demo, { floatingip: { port_id: null } }, 200);
    const after = await nova(cloud.url, 'GET', `/servers/${id}`, demo);
    assert.deepEqual(after.json.server.addresses['demo-net'].map((e: any) => e['OS-EXT-IPS:type']), ['fixed']);
  });

  it("lets an admin boot on another project's private network", async () => {
    const id = await active(admin, 'admin-on-demo-net', demoNet);
    const shown = await nova(cloud.url, 'GET', `/servers/${id}`, admin);
    assert.equal(shown.json.server.addresses['demo-net'].length, 1);
  });

  it("refuses a member another project's private network", async () => {
    const res = await boot(cloud.url, outsider.token, { name: 'intruder', imageRef: image, flavorRef: '42', networks: [{ uuid: demoNet }] });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    const listed = await nova(cloud.url, 'GET', '/servers', outsider.token);
    assert.deepEqual(listed.json.servers, []);
  });

  it('refuses a member an external network that is not shared, and lets an admin on it', async () => {
    const refused = await boot(cloud.url, demo, { name: 'on-ext', imageRef: image, flavorRef: '42', networks: [{ uuid: extNet }] });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    assert.match(refused.json.forbidden.message, /external network/);
    await active(admin, 'admin-on-ext', extNet);
  });

  it('lets a member boot on an external network that is also shared', async () => {
    const shared = (await ok('POST', `${V2}/networks`, admin, { network: { name: 'ext-shared', 'router:external': true, shared: true } }, 201)).network.id;
    await ok('POST', `${V2}/subnets`, admin, { subnet: { network_id: shared, ip_version: 4, cidr: '198.51.100.0/24' } }, 201);
    await active(demo, 'on-shared-ext', shared);
  });
});
