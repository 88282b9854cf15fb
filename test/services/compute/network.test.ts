// Servers and Neutron ports: a boot on a network gets a port bound to its host, shown in the
// server's addresses, and deleted with the server; a port the user passed in is kept and
// unbound; without `networks` the project's only network is used.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { activeImage, boot, nova, waitForServer } from './helpers.js';

const V2 = '/networking/v2.0';

describe('servers on Neutron networks', () => {
  let cloud: TestCloud;
  let demo: string;
  let admin: string;
  let image: string;
  let networkId: string;

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake' } });
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    image = await activeImage(cloud.url, admin);
    const network = await api(cloud.url, 'POST', `${V2}/networks`, demo, { network: { name: 'int' } });
    assert.equal(network.status, 201);
    networkId = network.json.network.id;
    const subnet = await api(cloud.url, 'POST', `${V2}/subnets`, demo, { subnet: { network_id: networkId, cidr: '10.20.0.0/24', ip_version: 4 } });
    assert.equal(subnet.status, 201);
  });
  after(async () => cloud?.stop());

  const portsOf = async (serverId: string) => (await api(cloud.url, 'GET', `${V2}/ports?device_id=${serverId}`, admin)).json.ports as Array<Record<string, any>>;

  it('binds a port on the network to the host and deletes it with the server', async () => {
    const created = await boot(cloud.url, demo, { name: 'on-int', imageRef: image, flavorRef: '42', networks: [{ uuid: networkId }] });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id = created.json.server.id as string;
    const server = await waitForServer(cloud.url, demo, id, ['ACTIVE', 'ERROR']);
    assert.equal(server.status, 'ACTIVE', JSON.stringify(server.fault));
    const ports = await portsOf(id);
    assert.equal(ports.length, 1);
    const port = ports[0] as Record<string, any>;
    assert.equal(port.network_id, networkId);
    assert.equal(port.device_owner, 'compute:nova');
    assert.equal(port['binding:host_id'], cloud.cloud.config.hostName);
    assert.equal(port.status, 'ACTIVE');
    const address = port.fixed_ips[0].ip_address as string;
    assert.match(address, /^10\.20\.0\.\d+$/);
    assert.deepEqual(server.addresses.int, [{ version: 4, addr: address, 'OS-EXT-IPS:type': 'fixed', 'OS-EXT-IPS-MAC:mac_addr': port.mac_address }]);
    const ips = await nova(cloud.url, 'GET', `/servers/${id}/ips/int`, demo);
    assert.equal(ips.json.int[0].addr, address);
    const byIp = await nova(cloud.url, 'GET', `/servers?ip=${encodeURIComponent(address.replace(/\./g, '\\.'))}$`, demo);
    assert.deepEqual(byIp.json.servers.map((s: { id: string }) => s.id), [id]);

    assert.equal((await nova(cloud.url, 'DELETE', `/servers/${id}`, demo)).status, 204);
    await waitForServer(cloud.url, demo, id, ['DELETED']);
    assert.deepEqual(await portsOf(id), [], 'the port went with the server');
  });

  it('keeps a port the user passed in, unbound, after the server is gone', async () => {
    const made = await api(cloud.url, 'POST', `${V2}/ports`, demo, { port: { network_id: networkId, name: 'mine' } });
    assert.equal(made.status, 201);
    const portId = made.json.port.id as string;
    const created = await boot(cloud.url, demo, { name: 'with-port', imageRef: image, flavorRef: '42', networks: [{ port: portId }] });
    const id = created.json.server.id as string;
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    const bound = (await api(cloud.url, 'GET', `${V2}/ports/${portId}`, admin)).json.port;
    assert.equal(bound.device_id, id);
    assert.equal(bound['binding:host_id'], cloud.cloud.config.hostName);
    const taken = await boot(cloud.url, demo, { name: 'thief', imageRef: image, flavorRef: '42', networks: [{ port: portId }] });
    assert.equal(taken.status, 409, 'a port in use cannot be given to a second server');
    assert.equal((await nova(cloud.url, 'DELETE', `/servers/${id}`, demo)).status, 204);
    await waitForServer(cloud.url, demo, id, ['DELETED']);
    const kept = await api(cloud.url, 'GET', `${V2}/ports/${portId}`, admin);
    assert.equal(kept.status, 200, 'the port is still there');
    assert.equal(kept.json.port.device_id, '');
    assert.equal(kept.json.port['binding:host_id'], '');
  });

  it("uses the project's only network when none is asked for, and refuses to guess between two", async () => {
    const created = await boot(cloud.url, demo, { name: 'auto', imageRef: image, flavorRef: '42' });
    assert.equal(created.status, 202);
    const id = created.json.server.id as string;
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    assert.equal((await portsOf(id))[0]?.network_id, networkId);
    const second = await api(cloud.url, 'POST', `${V2}/networks`, demo, { network: { name: 'int2' } });
    assert.equal(second.status, 201);
    const ambiguous = await boot(cloud.url, demo, { name: 'which', imageRef: image, flavorRef: '42' });
    assert.equal(ambiguous.status, 409);
    assert.match(ambiguous.json.conflictingRequest.message, /Multiple possible networks found/);
    const none = await boot(cloud.url, demo, { name: 'none', imageRef: image, flavorRef: '42', networks: 'none' });
    assert.equal(none.status, 202);
    await waitForServer(cloud.url, demo, none.json.server.id, ['ACTIVE']);
    assert.deepEqual(await portsOf(none.json.server.id), []);
  });

  it('attaches and detaches interfaces on a running server', async () => {
    const created = await boot(cloud.url, demo, { name: 'hotplug', imageRef: image, flavorRef: '42', networks: 'none' });
    const id = created.json.server.id as string;
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    const attached = await nova(cloud.url, 'POST', `/servers/${id}/os-interface`, demo, { interfaceAttachment: { net_id: networkId } });
    assert.equal(attached.status, 200, JSON.stringify(attached.body));
    const portId = attached.json.interfaceAttachment.port_id as string;
    assert.equal(attached.json.interfaceAttachment.net_id, networkId);
    assert.match(attached.json.interfaceAttachment.fixed_ips[0].ip_address, /^10\.20\.0\./);
    const listed = await nova(cloud.url, 'GET', `/servers/${id}/os-interface`, demo);
    assert.deepEqual(listed.json.interfaceAttachments.map((a: { port_id: string }) => a.port_id), [portId]);
    assert.equal((await nova(cloud.url, 'POST', `/servers/${id}/os-interface`, demo, { interfaceAttachment: { net_id: 'nope' } })).status, 400);
    assert.equal((await nova(cloud.url, 'POST', `/servers/${id}/os-interface`, demo, { interfaceAttachment: {} })).status, 400);
    assert.equal((await nova(cloud.url, 'DELETE', `/servers/${id}/os-interface/${portId}`, demo)).status, 202);
    assert.deepEqual(await portsOf(id), [], 'a port compute made is deleted on detach');
    assert.equal((await nova(cloud.url, 'DELETE', `/servers/${id}/os-interface/${portId}`, demo)).status, 404);
  });
});
