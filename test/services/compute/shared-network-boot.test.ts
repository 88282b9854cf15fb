// Compute makes an instance's ports with admin rights (binding:host_id is admin-only), so the
// network's field rules must be asked with the booting user's own rights first, as Nova asks
// Neutron with the user's token: a member of another project may boot on a shared network,
// but not choose its fixed IP there (create_port:fixed_ips:ip_address is the network owner's).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { projectWithMember, type ProjectUser } from '../image/helpers.js';
import { activeImage, boot, waitForServer } from './helpers.js';

const V2 = '/networking/v2.0';

describe('booting on a network another project shared', { timeout: 120_000 }, () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  let outsider: ProjectUser;
  let image: string;
  let networkId: string;
  let attachable: string;

  before(async () => {
    cloud = await startTestCloud();
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    outsider = await projectWithMember(cloud.url, admin, 'neighbour');
    image = await activeImage(cloud.url, admin);
    const network = await api(cloud.url, 'POST', `${V2}/networks`, admin, { network: { name: 'shared-by-admin', shared: true } });
    assert.equal(network.status, 201, JSON.stringify(network.body));
    networkId = network.json.network.id;
    const subnet = await api(cloud.url, 'POST', `${V2}/subnets`, admin, { subnet: { network_id: networkId, ip_version: 4, cidr: '10.80.0.0/24' } });
    assert.equal(subnet.status, 201, JSON.stringify(subnet.body));
    const server = await boot(cloud.url, outsider.token, { name: 'plain', imageRef: image, flavorRef: '42', networks: [{ uuid: networkId }] });
    assert.equal(server.status, 202, JSON.stringify(server.body));
    attachable = server.json.server.id;
    assert.equal((await waitForServer(cloud.url, outsider.token, attachable, ['ACTIVE', 'ERROR'])).status, 'ACTIVE');
  });

  after(async () => {
    await cloud.stop();
  });

  it("refuses a member of another project a chosen fixed IP at boot, before any server exists", async () => {
    const res = await boot(cloud.url, outsider.token, { name: 'squatter', imageRef: image, flavorRef: '42', networks: [{ uuid: networkId, fixed_ip: '10.80.0.1' }] });
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.match(JSON.stringify(res.body), /create_port:fixed_ips:ip_address/);
    const servers = await api(cloud.url, 'GET', '/compute/v2.1/servers?name=squatter', outsider.token);
    assert.deepEqual(servers.json.servers, []);
    const ports = await api(cloud.url, 'GET', `${V2}/ports?network_id=${networkId}&fixed_ips=ip_address%3D10.80.0.1`, admin);
    assert.deepEqual(ports.json.ports, []);
  });

  it('refuses it when attaching an interface too', async () => {
    const res = await api(cloud.url, 'POST', `/compute/v2.1/servers/${attachable}/os-interface`, outsider.token, {
      interfaceAttachment: { net_id: networkId, fixed_ips: [{ ip_address: '10.80.0.9' }] },
    });
    assert.equal(res.status, 403, JSON.stringify(res.body));
  });

  it("lets the network's owner (admin here) choose the address", async () => {
    const res = await boot(cloud.url, admin, { name: 'owner-pick', imageRef: image, flavorRef: '42', networks: [{ uuid: networkId, fixed_ip: '10.80.0.50' }] });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal((await waitForServer(cloud.url, admin, res.json.server.id, ['ACTIVE', 'ERROR'])).status, 'ACTIVE');
  });

  it('lets demo choose an address on its own network', async () => {
    const own = await api(cloud.url, 'POST', `${V2}/networks`, demo, { network: { name: 'demo-own' } });
    await api(cloud.url, 'POST', `${V2}/subnets`, demo, { subnet: { network_id: own.json.network.id, ip_version: 4, cidr: '10.81.0.0/24' } });
    const res = await boot(cloud.url, demo, { name: 'demo-pick', imageRef: image, flavorRef: '42', networks: [{ uuid: own.json.network.id, fixed_ip: '10.81.0.50' }] });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    assert.equal((await waitForServer(cloud.url, demo, res.json.server.id, ['ACTIVE', 'ERROR'])).status, 'ACTIVE');
  });
});
