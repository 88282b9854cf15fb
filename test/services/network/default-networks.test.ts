// DevStack's first-start topology: public (external flat on physnet public, 172.24.4.0/24),
// demo's private (10.0.0.0/26) and router1 between them, made once per data directory. Here on
// the noop dataplane (the same records as a real one); the host bridge and ping are in
// test/agents/network/public-bridge.test.ts and test/e2e/first-boot.test.ts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../src/core/config.js';
import { api, startTestCloud, TEST_DATABASE_URL, type TestCloud } from '../../helpers/cloud.js';
import { dropSchema } from '../../helpers/databases.js';
import { activeImage, boot, waitForServer } from '../compute/helpers.js';

const V2 = '/networking/v2.0';
type Body = Record<string, any>;

async function names(tc: TestCloud, collection: string): Promise<string[]> {
  const token = await tc.token('admin');
  return ((await api(tc.url, 'GET', `${V2}/${collection}`, token)).json[collection] as Body[]).map((x) => x.name as string).sort();
}

describe("DevStack's default networks", () => {
  const dirs: string[] = [];
  const clouds: TestCloud[] = [];
  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-seeds-'));
    dirs.push(dir);
    return dir;
  };
  const start = async (options: Parameters<typeof startTestCloud>[0]) => {
    const tc = await startTestCloud(options);
    clouds.push(tc);
    return tc;
  };
  after(async () => {
    for (const tc of clouds) await tc.stop().catch(() => undefined);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('makes public, private and router1 on a fresh data directory, as DevStack names them', async () => {
    const dir = dataDir();
    const tc = await start({ dataDir: dir, defaultNetworks: true });
    assert.equal(tc.cloud.defaultNetworks.state, 'made');
    const admin = await tc.token('admin');
    const demo = await tc.token('demo');
    const get = async (path: string, token = admin) => (await api(tc.url, 'GET', `${V2}${path}`, token)).json;
    const projects = (await api(tc.url, 'GET', '/identity/v3/projects', admin)).json.projects as Body[];
    const projectId = (name: string) => projects.find((p) => p.name === name)?.id as string;

    const [pub] = (await get('/networks?name=public')).networks as Body[];
    assert.ok(pub);
    assert.equal(pub['router:external'], true);
    assert.equal(pub.shared, false);
    assert.equal(pub['provider:network_type'], 'flat');
    assert.equal(pub['provider:physical_network'], 'public');
    assert.equal(pub.project_id, projectId('admin'));
    const [pubSubnet] = (await get(`/subnets?network_id=${pub.id}`)).subnets as Body[];
    assert.equal(pubSubnet?.name, 'public-subnet');
    assert.equal(pubSubnet?.cidr, '172.24.4.0/24');
    assert.equal(pubSubnet?.gateway_ip, '172.24.4.1');
    assert.equal(pubSubnet?.enable_dhcp, false);

    const [priv] = (await get('/networks?name=private', demo)).networks as Body[];
    assert.ok(priv, 'demo sees its private network');
    assert.equal(priv.project_id, projectId('demo'));
    const [privSubnet] = (await get(`/subnets?network_id=${priv.id}`, demo)).subnets as Body[];
    assert.equal(privSubnet?.name, 'private-subnet');
    assert.equal(privSubnet?.cidr, '10.0.0.0/26');
    assert.equal(privSubnet?.gateway_ip, '10.0.0.1');

    const [router] = (await get('/routers?name=router1', demo)).routers as Body[];
    assert.ok(router, 'demo owns router1');
    assert.equal(router.external_gateway_info?.network_id, pub.id);
    const legs = (await get(`/ports?device_id=${router.id}`)).ports as Body[];
    assert.ok(legs.some((p) => p.device_owner === 'network:router_interface' && p.fixed_ips[0].subnet_id === privSubnet?.id && p.fixed_ips[0].ip_address === '10.0.0.1'));
    assert.ok(legs.some((p) => p.device_owner === 'network:router_gateway' && p.fixed_ips[0].subnet_id === pubSubnet?.id));

    // The seeds' flow: a server on private, a floating IP from public on it.
    const image = await activeImage(tc.url, admin);
    const created = await boot(tc.url, demo, { name: 'vm1', imageRef: image, flavorRef: '42', networks: [{ uuid: priv.id }] });
    const server = await waitForServer(tc.url, demo, created.json.server.id, ['ACTIVE', 'ERROR']);
    assert.equal(server.status, 'ACTIVE', JSON.stringify(server.fault));
    const [vmPort] = (await get(`/ports?device_id=${server.id}`, demo)).ports as Body[];
    const fip = await api(tc.url, 'POST', `${V2}/floatingips`, demo, { floatingip: { floating_network_id: pub.id, port_id: vmPort?.id } });
    assert.equal(fip.status, 201, JSON.stringify(fip.body));
    assert.match(fip.json.floatingip.floating_ip_address, /^172\.24\.4\.\d+$/);
    assert.equal(fip.json.floatingip.router_id, router.id);
    // demo's default group lets the host's ping in.
    const groups = (await get('/security-groups?name=default', demo)).security_groups as Body[];
    assert.ok(groups[0]?.security_group_rules.some((r: Body) => r.direction === 'ingress' && r.protocol === 'icmp' && r.remote_ip_prefix === '0.0.0.0/0'));
    await tc.stop();
    clouds.splice(clouds.indexOf(tc), 1);

    // A restart makes nothing new.
    const again = await start({ dataDir: dir, defaultNetworks: true });
    assert.equal(again.cloud.defaultNetworks.state, 'present');
    assert.equal(again.cloud.defaultNetworks.public?.cidr, '172.24.4.0/24');
    assert.deepEqual(await names(again, 'networks'), ['private', 'public']);
    assert.deepEqual(await names(again, 'routers'), ['router1']);
  });

  it('respects their deletion on later starts', async () => {
    const dir = dataDir();
    const first = await start({ dataDir: dir, defaultNetworks: true });
    const demo = await first.token('demo');
    const [router] = (await api(first.url, 'GET', `${V2}/routers?name=router1`, demo)).json.routers as Body[];
    const [subnet] = (await api(first.url, 'GET', `${V2}/subnets?name=private-subnet`, demo)).json.subnets as Body[];
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await api(first.url, method, `${V2}${path}`, demo, body);
      assert.ok(res.status < 300, `${method} ${path}: ${JSON.stringify(res.body)}`);
    };
    await call('PUT', `/routers/${router?.id}/remove_router_interface`, { subnet_id: subnet?.id });
    await call('DELETE', `/routers/${router?.id}`);
    await call('DELETE', `/networks/${subnet?.network_id}`);
    await first.stop();
    clouds.splice(clouds.indexOf(first), 1);

    const second = await start({ dataDir: dir, defaultNetworks: true });
    assert.equal(second.cloud.defaultNetworks.state, 'present');
    assert.deepEqual(await names(second, 'networks'), ['public']);
    assert.deepEqual(await names(second, 'routers'), []);
  });

  it('makes none when switched off, by option or KUMO_DEFAULT_NETWORKS=0', async () => {
    const off = await start({ dataDir: dataDir(), defaultNetworks: false });
    assert.equal(off.cloud.defaultNetworks.state, 'off');
    assert.deepEqual(await names(off, 'networks'), []);
    assert.equal(loadConfig({}, { KUMO_DEFAULT_NETWORKS: '0' }).network.defaultNetworks, false);
    assert.equal(loadConfig({}, {}).network.defaultNetworks, true, 'on unless switched off');
    assert.throws(() => loadConfig({}, { KUMO_DEFAULT_NETWORKS: 'perhaps' }), /KUMO_DEFAULT_NETWORKS/);
  });

  it('leaves a cloud that already had networks alone, for good', async () => {
    const dir = dataDir();
    const before = await start({ dataDir: dir, defaultNetworks: false });
    const admin = await before.token('admin');
    assert.equal((await api(before.url, 'POST', `${V2}/networks`, admin, { network: { name: 'mine' } })).status, 201);
    await before.stop();
    clouds.splice(clouds.indexOf(before), 1);
    const after = await start({ dataDir: dir, defaultNetworks: true });
    assert.equal(after.cloud.defaultNetworks.state, 'skipped');
    assert.deepEqual(await names(after, 'networks'), ['mine']);
  });
});

describe("DevStack's default networks on PostgreSQL", { skip: TEST_DATABASE_URL ? false : 'KUMO_TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)' }, () => {
  const schema = `kumo_test_${randomBytes(6).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'kumo-seeds-pg-'));
  after(async () => {
    await dropSchema(TEST_DATABASE_URL as string, schema);
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes them once, and a restart finds them made', async () => {
    const options = { databaseUrl: TEST_DATABASE_URL as string, databaseSchema: schema, dataDir: dir, defaultNetworks: true };
    const first = await startTestCloud(options);
    try {
      assert.equal(first.cloud.defaultNetworks.state, 'made');
      assert.deepEqual(await names(first, 'networks'), ['private', 'public']);
    } finally {
      await first.stop();
    }
    const again = await startTestCloud(options);
    try {
      assert.equal(again.cloud.defaultNetworks.state, 'present');
      assert.deepEqual(await names(again, 'routers'), ['router1']);
      assert.deepEqual(await names(again, 'networks'), ['private', 'public']);
    } finally {
      await again.stop();
    }
  });
});
