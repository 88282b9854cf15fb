// Neutron routers and floating IPs over raw HTTP against the whole cloud in this process: the
// external network / tenant network / router / floating IP scenario, then every refusal the
// L3 API makes, each with Neutron's {"NeutronError": {type, message, detail}} body and status.
// Runs on SQLite, and on PostgreSQL when KUMO_TEST_DATABASE_URL names one (the unique index
// that settles concurrent associations must hold on both).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, TEST_DATABASE_URL, type ApiResponse, type TestCloud } from '../../helpers/cloud.js';
import { dropSchema } from '../../helpers/databases.js';

type Body = Record<string, any>;

const ENGINES = [
  { name: 'sqlite', skip: false as const },
  { name: 'postgres', skip: TEST_DATABASE_URL ? (false as const) : 'KUMO_TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)' },
];

for (const engine of ENGINES) {
  describe(`networking L3: routers and floating IPs on ${engine.name}`, { skip: engine.skip, timeout: 120_000 }, () => {
    let tc: TestCloud;
    let schema: string | undefined;
    let admin: string;
    let demo: string;
    let demoProject: string;
    let ext: Body;
    let extSubnet: Body;
    let int: Body;
    let intSubnet: Body;
    let router: Body;
    let vmPort: Body;

    before(async () => {
      schema = engine.name === 'postgres' ? `kumo_test_${randomBytes(6).toString('hex')}` : undefined;
      tc = await startTestCloud(schema ? { databaseUrl: TEST_DATABASE_URL as string, databaseSchema: schema } : {});
      admin = await tc.token('admin');
      demo = await tc.token('demo');
    });

    after(async () => {
      await tc?.stop();
      if (schema) await dropSchema(TEST_DATABASE_URL as string, schema);
    });

    /** A call to Neutron; whatever the answer, it is never a server error. */
    async function neutron(method: string, path: string, token: string, body?: unknown): Promise<ApiResponse> {
      const res = await api(tc.url, method, `/networking/v2.0${path}`, token, body);
      assert.ok(res.status < 500, `${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      return res;
    }

    async function ok(method: string, path: string, token: string, body: unknown, status: number): Promise<Body> {
      const res = await neutron(method, path, token, body);
      assert.equal(res.status, status, `${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      return res.json;
    }

    /** Insists on Neutron's error body with this status and type; returns the message. */
    async function refused(method: string, path: string, token: string, body: unknown, status: number, type: string): Promise<string> {
      const res = await neutron(method, path, token, body);
      assert.equal(res.status, status, `${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      const error = res.json.NeutronError;
      assert.ok(error, `no NeutronError in ${JSON.stringify(res.body)}`);
      assert.equal(error.type, type, `${method} ${path}: ${JSON.stringify(error)}`);
      assert.equal(typeof error.message, 'string');
      assert.ok(error.message.length > 0);
      assert.equal(error.detail, '');
      return error.message as string;
    }

    async function network(token: string, body: Body): Promise<Body> {
      return (await ok('POST', '/networks', token, { network: body }, 201)).network;
    }
    async function subnet(token: string, body: Body): Promise<Body> {
      return (await ok('POST', '/subnets', token, { subnet: { ip_version: 4, ...body } }, 201)).subnet;
    }
    async function port(token: string, body: Body): Promise<Body> {
      return (await ok('POST', '/ports', token, { port: body }, 201)).port;
    }
    async function portsOf(deviceId: string): Promise<Body[]> {
      return (await ok('GET', `/ports?device_id=${deviceId}`, admin, undefined, 200)).ports;
    }

    describe('the scenario', () => {
      it('admin creates the flat external network ext with 203.0.113.0/24', async () => {
        ext = await network(admin, { name: 'ext', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'physnet1' });
        assert.equal(ext['router:external'], true);
        assert.equal(ext['provider:network_type'], 'flat');
        extSubnet = await subnet(admin, {
          network_id: ext.id,
          name: 'ext-subnet',
          cidr: '203.0.113.0/24',
          gateway_ip: '203.0.113.1',
          enable_dhcp: false,
          allocation_pools: [{ start: '203.0.113.100', end: '203.0.113.200' }],
        });
      });

      it('demo creates int (vxlan by default) with 10.0.0.0/24', async () => {
        int = await network(demo, { name: 'int' });
        demoProject = int.project_id;
        const asAdmin = (await ok('GET', `/networks/${int.id}`, admin, undefined, 200)).network;
        assert.equal(asAdmin['provider:network_type'], 'vxlan');
        // Hand-picked addresses below lie outside the pools: IPAM hands out pool addresses at random.
        intSubnet = await subnet(demo, { network_id: int.id, name: 'int-subnet', cidr: '10.0.0.0/24', allocation_pools: [{ start: '10.0.0.100', end: '10.0.0.200' }] });
        assert.equal(intSubnet.gateway_ip, '10.0.0.1');
      });

      it('demo creates a router with its gateway on ext', async () => {
        router = (await ok('POST', '/routers', demo, { router: { name: 'r1', external_gateway_info: { network_id: ext.id } } }, 201)).router;
        assert.equal(router.name, 'r1');
        assert.equal(router.status, 'ACTIVE');
        assert.equal(router.admin_state_up, true);
        assert.equal(router.project_id, demoProject);
        assert.equal(router.tenant_id, demoProject);
        assert.deepEqual(router.routes, []);
        assert.equal(typeof router.revision_number, 'number');
        const gw = router.external_gateway_info;
        assert.equal(gw.network_id, ext.id);
        assert.equal(gw.enable_snat, true);
        assert.equal(gw.external_fixed_ips.length, 1);
        assert.equal(gw.external_fixed_ips[0].subnet_id, extSubnet.id);
        const last = Number(gw.external_fixed_ips[0].ip_address.split('.')[3]);
        assert.ok(last >= 100 && last <= 200, `gateway address ${gw.external_fixed_ips[0].ip_address} outside the pool`);

        const [gwPort, ...rest] = await portsOf(router.id);
        assert.equal(rest.length, 0);
        assert.equal(gwPort?.device_owner, 'network:router_gateway');
        assert.equal(gwPort?.network_id, ext.id);
        assert.equal(gwPort?.project_id, '', 'the gateway port belongs to no project, as Neutron leaves it');
        // ... so the project neither sees it nor pays quota for it.
        const demoPorts = (await ok('GET', `/ports?device_id=${router.id}`, demo, undefined, 200)).ports;
        assert.equal(demoPorts.length, 0);
      });

      it('adds an interface on int\'s subnet: the router takes the gateway address', async () => {
        const info = await ok('PUT', `/routers/${router.id}/add_router_interface`, demo, { subnet_id: intSubnet.id }, 200);
        assert.equal(info.id, router.id);
        assert.equal(info.subnet_id, intSubnet.id);
        assert.deepEqual(info.subnet_ids, [intSubnet.id]);
        assert.equal(info.network_id, int.id);
        assert.equal(info.tenant_id, demoProject);
        assert.equal(info.project_id, demoProject);
        const intf = (await ok('GET', `/ports/${info.port_id}`, demo, undefined, 200)).port;
        assert.equal(intf.device_owner, 'network:router_interface');
        assert.equal(intf.device_id, router.id);
        assert.deepEqual(intf.fixed_ips, [{ subnet_id: intSubnet.id, ip_address: '10.0.0.1' }]);
        // openstack router show lists interfaces from the ports with the router's device_id.
        const listed = (await ok('GET', `/ports?device_id=${router.id}&device_owner=network:router_interface`, demo, undefined, 200)).ports;
        assert.deepEqual(listed.map((p: Body) => p.id), [info.port_id]);
      });

      let fip: Body;
      it('creates a port on int and a floating IP from ext', async () => {
        vmPort = await port(demo, { network_id: int.id, name: 'vm' });
        fip = (await ok('POST', '/floatingips', demo, { floatingip: { floating_network_id: ext.id, description: 'web' } }, 201)).floatingip;
        assert.equal(fip.floating_network_id, ext.id);
        assert.equal(fip.status, 'DOWN');
        assert.equal(fip.port_id, null);
        assert.equal(fip.router_id, null);
        assert.equal(fip.fixed_ip_address, null);
        assert.equal(fip.port_details, null);
        assert.equal(fip.description, 'web');
        assert.equal(fip.project_id, demoProject);
        assert.match(fip.floating_ip_address, /^203\.0\.113\.\d+$/);
        const [fipPort] = await portsOf(fip.id);
        assert.equal(fipPort?.device_owner, 'network:floatingip');
        assert.equal(fipPort?.project_id, '');
        assert.deepEqual(fipPort?.fixed_ips, [{ subnet_id: extSubnet.id, ip_address: fip.floating_ip_address }]);
      });

      it('associates it with the port: router and fixed address resolved', async () => {
        const updated = (await ok('PUT', `/floatingips/${fip.id}`, demo, { floatingip: { port_id: vmPort.id } }, 200)).floatingip;
        assert.equal(updated.port_id, vmPort.id);
        assert.equal(updated.router_id, router.id);
        assert.equal(updated.fixed_ip_address, vmPort.fixed_ips[0].ip_address);
        assert.equal(updated.status, 'ACTIVE');
        assert.equal(updated.port_details.network_id, int.id);
        assert.equal(updated.port_details.mac_address, vmPort.mac_address);
        const shown = (await ok('GET', `/floatingips/${fip.id}`, demo, undefined, 200)).floatingip;
        assert.equal(shown.router_id, router.id);
        const byPort = (await ok('GET', `/floatingips?port_id=${vmPort.id}`, demo, undefined, 200)).floatingips;
        assert.deepEqual(byPort.map((f: Body) => f.id), [fip.id]);
        const fields = (await ok('GET', `/floatingips?fields=id&fields=floating_ip_address`, demo, undefined, 200)).floatingips;
        assert.deepEqual(Object.keys(fields[0]).sort(), ['floating_ip_address', 'id']);
      });

      it('disassociates it with port_id null', async () => {
        const updated = (await ok('PUT', `/floatingips/${fip.id}`, demo, { floatingip: { port_id: null } }, 200)).floatingip;
        assert.equal(updated.port_id, null);
        assert.equal(updated.router_id, null);
        assert.equal(updated.fixed_ip_address, null);
        assert.equal(updated.status, 'DOWN');
      });

      it('deletes it, and its port on ext goes with it', async () => {
        await ok('DELETE', `/floatingips/${fip.id}`, demo, undefined, 204);
        await refused('GET', `/floatingips/${fip.id}`, demo, undefined, 404, 'FloatingIPNotFound');
        assert.deepEqual(await portsOf(fip.id), []);
      });

      it('lists routers with filters, sorting and pagination', async () => {
        const second = (await ok('POST', '/routers', demo, { router: { name: 'r2' } }, 201)).router;
        assert.equal(second.external_gateway_info, null);
        const named = (await ok('GET', '/routers?name=r1', demo, undefined, 200)).routers;
        assert.deepEqual(named.map((r: Body) => r.id), [router.id]);
        const sorted = (await ok('GET', '/routers?sort_key=name&sort_dir=desc', demo, undefined, 200)).routers;
        assert.deepEqual(sorted.map((r: Body) => r.name), ['r2', 'r1']);
        const page = await ok('GET', '/routers?limit=1&sort_key=name&sort_dir=asc', demo, undefined, 200);
        assert.equal(page.routers.length, 1);
        assert.equal(page.routers[0].name, 'r1');
        assert.ok(page.routers_links.some((l: Body) => l.rel === 'next'));
        await ok('DELETE', `/routers/${second.id}`, demo, undefined, 204);
      });

      it('tags routers and floating IPs', async () => {
        await ok('PUT', `/routers/${router.id}/tags/blue`, demo, undefined, 201);
        const shown = (await ok('GET', `/routers/${router.id}`, demo, undefined, 200)).router;
        assert.deepEqual(shown.tags, ['blue']);
        const tagged = (await ok('GET', '/routers?tags=blue', demo, undefined, 200)).routers;
        assert.deepEqual(tagged.map((r: Body) => r.id), [router.id]);
        await ok('DELETE', `/routers/${router.id}/tags/blue`, demo, undefined, 204);
      });

      it('advertises only the L3 extensions it implements', async () => {
        const aliases = (await ok('GET', '/extensions', demo, undefined, 200)).extensions.map((e: Body) => e.alias);
        for (const alias of ['router', 'ext-gw-mode', 'extraroute', 'extraroute-atomic', 'fip-port-details']) assert.ok(aliases.includes(alias), alias);
        for (const alias of ['l3-ha', 'dvr']) assert.ok(aliases.includes(alias), alias);
        assert.ok(!aliases.includes('l3-flavors'));
      });
    });

    describe('gateways', () => {
      it('refuses a gateway on a network that is not external (400)', async () => {
        const message = await refused('PUT', `/routers/${router.id}`, demo, { router: { external_gateway_info: { network_id: int.id } } }, 400, 'BadRequest');
        assert.equal(message, `Bad router request: Network ${int.id} is not an external network.`);
        await refused('POST', '/routers', demo, { router: { name: 'bad', external_gateway_info: { network_id: int.id } } }, 400, 'BadRequest');
        // The refused create leaves no router behind.
        const names = (await ok('GET', '/routers', demo, undefined, 200)).routers.map((r: Body) => r.name);
        assert.ok(!names.includes('bad'));
      });

      it('refuses an unknown gateway network (404) and malformed gateway info (400)', async () => {
        await refused('PUT', `/routers/${router.id}`, demo, { router: { external_gateway_info: { network_id: '6f1a3b8e-0000-4000-8000-000000000000' } } }, 404, 'NetworkNotFound');
        // Neutron's dict_or_nodata validator: HTTPBadRequest, as its body validation raises it.
        await refused('PUT', `/routers/${router.id}`, demo, { router: { external_gateway_info: { enable_snat: false } } }, 400, 'HTTPBadRequest');
        await refused('PUT', `/routers/${router.id}`, demo, { router: { external_gateway_info: { network_id: 'nope' } } }, 400, 'HTTPBadRequest');
        await refused('PUT', `/routers/${router.id}`, demo, { router: { external_gateway_info: 'ext' } }, 400, 'HTTPBadRequest');
      });

      it('keeps enable_snat and external_fixed_ips for admins (403 for a project)', async () => {
        await refused('PUT', `/routers/${router.id}`, demo, { router: { external_gateway_info: { network_id: ext.id, enable_snat: false } } }, 403, 'PolicyNotAuthorized');
        await refused(
          'POST',
          '/routers',
          demo,
          { router: { external_gateway_info: { network_id: ext.id, external_fixed_ips: [{ subnet_id: extSubnet.id }] } } },
          403,
          'PolicyNotAuthorized',
        );
        const updated = (await ok('PUT', `/routers/${router.id}`, admin, { router: { external_gateway_info: { network_id: ext.id, enable_snat: false } } }, 200)).router;
        assert.equal(updated.external_gateway_info.enable_snat, false);
      });

      it('gives an admin the requested external address, but never the subnet gateway', async () => {
        const message = await refused(
          'POST',
          '/routers',
          admin,
          { router: { name: 'gw', external_gateway_info: { network_id: ext.id, external_fixed_ips: [{ ip_address: '203.0.113.1' }] } } },
          400,
          'BadRequest',
        );
        assert.match(message, /External IP 203\.0\.113\.1 is the same as the gateway IP/);
        const r = (
          await ok('POST', '/routers', admin, { router: { name: 'gw', external_gateway_info: { network_id: ext.id, external_fixed_ips: [{ ip_address: '203.0.113.210' }] } } }, 201)
        ).router;
        assert.deepEqual(r.external_gateway_info.external_fixed_ips, [{ subnet_id: extSubnet.id, ip_address: '203.0.113.210' }]);
        // Same network, another address: the gateway port is re-addressed in place.
        const gwPort = (await portsOf(r.id))[0];
        const moved = (
          await ok('PUT', `/routers/${r.id}`, admin, { router: { external_gateway_info: { network_id: ext.id, external_fixed_ips: [{ ip_address: '203.0.113.211' }] } } }, 200)
        ).router;
        assert.deepEqual(moved.external_gateway_info.external_fixed_ips, [{ subnet_id: extSubnet.id, ip_address: '203.0.113.211' }]);
        assert.equal((await portsOf(r.id))[0]?.id, gwPort?.id);
        // A project cannot see an admin's router.
        await refused('GET', `/routers/${r.id}`, demo, undefined, 404, 'RouterNotFound');
        assert.ok(!(await ok('GET', '/routers', demo, undefined, 200)).routers.some((x: Body) => x.id === r.id));
        await ok('DELETE', `/routers/${r.id}`, admin, undefined, 204);
        assert.deepEqual(await portsOf(r.id), []);
      });

      it('leaves no gateway port behind when the rest of the update is refused', async () => {
        const r = (await ok('POST', '/routers', demo, { router: { name: 'half' } }, 201)).router;
        await refused(
          'PUT',
          `/routers/${r.id}`,
          demo,
          { router: { external_gateway_info: { network_id: ext.id }, routes: [{ destination: '10.20.0.0/24', nexthop: '10.99.0.1' }] } },
          400,
          'InvalidRoutes',
        );
        assert.deepEqual(await portsOf(r.id), []);
        assert.equal((await ok('GET', `/routers/${r.id}`, demo, undefined, 200)).router.external_gateway_info, null);
        await ok('DELETE', `/routers/${r.id}`, demo, undefined, 204);
      });

      it('clears a gateway with {} or null, removing its port', async () => {
        const r = (await ok('POST', '/routers', demo, { router: { name: 'clear', external_gateway_info: { network_id: ext.id } } }, 201)).router;
        assert.equal((await portsOf(r.id)).length, 1);
        const cleared = (await ok('PUT', `/routers/${r.id}`, demo, { router: { external_gateway_info: {} } }, 200)).router;
        assert.equal(cleared.external_gateway_info, null);
        assert.deepEqual(await portsOf(r.id), []);
        await ok('PUT', `/routers/${r.id}`, demo, { router: { external_gateway_info: { network_id: ext.id } } }, 200);
        const again = (await ok('PUT', `/routers/${r.id}`, demo, { router: { external_gateway_info: null } }, 200)).router;
        assert.equal(again.external_gateway_info, null);
        assert.deepEqual(await portsOf(r.id), []);
        await ok('DELETE', `/routers/${r.id}`, demo, undefined, 204);
      });

      it('refuses to make ext non-external while gateways use it (409)', async () => {
        await refused('PUT', `/networks/${ext.id}`, admin, { network: { 'router:external': false } }, 409, 'ExternalNetworkInUse');
      });

      it('refuses routes in a create and unknown attributes (400)', async () => {
        await refused('POST', '/routers', demo, { router: { routes: [] } }, 400, 'HTTPBadRequest');
        await refused('POST', '/routers', demo, { router: { flavor_id: 'x' } }, 400, 'HTTPBadRequest');
        await refused('POST', '/routers', demo, { router: { project_id: 'someone-else' } }, 400, 'HTTPBadRequest');
        await refused('PUT', `/routers/${router.id}`, demo, { router: { project_id: 'someone-else' } }, 400, 'HTTPBadRequest');
        await refused('POST', '/routers', demo, { nope: {} }, 400, 'BadRequest');
      });
    });

    describe('interfaces', () => {
      it('refuses a subnet without a gateway, a second port on a subnet, and overlapping subnets (400)', async () => {
        const net = await network(demo, { name: 'nogw' });
        const noGateway = await subnet(demo, { network_id: net.id, cidr: '10.9.0.0/24', gateway_ip: null });
        let message = await refused('PUT', `/routers/${router.id}/add_router_interface`, demo, { subnet_id: noGateway.id }, 400, 'BadRequest');
        assert.equal(message, 'Bad router request: Subnet for router interface must have a gateway IP.');

        message = await refused('PUT', `/routers/${router.id}/add_router_interface`, demo, { subnet_id: intSubnet.id }, 400, 'BadRequest');
        assert.equal(message, `Bad router request: Router already has a port on subnet ${intSubnet.id}.`);

        const other = await network(demo, { name: 'overlap' });
        const overlapping = await subnet(demo, { network_id: other.id, cidr: '10.0.0.0/25' });
        message = await refused('PUT', `/routers/${router.id}/add_router_interface`, demo, { subnet_id: overlapping.id }, 400, 'BadRequest');
        assert.match(message, /Cidr 10\.0\.0\.0\/25 of subnet .* overlaps with cidr 10\.0\.0\.0\/24 of subnet/);

        // The gateway counts with its network's subnets.
        const near = await network(demo, { name: 'near-ext' });
        const nearSubnet = await subnet(demo, { network_id: near.id, cidr: '203.0.113.0/26' });
        await refused('PUT', `/routers/${router.id}/add_router_interface`, demo, { subnet_id: nearSubnet.id }, 400, 'BadRequest');
      });

      it('refuses a request naming neither or both, bad ids and unknown subnets', async () => {
        await refused('PUT', `/routers/${router.id}/add_router_interface`, demo, {}, 400, 'BadRequest');
        await refused('PUT', `/routers/${router.id}/add_router_interface`, demo, { subnet_id: intSubnet.id, port_id: vmPort.id }, 400, 'BadRequest');
        await refused('PUT', `/routers/${router.id}/add_router_interface`, demo, { subnet_id: 'x' }, 400, 'BadRequest');
        await refused('PUT', `/routers/${router.id}/add_router_interface`, demo, { subnet_id: '6f1a3b8e-0000-4000-8000-000000000000' }, 404, 'SubnetNotFound');
        await refused('PUT', `/routers/6f1a3b8e-0000-4000-8000-000000000000/add_router_interface`, demo, { subnet_id: intSubnet.id }, 404, 'RouterNotFound');
      });

      let int3: Body;
      let int3Subnet: Body;
      let routerPort: Body;
      it('attaches an existing port with one fixed IP; a bound or multi-address port is refused', async () => {
        int3 = await network(demo, { name: 'int3' });
        int3Subnet = await subnet(demo, { network_id: int3.id, cidr: '10.3.0.0/24', allocation_pools: [{ start: '10.3.0.100', end: '10.3.0.200' }] });
        await subnet(demo, { network_id: int3.id, cidr: '10.4.0.0/24' });
        const used = await port(demo, { network_id: int3.id, device_id: 'some-server', fixed_ips: [{ subnet_id: int3Subnet.id }] });
        await refused('PUT', `/routers/${router.id}/add_router_interface`, demo, { port_id: used.id }, 409, 'PortInUse');
        const two = await port(demo, { network_id: int3.id });
        assert.equal(two.fixed_ips.length, 1);
        const multi = await port(demo, { network_id: int3.id, fixed_ips: [{ ip_address: '10.3.0.20' }, { ip_address: '10.3.0.21' }] });
        const message = await refused('PUT', `/routers/${router.id}/add_router_interface`, demo, { port_id: multi.id }, 400, 'BadRequest');
        assert.match(message, /exactly one fixed IP/);

        routerPort = await port(demo, { network_id: int3.id, fixed_ips: [{ subnet_id: int3Subnet.id, ip_address: '10.3.0.254' }] });
        const info = await ok('PUT', `/routers/${router.id}/add_router_interface`, demo, { port_id: routerPort.id }, 200);
        assert.equal(info.port_id, routerPort.id);
        assert.equal(info.subnet_id, int3Subnet.id);
        assert.equal(info.network_id, int3.id);
        const attached = (await ok('GET', `/ports/${routerPort.id}`, demo, undefined, 200)).port;
        assert.equal(attached.device_owner, 'network:router_interface');
        assert.equal(attached.device_id, router.id);
        await refused('DELETE', `/ports/${routerPort.id}`, demo, undefined, 409, 'ServicePortInUse');
      });

      it('will not delete a router with interfaces (409 RouterInUse)', async () => {
        const message = await refused('DELETE', `/routers/${router.id}`, demo, undefined, 409, 'RouterInUse');
        assert.match(message, new RegExp(`Router ${router.id} has ports still attached`));
      });

      it('removes an interface by port; unknown ones are 404', async () => {
        await refused('PUT', `/routers/${router.id}/remove_router_interface`, demo, { port_id: vmPort.id }, 404, 'RouterInterfaceNotFound');
        await refused('PUT', `/routers/${router.id}/remove_router_interface`, demo, { port_id: routerPort.id, subnet_id: intSubnet.id }, 400, 'SubnetMismatchForPort');
        const info = await ok('PUT', `/routers/${router.id}/remove_router_interface`, demo, { port_id: routerPort.id }, 200);
        assert.equal(info.port_id, routerPort.id);
        assert.deepEqual(info.subnet_ids, [int3Subnet.id]);
        await refused('GET', `/ports/${routerPort.id}`, demo, undefined, 404, 'PortNotFound');
        const message = await refused('PUT', `/routers/${router.id}/remove_router_interface`, demo, { subnet_id: int3Subnet.id }, 404, 'RouterInterfaceNotFoundForSubnet');
        assert.equal(message, `Router ${router.id} has no interface on subnet ${int3Subnet.id}`);
      });
    });

    describe('static routes', () => {
      it('accepts a nexthop on an attached subnet and refuses others (400 InvalidRoutes)', async () => {
        const message = await refused(
          'PUT',
          `/routers/${router.id}`,
          demo,
          { router: { routes: [{ destination: '192.168.50.0/24', nexthop: '10.50.0.9' }] } },
          400,
          'InvalidRoutes',
        );
        assert.match(message, /the nexthop is not connected with router/);
        await refused('PUT', `/routers/${router.id}`, demo, { router: { routes: [{ destination: '192.168.50.0/24', nexthop: '10.0.0.1' }] } }, 400, 'InvalidRoutes');
        await refused('PUT', `/routers/${router.id}`, demo, { router: { routes: [{ destination: 'nope', nexthop: '10.0.0.9' }] } }, 400, 'InvalidInput');
        const updated = (await ok('PUT', `/routers/${router.id}`, demo, { router: { routes: [{ destination: '192.168.50.0/24', nexthop: '10.0.0.9' }] } }, 200)).router;
        assert.deepEqual(updated.routes, [{ destination: '192.168.50.0/24', nexthop: '10.0.0.9' }]);
        // A nexthop on the gateway's subnet is connected too.
        await ok('PUT', `/routers/${router.id}/add_extraroutes`, demo, { router: { routes: [{ destination: '198.51.100.0/24', nexthop: '203.0.113.254' }] } }, 200);
      });

      it('keeps an interface that routes need (409), adds and removes routes atomically', async () => {
        const message = await refused('PUT', `/routers/${router.id}/remove_router_interface`, demo, { subnet_id: intSubnet.id }, 409, 'RouterInterfaceInUseByRoute');
        assert.match(message, /required by one or more routes/);
        const added = (await ok('PUT', `/routers/${router.id}/add_extraroutes`, demo, { router: { routes: [{ destination: '192.168.51.0/24', nexthop: '10.0.0.9' }] } }, 200)).router;
        assert.equal(added.routes.length, 3);
        const removed = (
          await ok(
            'PUT',
            `/routers/${router.id}/remove_extraroutes`,
            demo,
            { router: { routes: added.routes.filter((r: Body) => r.nexthop === '10.0.0.9') } },
            200,
          )
        ).router;
        assert.deepEqual(removed.routes, [{ destination: '198.51.100.0/24', nexthop: '203.0.113.254' }]);
        // Clearing the gateway would leave that route's nexthop unreachable.
        await refused('PUT', `/routers/${router.id}`, demo, { router: { external_gateway_info: null } }, 400, 'InvalidRoutes');
        const cleared = (await ok('PUT', `/routers/${router.id}`, demo, { router: { routes: [] } }, 200)).router;
        assert.deepEqual(cleared.routes, []);
      });
    });

    describe('floating IPs', () => {
      it('refuses a network that is not external (400) or unknown (404), and a missing one (400)', async () => {
        const message = await refused('POST', '/floatingips', demo, { floatingip: { floating_network_id: int.id } }, 400, 'BadRequest');
        assert.equal(message, `Bad floatingip request: Network ${int.id} is not a valid external network.`);
        await refused('POST', '/floatingips', demo, { floatingip: { floating_network_id: '6f1a3b8e-0000-4000-8000-000000000000' } }, 404, 'NetworkNotFound');
        await refused('POST', '/floatingips', demo, { floatingip: {} }, 400, 'HTTPBadRequest');
        await refused('POST', '/floatingips', demo, { floatingip: { floating_network_id: ext.id, fixed_ip_address: '10.0.0.5' } }, 400, 'BadRequest');
      });

      it('lets only admins choose the address', async () => {
        await refused('POST', '/floatingips', demo, { floatingip: { floating_network_id: ext.id, floating_ip_address: '203.0.113.220' } }, 403, 'PolicyNotAuthorized');
        const fip = (await ok('POST', '/floatingips', admin, { floatingip: { floating_network_id: ext.id, floating_ip_address: '203.0.113.220', subnet_id: extSubnet.id } }, 201))
          .floatingip;
        assert.equal(fip.floating_ip_address, '203.0.113.220');
        await refused('POST', '/floatingips', admin, { floatingip: { floating_network_id: ext.id, floating_ip_address: '203.0.113.220' } }, 409, 'IpAddressAlreadyAllocated');
        await refused('GET', `/floatingips/${fip.id}`, demo, undefined, 404, 'FloatingIPNotFound');
        await ok('DELETE', `/floatingips/${fip.id}`, admin, undefined, 204);
      });

      it('finds no router for a subnet without an interface (404 ExternalGatewayForFloatingIPNotFound)', async () => {
        const lonely = await network(demo, { name: 'lonely' });
        const lonelySubnet = await subnet(demo, { network_id: lonely.id, cidr: '10.7.0.0/24' });
        const p = await port(demo, { network_id: lonely.id });
        const message = await refused(
          'POST',
          '/floatingips',
          demo,
          { floatingip: { floating_network_id: ext.id, port_id: p.id } },
          404,
          'ExternalGatewayForFloatingIPNotFound',
        );
        assert.equal(message, `External network ${ext.id} is not reachable from subnet ${lonelySubnet.id}.  Therefore, cannot associate Port ${p.id} with a Floating IP.`);
        // The refused create took no address.
        const fipPorts = (await ok('GET', `/ports?device_owner=network:floatingip`, admin, undefined, 200)).ports;
        assert.equal(fipPorts.length, 0);
      });

      let fip: Body;
      it('associates at create time, and one fixed IP takes one floating IP (409)', async () => {
        fip = (await ok('POST', '/floatingips', demo, { floatingip: { floating_network_id: ext.id, port_id: vmPort.id } }, 201)).floatingip;
        assert.equal(fip.status, 'ACTIVE');
        assert.equal(fip.router_id, router.id);
        assert.equal(fip.fixed_ip_address, vmPort.fixed_ips[0].ip_address);
        const message = await refused(
          'POST',
          '/floatingips',
          demo,
          { floatingip: { floating_network_id: ext.id, port_id: vmPort.id } },
          409,
          'FloatingIPPortAlreadyAssociated',
        );
        assert.match(message, /as that fixed IP already has a floating IP on external network/);
        const other = (await ok('POST', '/floatingips', demo, { floatingip: { floating_network_id: ext.id } }, 201)).floatingip;
        await refused('PUT', `/floatingips/${other.id}`, demo, { floatingip: { port_id: vmPort.id } }, 409, 'FloatingIPPortAlreadyAssociated');
        await refused('PUT', `/floatingips/${other.id}`, demo, { floatingip: { fixed_ip_address: '10.0.0.5' } }, 400, 'BadRequest');
        await refused('PUT', `/floatingips/${other.id}`, demo, { floatingip: { floating_network_id: int.id } }, 400, 'HTTPBadRequest');
        // Re-associating the same one to the same port is no conflict.
        const same = (await ok('PUT', `/floatingips/${fip.id}`, demo, { floatingip: { port_id: vmPort.id, description: 'again' } }, 200)).floatingip;
        assert.equal(same.router_id, router.id);
        await ok('DELETE', `/floatingips/${other.id}`, demo, undefined, 204);
      });

      it('asks for fixed_ip_address when the port has several IPv4 addresses', async () => {
        const multi = await port(demo, { network_id: int.id, fixed_ips: [{ ip_address: '10.0.0.30' }, { ip_address: '10.0.0.31' }] });
        const f = (await ok('POST', '/floatingips', demo, { floatingip: { floating_network_id: ext.id } }, 201)).floatingip;
        const message = await refused('PUT', `/floatingips/${f.id}`, demo, { floatingip: { port_id: multi.id } }, 400, 'BadRequest');
        assert.match(message, /has multiple fixed IPv4 addresses/);
        await refused('PUT', `/floatingips/${f.id}`, demo, { floatingip: { port_id: multi.id, fixed_ip_address: '10.0.0.99' } }, 400, 'BadRequest');
        const associated = (await ok('PUT', `/floatingips/${f.id}`, demo, { floatingip: { port_id: multi.id, fixed_ip_address: '10.0.0.31' } }, 200)).floatingip;
        assert.equal(associated.fixed_ip_address, '10.0.0.31');
        // The associated address cannot be taken off the port.
        await refused('PUT', `/ports/${multi.id}`, demo, { port: { fixed_ips: [{ ip_address: '10.0.0.30' }] } }, 400, 'BadRequest');
        // Deleting the port releases the floating IP instead of failing.
        await ok('DELETE', `/ports/${multi.id}`, demo, undefined, 204);
        const released = (await ok('GET', `/floatingips/${f.id}`, demo, undefined, 200)).floatingip;
        assert.equal(released.port_id, null);
        assert.equal(released.status, 'DOWN');
        await ok('DELETE', `/floatingips/${f.id}`, demo, undefined, 204);
      });

      it('refuses to associate DHCP or another project\'s ports', async () => {
        const f = (await ok('POST', '/floatingips', demo, { floatingip: { floating_network_id: ext.id } }, 201)).floatingip;
        const dhcp = (await ok('GET', `/ports?network_id=${int.id}&device_owner=network:dhcp`, demo, undefined, 200)).ports[0];
        assert.ok(dhcp);
        await refused('PUT', `/floatingips/${f.id}`, demo, { floatingip: { port_id: dhcp.id } }, 400, 'BadRequest');
        const adminNet = await network(admin, { name: 'admin-net' });
        await subnet(admin, { network_id: adminNet.id, cidr: '10.8.0.0/24' });
        const adminPort = await port(admin, { network_id: adminNet.id });
        await refused('PUT', `/floatingips/${f.id}`, demo, { floatingip: { port_id: adminPort.id } }, 404, 'PortNotFound');
        await ok('DELETE', `/floatingips/${f.id}`, demo, undefined, 204);
      });

      it('keeps the interface and the gateway the floating IP uses (409)', async () => {
        const message = await refused('PUT', `/routers/${router.id}/remove_router_interface`, demo, { subnet_id: intSubnet.id }, 409, 'RouterInterfaceInUseByFloatingIP');
        assert.equal(message, `Router interface for subnet ${intSubnet.id} on router ${router.id} cannot be deleted, as it is required by one or more floating IPs.`);
        const gw = await refused('PUT', `/routers/${router.id}`, demo, { router: { external_gateway_info: {} } }, 409, 'RouterExternalGatewayInUseByFloatingIp');
        assert.match(gw, /since a gateway to external network .* is required by one or more floating IPs/);
        const [fipPort] = await portsOf(fip.id);
        assert.ok(fipPort);
        await refused('DELETE', `/ports/${fipPort.id}`, admin, undefined, 409, 'ServicePortInUse');
        const [gwPort] = (await portsOf(router.id)).filter((p) => p.device_owner === 'network:router_gateway');
        assert.ok(gwPort);
        await refused('DELETE', `/ports/${gwPort.id}`, admin, undefined, 409, 'ServicePortInUse');
      });

      it('lets only one of concurrent associations of one fixed IP win, never with a 500', async () => {
        const target = await port(demo, { network_id: int.id, name: 'contended' });
        const created = await Promise.all(
          Array.from({ length: 6 }, () => neutron('POST', '/floatingips', demo, { floatingip: { floating_network_id: ext.id, port_id: target.id } })),
        );
        assert.deepEqual(created.map((r) => r.status).sort(), [201, 409, 409, 409, 409, 409]);
        const spare = await Promise.all([1, 2, 3].map(() => ok('POST', '/floatingips', demo, { floatingip: { floating_network_id: ext.id } }, 201)));
        const moved = await Promise.all(spare.map((f) => neutron('PUT', `/floatingips/${f.floatingip.id}`, demo, { floatingip: { port_id: vmPort.id } })));
        // vmPort's address already has `fip`: all three are refused.
        assert.deepEqual(moved.map((r) => r.status), [409, 409, 409]);
        const winner = created.find((r) => r.status === 201)?.json.floatingip;
        await ok('DELETE', `/floatingips/${winner.id}`, demo, undefined, 204);
        const raced = await Promise.all(spare.map((f) => neutron('PUT', `/floatingips/${f.floatingip.id}`, demo, { floatingip: { port_id: target.id } })));
        assert.deepEqual(raced.map((r) => r.status).sort(), [200, 409, 409]);
        for (const f of spare) await ok('DELETE', `/floatingips/${f.floatingip.id}`, demo, undefined, 204);
        await ok('DELETE', `/ports/${target.id}`, demo, undefined, 204);
        // Nothing leaked on ext: the only floating IP port left is `fip`'s.
        const fipPorts = (await ok('GET', '/ports?device_owner=network:floatingip', admin, undefined, 200)).ports;
        assert.deepEqual(fipPorts.map((p: Body) => p.device_id), [fip.id]);
      });

      it('counts floating IPs and routers against the quota', async () => {
        await ok('PUT', `/quotas/${demoProject}`, admin, { quota: { floatingip: 1, router: 1 } }, 200);
        await refused('POST', '/floatingips', demo, { floatingip: { floating_network_id: ext.id } }, 409, 'OverQuota');
        await refused('POST', '/routers', demo, { router: { name: 'too-many' } }, 409, 'OverQuota');
        const usage = (await ok('GET', `/quotas/${demoProject}/details`, demo, undefined, 200)).quota;
        assert.equal(usage.floatingip.used, 1);
        assert.equal(usage.router.used, 1);
        await ok('DELETE', `/quotas/${demoProject}`, admin, undefined, 204);
      });
    });

    describe('teardown', () => {
      it('takes everything apart in order, leaving no port behind', async () => {
        const fips = (await ok('GET', '/floatingips', demo, undefined, 200)).floatingips;
        for (const f of fips) await ok('DELETE', `/floatingips/${f.id}`, demo, undefined, 204);
        await ok('PUT', `/routers/${router.id}/remove_router_interface`, demo, { subnet_id: intSubnet.id }, 200);
        assert.deepEqual((await portsOf(router.id)).map((p) => p.device_owner), ['network:router_gateway']);
        await ok('DELETE', `/routers/${router.id}`, demo, undefined, 204);
        assert.deepEqual(await portsOf(router.id), []);
        await refused('GET', `/routers/${router.id}`, demo, undefined, 404, 'RouterNotFound');
        await ok('DELETE', `/ports/${vmPort.id}`, demo, undefined, 204);
        await ok('DELETE', `/networks/${int.id}`, demo, undefined, 204);
        // Without gateways, ext may stop being external, and become so again.
        await ok('PUT', `/networks/${ext.id}`, admin, { network: { 'router:external': false } }, 200);
        await ok('PUT', `/networks/${ext.id}`, admin, { network: { 'router:external': true } }, 200);
        // An unassociated floating IP does not keep its network: it goes with it, as in Neutron.
        const spare = (await ok('POST', '/floatingips', demo, { floatingip: { floating_network_id: ext.id } }, 201)).floatingip;
        await ok('DELETE', `/networks/${ext.id}`, admin, undefined, 204);
        await refused('GET', `/floatingips/${spare.id}`, demo, undefined, 404, 'FloatingIPNotFound');
        assert.deepEqual(await portsOf(spare.id), []);
      });
    });
  });
}
