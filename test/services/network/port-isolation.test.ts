// What a member of one project may do with ports against another project, over raw HTTP as
// the two projects would: forged router ports (Neutron's DeviceIDNotOwnedByTenant), the
// field-level port rules of Neutron's default policy on a shared network (fixed IPs, port
// security, allowed address pairs, MAC, binding), the cap on fixed IPs per port, and an
// operator's network.yaml and KUMO_NETWORK_MAX_FIXED_IPS_PER_PORT changing the last two.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, TEST_DATABASE_URL, type ApiResponse, type TestCloud } from '../../helpers/cloud.js';
import { dropSchema } from '../../helpers/databases.js';
import { projectId, projectWithMember, type ProjectUser } from '../image/helpers.js';
import { assertNeutronError } from './helpers.js';

type Body = Record<string, any>;

const ENGINES = [
  { name: 'sqlite', skip: false as const },
  { name: 'postgres', skip: TEST_DATABASE_URL ? (false as const) : 'KUMO_TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)' },
];

const TOO_MANY_IPS = 'Invalid input for operation: Exceeded maximum amount of fixed ips per port.';

/** Neutron calls for one cloud: every answer is checked to be no server error. */
function neutronOf(tc: () => TestCloud) {
  const call = async (method: string, path: string, token: string, body?: unknown): Promise<ApiResponse> => {
    const res = await api(tc().url, method, `/networking/v2.0${path}`, token, body);
    assert.ok(res.status < 500, `${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    return res;
  };
  const ok = async (method: string, path: string, token: string, body: unknown, status: number): Promise<Body> => {
    const res = await call(method, path, token, body);
    assert.equal(res.status, status, `${method} ${path} ${JSON.stringify(body)}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    return res.json;
  };
  return {
    call,
    ok,
    network: async (token: string, body: Body) => (await ok('POST', '/networks', token, { network: body }, 201)).network as Body,
    subnet: async (token: string, body: Body) => (await ok('POST', '/subnets', token, { subnet: { ip_version: 4, ...body } }, 201)).subnet as Body,
    port: async (token: string, body: Body) => (await ok('POST', '/ports', token, { port: body }, 201)).port as Body,
    updatePort: async (token: string, id: string, body: Body) => (await ok('PUT', `/ports/${id}`, token, { port: body }, 200)).port as Body,
    router: async (token: string, body: Body) => (await ok('POST', '/routers', token, { router: body }, 201)).router as Body,
  };
}

for (const engine of ENGINES) {
  describe(`networking: ports across projects on ${engine.name}`, { skip: engine.skip, timeout: 120_000 }, () => {
    let tc: TestCloud;
    let schema: string | undefined;
    let admin: string;
    /** Project A: demo, a plain member; it owns the router and the shared network. */
    let demo: string;
    let demoProject: string;
    /** Project B: a member of another project. */
    let outsider: ProjectUser;
    const neutron = neutronOf(() => tc);

    before(async () => {
      schema = engine.name === 'postgres' ? `kumo_test_${randomBytes(6).toString('hex')}` : undefined;
      tc = await startTestCloud(schema ? { databaseUrl: TEST_DATABASE_URL as string, databaseSchema: schema } : {});
      admin = await tc.token('admin');
      demo = await tc.token('demo');
      demoProject = await projectId(tc.url, admin, 'demo');
      outsider = await projectWithMember(tc.url, admin, 'port-outsider');
    });

    after(async () => {
      await tc?.stop();
      if (schema) await dropSchema(TEST_DATABASE_URL as string, schema);
    });

    describe('forged router ports (issue 13, item 1)', () => {
      let router: Body;
      let ownNet: Body;

      before(async () => {
        router = await neutron.router(demo, { name: 'a-router' });
        ownNet = await neutron.network(outsider.token, { name: 'b-net' });
        await neutron.subnet(outsider.token, { network_id: ownNet.id, cidr: '10.131.0.0/24' });
      });

      async function assertNotOwned(res: ApiResponse, deviceId: string, what: string): Promise<void> {
        assertNeutronError(res, 409, 'DeviceIDNotOwnedByTenant', what);
        assert.equal(res.json.NeutronError.message, `The following device_id ${deviceId} is not owned by your tenant or matches another tenants router.`);
      }

      async function routerLegs(routerId: string): Promise<Body[]> {
        const ports = (await neutron.ok('GET', `/ports?device_id=${routerId}`, admin, undefined, 200)).ports as Body[];
        return ports.filter((p) => (p.device_owner as string).startsWith('network:'));
      }

      it("refuses a port naming another project's router on create, with any network: owner", async () => {
        for (const owner of ['network:router_interface', 'network:router_gateway', 'network:router_interface_distributed', 'network:ha_router_replicated_interface', 'network:dhcp']) {
          const res = await neutron.call('POST', '/ports', outsider.token, { port: { network_id: ownNet.id, device_owner: owner, device_id: router.id } });
          await assertNotOwned(res, router.id as string, owner);
        }
        // Bulk create takes the same path, all or nothing.
        const bulk = await neutron.call('POST', '/ports', outsider.token, {
          ports: [{ network_id: ownNet.id }, { network_id: ownNet.id, device_owner: 'network:router_interface', device_id: router.id }],
        });
        await assertNotOwned(bulk, router.id as string, 'bulk');
        assert.deepEqual(await routerLegs(router.id as string), []);
      });

      it('refuses an update that makes a port a leg of that router, by device_id or by device_owner', async () => {
        const loose = await neutron.port(outsider.token, { network_id: ownNet.id, device_owner: 'network:router_interface' });
        await assertNotOwned(await neutron.call('PUT', `/ports/${loose.id}`, outsider.token, { port: { device_id: router.id } }), router.id as string, 'device_id');
        // A compute-owned port may carry any device_id; turning it into a router port may not.
        const disguised = await neutron.port(outsider.token, { network_id: ownNet.id, device_owner: 'compute:nova', device_id: router.id });
        await assertNotOwned(
          await neutron.call('PUT', `/ports/${disguised.id}`, outsider.token, { port: { device_owner: 'network:router_interface' } }),
          router.id as string,
          'device_owner',
        );
        await assertNotOwned(
          await neutron.call('PUT', `/ports/${loose.id}`, outsider.token, { port: { device_owner: 'network:router_gateway', device_id: router.id } }),
          router.id as string,
          'both',
        );
        assert.deepEqual(await routerLegs(router.id as string), []);
        await neutron.ok('DELETE', `/ports/${loose.id}`, outsider.token, undefined, 204);
        await neutron.ok('DELETE', `/ports/${disguised.id}`, outsider.token, undefined, 204);
      });

      it("lets a project name its own router, and an admin anyone's; the router's owner can still delete it", async () => {
        const own = await neutron.router(outsider.token, { name: 'b-router' });
        const leg = await neutron.port(outsider.token, { network_id: ownNet.id, device_owner: 'network:router_interface', device_id: own.id });
        assert.equal(leg.device_id, own.id);
        const renamed = await neutron.updatePort(outsider.token, leg.id as string, { device_id: own.id, name: 'leg' });
        assert.equal(renamed.name, 'leg');
        // Neutron's check is for non-admins only: an admin may wire any router.
        const adminLeg = await neutron.port(admin, { network_id: ownNet.id, device_owner: 'network:router_interface', device_id: router.id });
        await neutron.ok('DELETE', `/routers/${router.id}`, demo, undefined, 409);
        await neutron.ok('PUT', `/ports/${adminLeg.id}`, admin, { port: { device_id: '', device_owner: '' } }, 200);
        await neutron.ok('DELETE', `/ports/${adminLeg.id}`, admin, undefined, 204);
        // After every refused forgery above, the owner deletes its router as if nothing happened.
        await neutron.ok('DELETE', `/routers/${router.id}`, demo, undefined, 204);
      });
    });

    describe('field-level port rules on a shared network (issue 13, item 2)', () => {
      let shared: Body;
      let sharedSubnet: Body;

      before(async () => {
        // Demo's network, shared by the admin (only an admin may share): demo is its owner.
        shared = await neutron.network(admin, { name: 'a-shared', shared: true, project_id: demoProject });
        // Addresses below .100 are only ever chosen, never drawn by IPAM.
        sharedSubnet = await neutron.subnet(demo, {
          network_id: shared.id,
          cidr: '10.132.0.0/24',
          gateway_ip: '10.132.0.1',
          allocation_pools: [{ start: '10.132.0.100', end: '10.132.0.250' }],
        });
      });

      const refusals: Array<[string, Body]> = [
        ['the gateway address', { fixed_ips: [{ ip_address: '10.132.0.1' }] }],
        ['an address with its subnet', { fixed_ips: [{ subnet_id: 'SUBNET', ip_address: '10.132.0.20' }] }],
        ['an address in the second entry', { fixed_ips: [{ subnet_id: 'SUBNET' }, { ip_address: '10.132.0.21' }] }],
        ['port security off', { port_security_enabled: false }],
        ['allowed address pairs', { allowed_address_pairs: [{ ip_address: '0.0.0.0/0' }] }],
        ['an allowed address pair with a MAC', { allowed_address_pairs: [{ ip_address: '10.132.0.50', mac_address: 'fa:16:3e:00:00:50' }] }],
        ['a MAC', { mac_address: 'fa:16:3e:00:01:32' }],
        ['a binding host', { 'binding:host_id': 'somehost' }],
        ['a binding profile', { 'binding:profile': { local_link_information: [] } }],
        ['a network device owner', { device_owner: 'network:dhcp' }],
      ];
      const withSubnet = (body: Body): Body => JSON.parse(JSON.stringify(body).replaceAll('"SUBNET"', JSON.stringify(sharedSubnet.id)));

      it("refuses another project's member the owner's attributes on create, with 403", async () => {
        const before = ((await neutron.ok('GET', `/ports?network_id=${shared.id}`, admin, undefined, 200)).ports as Body[]).length;
        for (const [what, body] of refusals) {
          const res = await neutron.call('POST', '/ports', outsider.token, { port: { network_id: shared.id, ...withSubnet(body) } });
          assertNeutronError(res, 403, 'PolicyNotAuthorized', what);
        }
        // Nor may it put the port in the owner's project, however it spells the project.
        for (const key of ['project_id', 'tenant_id']) {
          const res = await neutron.call('POST', '/ports', outsider.token, { port: { network_id: shared.id, [key]: demoProject } });
          assertNeutronError(res, 403, 'PolicyNotAuthorized', key);
        }
        const after = ((await neutron.ok('GET', `/ports?network_id=${shared.id}`, admin, undefined, 200)).ports as Body[]).length;
        assert.equal(after, before, 'no port was made by a refused request');
      });

      it('still lets that member make a plain port, or choose the subnet only (rule:shared)', async () => {
        const plain = await neutron.port(outsider.token, { network_id: shared.id, name: 'plain' });
        assert.equal(plain.project_id, outsider.projectId);
        assert.equal(plain.port_security_enabled, true);
        const bySubnet = await neutron.port(outsider.token, { network_id: shared.id, fixed_ips: [{ subnet_id: sharedSubnet.id }] });
        assert.equal((bySubnet.fixed_ips as Body[])[0]!.subnet_id, sharedSubnet.id);
        assert.notEqual((bySubnet.fixed_ips as Body[])[0]!.ip_address, '10.132.0.1');
      });

      it('refuses the same attributes on update of its own port there, and leaves the port as it was', async () => {
        const mine = await neutron.port(outsider.token, { network_id: shared.id, name: 'mine' });
        for (const [what, body] of refusals) {
          const res = await neutron.call('PUT', `/ports/${mine.id}`, outsider.token, { port: withSubnet(body) });
          assertNeutronError(res, 403, 'PolicyNotAuthorized', what);
        }
        const now = (await neutron.ok('GET', `/ports/${mine.id}`, outsider.token, undefined, 200)).port as Body;
        assert.deepEqual(now.fixed_ips, mine.fixed_ips);
        assert.equal(now.mac_address, mine.mac_address);
        assert.equal(now.port_security_enabled, true);
        assert.deepEqual(now.allowed_address_pairs, []);
        assert.equal(now.device_owner, '');
        // What the member may change stays open.
        assert.equal((await neutron.updatePort(outsider.token, mine.id as string, { name: 'renamed', admin_state_up: false })).name, 'renamed');
      });

      it("keeps the gateway free for the owner's router", async () => {
        const router = await neutron.router(demo, { name: 'a-shared-router' });
        const added = await neutron.ok('PUT', `/routers/${router.id}/add_router_interface`, demo, { subnet_id: sharedSubnet.id }, 200);
        const leg = (await neutron.ok('GET', `/ports/${added.port_id}`, demo, undefined, 200)).port as Body;
        assert.deepEqual(leg.fixed_ips, [{ subnet_id: sharedSubnet.id, ip_address: '10.132.0.1' }]);
      });

      it("gives the network's owner and the admin every one of those attributes", async () => {
        for (const [token, n] of [
          [demo, 1],
          [admin, 2],
        ] as const) {
          const chosen = await neutron.port(token, {
            network_id: shared.id,
            fixed_ips: [{ subnet_id: sharedSubnet.id, ip_address: `10.132.0.${40 + n}` }],
            mac_address: `fa:16:3e:00:02:0${n}`,
            allowed_address_pairs: [{ ip_address: '10.132.0.128/25', mac_address: `fa:16:3e:00:03:0${n}` }],
          });
          assert.deepEqual(chosen.fixed_ips, [{ subnet_id: sharedSubnet.id, ip_address: `10.132.0.${40 + n}` }]);
          const open = await neutron.updatePort(token, chosen.id as string, {
            allowed_address_pairs: [],
            port_security_enabled: false,
            security_groups: [],
            fixed_ips: [{ ip_address: `10.132.0.${60 + n}` }],
          });
          assert.equal(open.port_security_enabled, false);
          assert.deepEqual(open.fixed_ips, [{ subnet_id: sharedSubnet.id, ip_address: `10.132.0.${60 + n}` }]);
        }
      });
    });

    describe('fixed IPs per port (issue 13, item 3)', () => {
      let net: Body;
      let sub: Body;

      before(async () => {
        net = await neutron.network(demo, { name: 'many-ips' });
        sub = await neutron.subnet(demo, { network_id: net.id, cidr: '10.133.0.0/24' });
      });

      const entries = (n: number) => Array.from({ length: n }, () => ({ subnet_id: sub.id }));
      const portCount = async () => ((await neutron.ok('GET', `/ports?network_id=${net.id}`, admin, undefined, 200)).ports as Body[]).length;

      it('takes five addresses for one port and refuses six (or 200) with 400, allocating nothing', async () => {
        const five = await neutron.port(demo, { network_id: net.id, fixed_ips: entries(5) });
        assert.equal((five.fixed_ips as Body[]).length, 5);
        const count = await portCount();
        for (const n of [6, 200]) {
          const res = await neutron.call('POST', '/ports', demo, { port: { network_id: net.id, fixed_ips: entries(n) } });
          assertNeutronError(res, 400, 'InvalidInput', `${n} addresses`);
          assert.equal(res.json.NeutronError.message, TOO_MANY_IPS);
        }
        // Explicit addresses count the same way, and the admin is held to it too (Neutron exempts only network: ports).
        const addresses = Array.from({ length: 6 }, (_, i) => ({ ip_address: `10.133.0.${100 + i}` }));
        assertNeutronError(await neutron.call('POST', '/ports', admin, { port: { network_id: net.id, fixed_ips: addresses } }), 400, 'InvalidInput');
        assert.equal(await portCount(), count);
      });

      it('refuses an update to six addresses and keeps the port as it was', async () => {
        const p = await neutron.port(demo, { network_id: net.id, fixed_ips: entries(2) });
        const res = await neutron.call('PUT', `/ports/${p.id}`, demo, { port: { fixed_ips: [...(p.fixed_ips as Body[]), ...entries(4)] } });
        assertNeutronError(res, 400, 'InvalidInput');
        assert.equal(res.json.NeutronError.message, TOO_MANY_IPS);
        assert.deepEqual(((await neutron.ok('GET', `/ports/${p.id}`, demo, undefined, 200)).port as Body).fixed_ips, p.fixed_ips);
        const grown = await neutron.updatePort(demo, p.id as string, { fixed_ips: [...(p.fixed_ips as Body[]), ...entries(3)] });
        assert.equal((grown.fixed_ips as Body[]).length, 5);
      });
    });
  });
}

describe("networking: an operator's network.yaml and KUMO_NETWORK_MAX_FIXED_IPS_PER_PORT", { timeout: 60_000 }, () => {
  let tc: TestCloud;
  let policyDir: string;
  let admin: string;
  let demo: string;
  let outsider: ProjectUser;
  const neutron = neutronOf(() => tc);

  before(async () => {
    policyDir = mkdtempSync(join(tmpdir(), 'kumo-policy-'));
    // As Ironic deployments do: a role that may set allowed address pairs on shared networks.
    writeFileSync(
      join(policyDir, 'network.yaml'),
      [
        '"create_port:allowed_address_pairs": "rule:admin_or_network_owner or role:aap"',
        '"create_port:allowed_address_pairs:ip_address": "rule:admin_or_network_owner or role:aap"',
        '"create_port:allowed_address_pairs:mac_address": "rule:admin_or_network_owner or role:aap"',
        // And one rule made stricter: choosing even the subnet is the owner's.
        '"create_port:fixed_ips:subnet_id": "rule:admin_or_network_owner"',
        '',
      ].join('\n'),
    );
    tc = await startTestCloud({ env: { KUMO_POLICY_DIR: policyDir, KUMO_NETWORK_MAX_FIXED_IPS_PER_PORT: '2' } });
    admin = await tc.token('admin');
    demo = await tc.token('demo');
    outsider = await projectWithMember(tc.url, admin, 'aap-holder');
  });

  after(async () => {
    await tc?.stop();
    rmSync(policyDir, { recursive: true, force: true });
  });

  it('applies the overridden field rules', async () => {
    const demoProject = await projectId(tc.url, admin, 'demo');
    const shared = await neutron.network(admin, { name: 'shared', shared: true, project_id: demoProject });
    const sub = await neutron.subnet(demo, { network_id: shared.id, cidr: '10.134.0.0/24' });
    const pair = { allowed_address_pairs: [{ ip_address: '10.134.0.200', mac_address: 'fa:16:3e:00:04:01' }] };
    assertNeutronError(await neutron.call('POST', '/ports', outsider.token, { port: { network_id: shared.id, ...pair } }), 403, 'PolicyNotAuthorized');
    assertNeutronError(
      await neutron.call('POST', '/ports', outsider.token, { port: { network_id: shared.id, fixed_ips: [{ subnet_id: sub.id }] } }),
      403,
      'PolicyNotAuthorized',
    );
    const roles = await api(tc.url, 'POST', '/identity/v3/roles', admin, { role: { name: 'aap' } });
    assert.equal(roles.status, 201, JSON.stringify(roles.body));
    const grant = await api(tc.url, 'PUT', `/identity/v3/projects/${outsider.projectId}/users/${outsider.userId}/roles/${roles.json.role.id}`, admin);
    assert.equal(grant.status, 204);
    const withRole = await api(tc.url, 'POST', '/identity/v3/auth/tokens', undefined, {
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'aap-holder-user', domain: { id: 'default' }, password: 'aap-holder-password' } } },
        scope: { project: { name: 'aap-holder', domain: { id: 'default' } } },
      },
    });
    const token = withRole.headers.get('x-subject-token') as string;
    const created = await neutron.port(token, { network_id: shared.id, ...pair });
    assert.deepEqual(created.allowed_address_pairs, [{ ip_address: '10.134.0.200', mac_address: 'fa:16:3e:00:04:01' }]);
  });

  it('caps fixed IPs at the configured number', async () => {
    const net = await neutron.network(demo, { name: 'capped' });
    const sub = await neutron.subnet(demo, { network_id: net.id, cidr: '10.135.0.0/24' });
    await neutron.port(demo, { network_id: net.id, fixed_ips: [{ subnet_id: sub.id }, { subnet_id: sub.id }] });
    const res = await neutron.call('POST', '/ports', demo, { port: { network_id: net.id, fixed_ips: [{ subnet_id: sub.id }, { subnet_id: sub.id }, { subnet_id: sub.id }] } });
    assertNeutronError(res, 400, 'InvalidInput');
    assert.equal(res.json.NeutronError.message, TOO_MANY_IPS);
  });
});
