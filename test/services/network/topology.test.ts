import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { assertNeutronError } from './helpers.js';

/** IP availability, availability zones, service providers and the auto-allocated topology. */
describe('networking: availability, zones, providers and auto-allocated topologies', () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  let demoProject: string;
  let adminProject: string;
  const net = (path: string) => `/networking/v2.0${path}`;

  before(async () => {
    cloud = await startTestCloud();
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    demoProject = (await api(cloud.url, 'POST', net('/networks'), demo, { network: { name: 'probe' } })).json.network.project_id;
    adminProject = (await api(cloud.url, 'POST', net('/networks'), admin, { network: { name: 'probe' } })).json.network.project_id;
  });

  after(async () => {
    await cloud?.stop();
  });

  it('counts addresses per network and subnet for an admin, and for nobody else', async () => {
    const network = await api(cloud.url, 'POST', net('/networks'), demo, { network: { name: 'counted' } });
    const id = network.json.network.id as string;
    const subnet = await api(cloud.url, 'POST', net('/subnets'), demo, { subnet: { network_id: id, cidr: '10.70.0.0/28' } });
    assert.equal(subnet.status, 201);
    await api(cloud.url, 'POST', net('/ports'), demo, { port: { network_id: id } });
    const shown = await api(cloud.url, 'GET', net(`/network-ip-availabilities/${id}`), admin);
    assert.equal(shown.status, 200, JSON.stringify(shown.json));
    const a = shown.json.network_ip_availability;
    // .2 to .14 (gateway .1): 13 addresses; the DHCP port and ours use two.
    assert.equal(a.total_ips, 13);
    assert.equal(a.used_ips, 2);
    assert.equal(a.subnet_ip_availability[0].cidr, '10.70.0.0/28');
    assert.equal(a.project_id, demoProject);
    const listed = await api(cloud.url, 'GET', net(`/network-ip-availabilities?network_id=${id}`), admin);
    assert.equal(listed.json.network_ip_availabilities.length, 1);
    assert.equal((await api(cloud.url, 'GET', net(`/network-ip-availabilities?network_id=${id}&ip_version=4`), admin)).json.network_ip_availabilities.length, 1);
    assert.equal((await api(cloud.url, 'GET', net(`/network-ip-availabilities?network_id=${id}&ip_version=6`), admin)).json.network_ip_availabilities.length, 0);
    assertNeutronError(await api(cloud.url, 'GET', net(`/network-ip-availabilities/${id}`), demo), 403, 'PolicyNotAuthorized');
    assertNeutronError(await api(cloud.url, 'GET', net('/network-ip-availabilities'), demo), 403, 'PolicyNotAuthorized');
  });

  it('names its availability zone and service provider', async () => {
    const zones = await api(cloud.url, 'GET', net('/availability_zones'), demo);
    assert.deepEqual(zones.json.availability_zones, [
      { name: 'nova', resource: 'network', state: 'available' },
      { name: 'nova', resource: 'router', state: 'available' },
    ]);
    const providers = await api(cloud.url, 'GET', net('/service-providers'), demo);
    assert.equal(providers.json.service_providers[0].service_type, 'L3_ROUTER_NAT');
  });

  it("makes a project's network, subnet and router from the default pool on public, once, and takes them down", async () => {
    // Nothing to build on yet: the check says what is missing.
    assertNeutronError(await api(cloud.url, 'GET', net(`/auto-allocated-topology/${demoProject}?fields=dry-run`), demo), 409, 'AutoAllocationFailure');
    const pub = await api(cloud.url, 'POST', net('/networks'), admin, { network: { name: 'public', 'router:external': true } });
    await api(cloud.url, 'POST', net('/subnets'), admin, { subnet: { network_id: pub.json.network.id, cidr: '198.51.100.0/24', enable_dhcp: false } });
    assertNeutronError(await api(cloud.url, 'GET', net(`/auto-allocated-topology/${demoProject}?fields=dry-run`), demo), 409, 'AutoAllocationFailure');
    const pool = await api(cloud.url, 'POST', net('/subnetpools'), admin, { subnetpool: { name: 'default', prefixes: ['10.71.0.0/22'], default_prefixlen: 26, shared: true, is_default: true } });
    assert.equal(pool.status, 201, JSON.stringify(pool.json));
    const check = await api(cloud.url, 'GET', net(`/auto-allocated-topology/${demoProject}?fields=dry-run`), demo);
    assert.equal(check.status, 200, JSON.stringify(check.json));
    assert.deepEqual(check.json.auto_allocated_topology, { id: 'dry-run=pass', project_id: demoProject, tenant_id: demoProject });
    const made = await api(cloud.url, 'GET', net(`/auto-allocated-topology/${demoProject}`), demo);
    assert.equal(made.status, 200, JSON.stringify(made.json));
    const networkId = made.json.auto_allocated_topology.id as string;
    const again = await api(cloud.url, 'GET', net(`/auto-allocated-topology/${demoProject}`), demo);
    assert.equal(again.json.auto_allocated_topology.id, networkId);
    const subnets = (await api(cloud.url, 'GET', net(`/subnets?network_id=${networkId}`), demo)).json.subnets;
    assert.equal(subnets.length, 1);
    assert.ok(subnets[0].subnetpool_id, 'from the default pool');
    const routers = (await api(cloud.url, 'GET', net('/routers?name=auto_allocated_router'), demo)).json.routers;
    assert.equal(routers.length, 1);
    assert.ok(routers[0].external_gateway_info?.network_id, 'gateway on public');
    // Another project's topology is not the member's to make or remove.
    assertNeutronError(await api(cloud.url, 'GET', net(`/auto-allocated-topology/${adminProject}`), demo), 403);
    assertNeutronError(await api(cloud.url, 'DELETE', net(`/auto-allocated-topology/${adminProject}`), demo), 403);
    assert.equal((await api(cloud.url, 'DELETE', net(`/auto-allocated-topology/${demoProject}`), demo)).status, 204);
    assert.equal((await api(cloud.url, 'GET', net(`/networks/${networkId}`), demo)).status, 404);
    assert.equal((await api(cloud.url, 'GET', net('/routers?name=auto_allocated_router'), demo)).json.routers.length, 0);
    // Nothing left to delete is not an error (Neutron's delete_auto_allocated_topology).
    assert.equal((await api(cloud.url, 'DELETE', net(`/auto-allocated-topology/${demoProject}`), demo)).status, 204);
  });
});
