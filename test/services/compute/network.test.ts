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

  it("words the network's refusals as Nova does: on boot a port in use 409, an unknown network or port 400, a fixed IP in use 400; on attach 404s and 409s", async () => {
    const first = await boot(cloud.url, demo, { name: 'holder', imageRef: image, flavorRef: '42', networks: [{ uuid: networkId, fixed_ip: '10.20.0.50' }] });
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const holder = first.json.server.id as string;
    await waitForServer(cloud.url, demo, holder, ['ACTIVE']);
    const [port] = await portsOf(holder);
    const inUse = await boot(cloud.url, demo, { name: 'taker', imageRef: image, flavorRef: '42', networks: [{ port: port?.id }] });
    assert.equal(inUse.status, 409, JSON.stringify(inUse.body));
    assert.equal(inUse.json.conflictingRequest.message, `Port ${port?.id} is still in use.`);
    const missing = '3c3a1bd4-4a1c-4b8f-9f5b-6a0d3e9a1111';
    const unknown = await boot(cloud.url, demo, { name: 'nowhere', imageRef: image, flavorRef: '42', networks: [{ uuid: missing }] });
    assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
    assert.equal(unknown.json.badRequest.message, `Network ${missing} could not be found.`);
    // Nova asks Neutron for ports holding the address before it accepts the request.
    const taken = await boot(cloud.url, demo, { name: 'same-ip', imageRef: image, flavorRef: '42', networks: [{ uuid: networkId, fixed_ip: '10.20.0.50' }] });
    assert.equal(taken.status, 400, JSON.stringify(taken.body));
    assert.equal(taken.json.badRequest.message, `Fixed IP address 10.20.0.50 is already in use on instance ${holder}.`);
    const ghost = '8d7c2a1e-5b3f-4c6d-9e8f-0a1b2c3d4e5f';
    const noPort = await boot(cloud.url, demo, { name: 'ghost-port', imageRef: image, flavorRef: '42', networks: [{ port: ghost }] });
    assert.equal(noPort.status, 400, JSON.stringify(noPort.body));
    assert.equal(noPort.json.badRequest.message, `Port id ${ghost} could not be found.`);

    // os-interface words the same refusals otherwise (Nova's attach_interfaces): 404s and 409s.
    const other = await boot(cloud.url, demo, { name: 'attacher', imageRef: image, flavorRef: '42', networks: 'none' });
    const attacher = other.json.server.id as string;
    await waitForServer(cloud.url, demo, attacher, ['ACTIVE']);
    const attach = (body: Record<string, unknown>) => nova(cloud.url, 'POST', `/servers/${attacher}/os-interface`, demo, { interfaceAttachment: body });
    const noNetwork = await attach({ net_id: missing });
    assert.equal(noNetwork.status, 404, JSON.stringify(noNetwork.body));
    assert.equal(noNetwork.json.itemNotFound.message, `Network ${missing} could not be found.`);
    const noSuchPort = await attach({ port_id: ghost });
    assert.equal(noSuchPort.status, 404, JSON.stringify(noSuchPort.body));
    assert.equal(noSuchPort.json.itemNotFound.message, `Port id ${ghost} could not be found.`);
    const busyPort = await attach({ port_id: port?.id });
    assert.equal(busyPort.status, 409, JSON.stringify(busyPort.body));
    assert.equal(busyPort.json.conflictingRequest.message, `Port ${port?.id} is still in use.`);
    const busyIp = await attach({ net_id: networkId, fixed_ips: [{ ip_address: '10.20.0.50' }] });
    assert.equal(busyIp.status, 409, JSON.stringify(busyIp.body));
    assert.equal(busyIp.json.conflictingRequest.message, `Fixed IP address 10.20.0.50 is already in use on instance ${holder}.`);
    assert.deepEqual(await portsOf(attacher), [], 'nothing was attached');
    assert.equal((await nova(cloud.url, 'DELETE', `/servers/${attacher}`, demo)).status, 204);
    assert.equal((await nova(cloud.url, 'DELETE', `/servers/${holder}`, demo)).status, 204);
    await waitForServer(cloud.url, demo, holder, ['DELETED']);
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
