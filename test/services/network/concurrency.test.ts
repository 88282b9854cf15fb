// Races the database must settle: many ports at once on a small pool (no address twice, the
// rest 409 IpAddressGenerationFailure), tenant VLANs from a two-id range, one flat network per
// physnet, one holder of an explicit VLAN id or fixed IP, one default security group per
// project. Each suite runs on every engine in DATABASES (SQLite, and PostgreSQL when
// KUMO_TEST_DATABASE_URL is set), with a fresh schema dropped afterwards.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import ipaddr from 'ipaddr.js';
import { api, startTestCloud, TEST_DATABASE_URL, type ApiResponse, type TestCloud } from '../../helpers/cloud.js';
import { dropSchema } from '../../helpers/databases.js';
import { projectWithMember } from '../image/helpers.js';

const V2 = '/networking/v2.0';
type Resource = Record<string, any>;

const ENGINES = [
  { name: 'sqlite', skip: false as const },
  { name: 'postgres', skip: TEST_DATABASE_URL ? (false as const) : 'KUMO_TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)' },
];

/** A cloud on this engine (a fresh PostgreSQL schema each time) and how to get rid of it. */
async function cloudOn(engine: string, env: Record<string, string> = {}): Promise<{ tc: TestCloud; dispose(): Promise<void> }> {
  const schema = engine === 'postgres' ? `kumo_test_${randomBytes(6).toString('hex')}` : undefined;
  const tc = await startTestCloud({ env, ...(schema ? { databaseUrl: TEST_DATABASE_URL as string, databaseSchema: schema } : {}) });
  return {
    tc,
    async dispose() {
      await tc.stop();
      if (schema) await dropSchema(TEST_DATABASE_URL as string, schema);
    },
  };
}

function neutronType(res: ApiResponse): string | undefined {
  return (res.json.NeutronError as Resource | undefined)?.type as string | undefined;
}

/** How many responses had each `status type` (e.g. `409 IpAddressGenerationFailure`), for messages and counts. */
function tally(responses: ApiResponse[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of responses) {
    const key = r.status < 300 ? String(r.status) : `${r.status} ${neutronType(r) ?? JSON.stringify(r.body).slice(0, 80)}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

const toInt = (address: string) => ipaddr.parse(address).toByteArray().reduce((n, x) => n * 256 + x, 0);

for (const engine of ENGINES) {
  describe(`networking under concurrency on ${engine.name}`, { skip: engine.skip, timeout: 300_000 }, () => {
    let tc: TestCloud;
    let dispose: () => Promise<void>;
    let admin: string;

    before(async () => {
      ({ tc, dispose } = await cloudOn(engine.name));
      admin = await tc.token('admin');
    });

    after(async () => {
      await dispose?.();
    });

    const neutron = (method: string, path: string, token: string, body?: unknown) => api(tc.url, method, `${V2}${path}`, token, body);
    async function create(token: string, collection: string, member: string, body: Resource): Promise<Resource> {
      const res = await neutron('POST', `/${collection.replaceAll('_', '-')}`, token, { [member]: body });
      assert.equal(res.status, 201, `create ${member}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      return res.json[member] as Resource;
    }

    it('hands out each address of the pool once to 300 simultaneous ports; the rest get 409 IpAddressGenerationFailure', async () => {
      const net = await create(admin, 'networks', 'network', { name: 'crowded' });
      const pool = { start: '10.0.0.10', end: '10.0.0.209' };
      const sub = await create(admin, 'subnets', 'subnet', { network_id: net.id, cidr: '10.0.0.0/24', allocation_pools: [pool], enable_dhcp: true });
      const poolSize = toInt(pool.end) - toInt(pool.start) + 1;
      // The DHCP port of an enable_dhcp subnet takes one address of the pool first.
      const dhcp = (await neutron('GET', `/ports?network_id=${net.id}&device_owner=network:dhcp`, admin)).json.ports as Resource[];
      assert.equal(dhcp.length, 1);
      const dhcpAddress = (dhcp[0]!.fixed_ips as Array<{ ip_address: string }>)[0]!.ip_address;
      const free = poolSize - (sub.enable_dhcp ? 1 : 0);

      const started = Date.now();
      const responses = await Promise.all(
        Array.from({ length: 300 }, (_, i) => neutron('POST', '/ports', admin, { port: { network_id: net.id, name: `crowd-${i}` } })),
      );
      const ms = Date.now() - started;
      const counts = tally(responses);
      const created = responses.filter((r) => r.status === 201).map((r) => r.json.port as Resource);
      assert.equal(created.length, free, `${free} of 300 succeed (${poolSize} in the pool, one for DHCP): ${JSON.stringify(counts)} in ${ms} ms`);
      for (const r of responses.filter((x) => x.status !== 201)) {
        assert.equal(r.status, 409, JSON.stringify(counts));
        assert.equal(neutronType(r), 'IpAddressGenerationFailure', JSON.stringify(r.body));
      }
      const addresses = created.map((p) => {
        const ips = p.fixed_ips as Array<{ subnet_id: string; ip_address: string }>;
        assert.equal(ips.length, 1);
        assert.equal(ips[0]!.subnet_id, sub.id);
        return ips[0]!.ip_address;
      });
      assert.equal(new Set([...addresses, dhcpAddress]).size, free + 1, 'no address twice, none shared with DHCP');
      for (const address of [...addresses, dhcpAddress]) {
        assert.ok(toInt(address) >= toInt(pool.start) && toInt(address) <= toInt(pool.end), `${address} in the pool`);
      }
      // What the API lists agrees with what it answered.
      const listed = (await neutron('GET', `/ports?network_id=${net.id}`, admin)).json.ports as Resource[];
      assert.equal(listed.length, free + 1);
      const listedAddresses = listed.flatMap((p) => (p.fixed_ips as Array<{ ip_address: string }>).map((f) => f.ip_address));
      assert.equal(new Set(listedAddresses).size, listedAddresses.length);
      // A freed address is handed out again.
      assert.equal((await neutron('DELETE', `/ports/${created[0]!.id}`, admin)).status, 204);
      const again = await create(admin, 'ports', 'port', { network_id: net.id });
      assert.equal((again.fixed_ips as Array<{ ip_address: string }>)[0]!.ip_address, addresses[0]);
    });

    it('gives one explicitly requested address to exactly one of 20 simultaneous ports', async () => {
      const net = await create(admin, 'networks', 'network', { name: 'same-ip' });
      await create(admin, 'subnets', 'subnet', { network_id: net.id, cidr: '10.1.0.0/24', enable_dhcp: false });
      const responses = await Promise.all(
        Array.from({ length: 20 }, () => neutron('POST', '/ports', admin, { port: { network_id: net.id, fixed_ips: [{ ip_address: '10.1.0.77' }] } })),
      );
      const counts = tally(responses);
      assert.deepEqual(counts, { '201': 1, '409 IpAddressAlreadyAllocated': 19 });
    });

    it('creates one flat network per physnet and gives an explicit VLAN id to one of many simultaneous requests', async () => {
      const flat = await Promise.all(
        Array.from({ length: 8 }, () =>
          neutron('POST', '/networks', admin, { network: { 'provider:network_type': 'flat', 'provider:physical_network': 'racenet' } }),
        ),
      );
      assert.deepEqual(tally(flat), { '201': 1, '409 FlatNetworkInUse': 7 });
      const vlan = await Promise.all(
        Array.from({ length: 8 }, () =>
          neutron('POST', '/networks', admin, {
            network: { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 3000 },
          }),
        ),
      );
      assert.deepEqual(tally(vlan), { '201': 1, '409 VlanIdInUse': 7 });
      // Tenant VNIs under the same pressure: all different.
      const vxlan = await Promise.all(Array.from({ length: 30 }, () => neutron('POST', '/networks', admin, { network: {} })));
      assert.deepEqual(tally(vxlan), { '201': 30 });
      const vnis = vxlan.map((r) => r.json.network['provider:segmentation_id'] as number);
      assert.equal(new Set(vnis).size, 30, `distinct VNIs: ${vnis.join(',')}`);
    });

    it("creates a project's default security group once when its first needs race", async () => {
      const member = await projectWithMember(tc.url, admin, `race-${engine.name}`);
      const net = await create(member.token, 'networks', 'network', { name: 'sg-race' });
      await create(member.token, 'subnets', 'subnet', { network_id: net.id, cidr: '10.2.0.0/24' });
      const responses = await Promise.all([
        ...Array.from({ length: 8 }, () => neutron('GET', '/security-groups', member.token)),
        ...Array.from({ length: 8 }, () => neutron('POST', '/ports', member.token, { port: { network_id: net.id } })),
      ]);
      assert.ok(responses.every((r) => r.status === 200 || r.status === 201), JSON.stringify(tally(responses)));
      const groups = (await neutron('GET', `/security-groups?project_id=${member.projectId}`, admin)).json.security_groups as Resource[];
      const defaults = groups.filter((g) => g.name === 'default');
      assert.equal(defaults.length, 1, `one default group: ${JSON.stringify(defaults.map((g) => g.id))}`);
      const ports = responses.filter((r) => r.status === 201).map((r) => r.json.port as Resource);
      for (const p of ports) assert.deepEqual(p.security_groups, [defaults[0]!.id]);
    });

    it('takes simultaneous tag adds, removals and replacements without a 5xx or a lost tag', async () => {
      const net = await create(admin, 'networks', 'network', { name: 'tag-race' });
      const tags = Array.from({ length: 12 }, (_, i) => `t${i}`);
      // The same tag twice at once, and a dozen different ones, while the network is updated:
      // every add lands, none twice, and the updates put back no older list.
      const added = await Promise.all([
        ...[...tags, ...tags].map((tag) => neutron('PUT', `/networks/${net.id}/tags/${tag}`, admin)),
        ...Array.from({ length: 4 }, (_, i) => neutron('PUT', `/networks/${net.id}`, admin, { network: { description: `update ${i}` } })),
      ]);
      assert.ok(added.every((r) => r.status === 201 || r.status === 200), JSON.stringify(tally(added)));
      assert.deepEqual(((await neutron('GET', `/networks/${net.id}/tags`, admin)).json.tags as string[]).sort(), [...tags].sort());
      const mixed = await Promise.all([
        ...tags.slice(0, 6).map((tag) => neutron('DELETE', `/networks/${net.id}/tags/${tag}`, admin)),
        ...Array.from({ length: 6 }, (_, i) => neutron('PUT', `/networks/${net.id}/tags`, admin, { tags: [`all${i}`, 'shared'] })),
      ]);
      assert.ok(mixed.every((r) => r.status < 500), JSON.stringify(tally(mixed)));
    });
  });

  describe(`tenant VLANs from a two-id range on ${engine.name}`, { skip: engine.skip, timeout: 120_000 }, () => {
    let tc: TestCloud;
    let dispose: () => Promise<void>;

    before(async () => {
      ({ tc, dispose } = await cloudOn(engine.name, { KUMO_TENANT_NETWORK_TYPE: 'vlan', KUMO_NETWORK_VLAN_RANGES: 'physnet1:100:101' }));
    });

    after(async () => {
      await dispose?.();
    });

    it('allocates ids 100 and 101 to two of six simultaneous networks, 503 NoNetworkAvailable to the rest, and reuses a freed id', async () => {
      const admin = await tc.token('admin');
      const demo = await tc.token('demo');
      const neutron = (method: string, path: string, token: string, body?: unknown) => api(tc.url, method, `${V2}${path}`, token, body);
      const responses = await Promise.all(Array.from({ length: 6 }, (_, i) => neutron('POST', '/networks', demo, { network: { name: `vlan-${i}` } })));
      assert.deepEqual(tally(responses), { '201': 2, '503 NoNetworkAvailable': 4 });
      const created = responses.filter((r) => r.status === 201).map((r) => r.json.network as Resource);
      for (const n of created) assert.equal(n.mtu, 1500);
      const segments = [];
      for (const n of created) {
        const seen = (await neutron('GET', `/networks/${n.id}`, admin)).json.network as Resource;
        assert.equal(seen['provider:network_type'], 'vlan');
        assert.equal(seen['provider:physical_network'], 'physnet1');
        segments.push(seen['provider:segmentation_id'] as number);
      }
      assert.deepEqual(segments.sort(), [100, 101]);
      assert.equal(neutronType(await neutron('POST', '/networks', demo, { network: { name: 'one-more' } })), 'NoNetworkAvailable');

      const [freed] = created;
      const freedId = ((await neutron('GET', `/networks/${freed!.id}`, admin)).json.network as Resource)['provider:segmentation_id'];
      assert.equal((await neutron('DELETE', `/networks/${freed!.id}`, demo)).status, 204);
      const next = await neutron('POST', '/networks', demo, { network: { name: 'next' } });
      assert.equal(next.status, 201, JSON.stringify(next.body));
      const nextSeen = (await neutron('GET', `/networks/${next.json.network.id}`, admin)).json.network as Resource;
      assert.equal(nextSeen['provider:segmentation_id'], freedId);
      // Provider networks outside the range still work; the tenant range stays full.
      const provider = await neutron('POST', '/networks', admin, { network: { 'provider:network_type': 'vlan', 'provider:physical_network': 'physnet1', 'provider:segmentation_id': 200 } });
      assert.equal(provider.status, 201, JSON.stringify(provider.body));
      assert.equal(neutronType(await neutron('POST', '/networks', demo, { network: {} })), 'NoNetworkAvailable');
      // VXLAN is not the tenant type here, but admins can still ask for it.
      const vxlan = await neutron('POST', '/networks', admin, { network: { 'provider:network_type': 'vxlan' } });
      assert.equal(vxlan.status, 201, JSON.stringify(vxlan.body));
      assert.equal(vxlan.json.network.mtu, 1450);
    });
  });
}
