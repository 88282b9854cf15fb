import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { assertNeutronError } from './helpers.js';

/** Address scopes, subnet pools and RBAC policies, and what another project may not do with them. */
describe('networking: address scopes, subnet pools and RBAC policies', () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  let adminProject: string;
  let demoProject: string;
  const net = (path: string) => `/networking/v2.0${path}`;

  before(async () => {
    cloud = await startTestCloud();
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    const probe = async (token: string) => (await api(cloud.url, 'POST', net('/networks'), token, { network: { name: 'probe' } })).json.network.project_id as string;
    adminProject = await probe(admin);
    demoProject = await probe(demo);
  });

  after(async () => {
    await cloud?.stop();
  });

  it('carves subnets from a pool by prefix length, within its bounds and quota', async () => {
    const pool = await api(cloud.url, 'POST', net('/subnetpools'), demo, {
      subnetpool: { name: 'mine', prefixes: ['10.60.0.0/22'], default_prefixlen: 24, min_prefixlen: 23, max_prefixlen: 28, default_quota: 512 },
    });
    assert.equal(pool.status, 201, JSON.stringify(pool.json));
    assert.equal(pool.json.subnetpool.ip_version, 4);
    const poolId = pool.json.subnetpool.id as string;
    const networkId = (await api(cloud.url, 'POST', net('/networks'), demo, { network: { name: 'pooled' } })).json.network.id;
    const first = await api(cloud.url, 'POST', net('/subnets'), demo, { subnet: { network_id: networkId, subnetpool_id: poolId, ip_version: 4 } });
    assert.equal(first.status, 201, JSON.stringify(first.json));
    assert.equal(first.json.subnet.cidr, '10.60.0.0/24');
    assert.equal(first.json.subnet.subnetpool_id, poolId);
    const second = await api(cloud.url, 'POST', net('/subnets'), demo, { subnet: { network_id: networkId, subnetpool_id: poolId, ip_version: 4, prefixlen: 25 } });
    assert.equal(second.json.subnet.cidr, '10.60.1.0/25');
    // 256 + 128 of 512 used: a /24 more is over the pool's quota.
    assertNeutronError(await api(cloud.url, 'POST', net('/subnets'), demo, { subnet: { network_id: networkId, subnetpool_id: poolId, ip_version: 4 } }), 409, 'SubnetPoolQuotaExceeded');
    assertNeutronError(await api(cloud.url, 'POST', net('/subnets'), demo, { subnet: { network_id: networkId, subnetpool_id: poolId, ip_version: 4, prefixlen: 30 } }), 400, 'InvalidInput');
    assertNeutronError(await api(cloud.url, 'POST', net('/subnets'), demo, { subnet: { network_id: networkId, subnetpool_id: poolId, cidr: '10.99.0.0/24' } }), 400, 'InvalidInput');
    assertNeutronError(await api(cloud.url, 'DELETE', net(`/subnetpools/${poolId}`), demo), 409, 'SubnetPoolInUse');
    // Prefixes only grow.
    assertNeutronError(await api(cloud.url, 'PUT', net(`/subnetpools/${poolId}`), demo, { subnetpool: { prefixes: ['10.61.0.0/24'] } }), 400, 'InvalidInput');
    const grown = await api(cloud.url, 'PUT', net(`/subnetpools/${poolId}`), demo, { subnetpool: { prefixes: ['10.60.0.0/21'] } });
    assert.deepEqual(grown.json.subnetpool.prefixes, ['10.60.0.0/21']);
    for (const s of [first, second]) assert.equal((await api(cloud.url, 'DELETE', net(`/subnets/${s.json.subnet.id}`), demo)).status, 204);
    assert.equal((await api(cloud.url, 'DELETE', net(`/subnetpools/${poolId}`), demo)).status, 204);
  });

  it('lets only an admin make a shared or default pool, and uses the default one on request', async () => {
    assertNeutronError(await api(cloud.url, 'POST', net('/subnetpools'), demo, { subnetpool: { name: 'x', prefixes: ['10.62.0.0/16'], shared: true } }), 403, 'PolicyNotAuthorized');
    assertNeutronError(await api(cloud.url, 'POST', net('/subnetpools'), demo, { subnetpool: { name: 'x', prefixes: ['10.62.0.0/16'], is_default: true } }), 403, 'PolicyNotAuthorized');
    const pool = await api(cloud.url, 'POST', net('/subnetpools'), admin, { subnetpool: { name: 'default-v4', prefixes: ['10.63.0.0/16'], default_prefixlen: 26, shared: true, is_default: true } });
    assert.equal(pool.status, 201, JSON.stringify(pool.json));
    assertNeutronError(await api(cloud.url, 'POST', net('/subnetpools'), admin, { subnetpool: { name: 'second', prefixes: ['10.64.0.0/16'], is_default: true } }), 400, 'InvalidInput');
    const networkId = (await api(cloud.url, 'POST', net('/networks'), demo, { network: { name: 'defaulted' } })).json.network.id;
    const subnet = await api(cloud.url, 'POST', net('/subnets'), demo, { subnet: { network_id: networkId, use_default_subnetpool: true, ip_version: 4 } });
    assert.equal(subnet.status, 201, JSON.stringify(subnet.json));
    assert.equal(subnet.json.subnet.cidr, '10.63.0.0/26');
    assert.equal(subnet.json.subnet.subnetpool_id, pool.json.subnetpool.id);
    // A member sees the shared pool but may not change or delete it.
    assert.equal((await api(cloud.url, 'GET', net(`/subnetpools/${pool.json.subnetpool.id}`), demo)).status, 200);
    assertNeutronError(await api(cloud.url, 'PUT', net(`/subnetpools/${pool.json.subnetpool.id}`), demo, { subnetpool: { name: 'mine now' } }), 403);
    assertNeutronError(await api(cloud.url, 'DELETE', net(`/subnetpools/${pool.json.subnetpool.id}`), demo), 403);
    assert.equal((await api(cloud.url, 'DELETE', net(`/subnets/${subnet.json.subnet.id}`), demo)).status, 204);
    assert.equal((await api(cloud.url, 'PUT', net(`/subnetpools/${pool.json.subnetpool.id}`), admin, { subnetpool: { is_default: false } })).status, 200);
  });

  it("keeps another project's pool and scope from a member: not seen, not used, not deleted", async () => {
    const scope = await api(cloud.url, 'POST', net('/address-scopes'), admin, { address_scope: { name: 'private-scope', ip_version: 4 } });
    assert.equal(scope.status, 201, JSON.stringify(scope.json));
    const pool = await api(cloud.url, 'POST', net('/subnetpools'), admin, { subnetpool: { name: 'admins', prefixes: ['10.65.0.0/16'], address_scope_id: scope.json.address_scope.id } });
    assert.equal(pool.status, 201, JSON.stringify(pool.json));
    const poolId = pool.json.subnetpool.id as string;
    const scopeId = scope.json.address_scope.id as string;
    assert.ok(!(await api(cloud.url, 'GET', net('/subnetpools'), demo)).json.subnetpools.some((p: { id: string }) => p.id === poolId));
    assert.ok(!(await api(cloud.url, 'GET', net('/address-scopes'), demo)).json.address_scopes.some((s: { id: string }) => s.id === scopeId));
    assertNeutronError(await api(cloud.url, 'GET', net(`/subnetpools/${poolId}`), demo), 404, 'SubnetPoolNotFound');
    assertNeutronError(await api(cloud.url, 'GET', net(`/address-scopes/${scopeId}`), demo), 404, 'AddressScopeNotFound');
    assertNeutronError(await api(cloud.url, 'DELETE', net(`/subnetpools/${poolId}`), demo), 404);
    assertNeutronError(await api(cloud.url, 'DELETE', net(`/address-scopes/${scopeId}`), demo), 404);
    const networkId = (await api(cloud.url, 'POST', net('/networks'), demo, { network: { name: 'thief' } })).json.network.id;
    assertNeutronError(await api(cloud.url, 'POST', net('/subnets'), demo, { subnet: { network_id: networkId, subnetpool_id: poolId, ip_version: 4 } }), 404, 'SubnetPoolNotFound');
    assertNeutronError(await api(cloud.url, 'POST', net('/subnetpools'), demo, { subnetpool: { name: 'in-their-scope', prefixes: ['10.66.0.0/16'], address_scope_id: scopeId } }), 404);
    // A scope with pools in it stays; a member may not share a scope.
    assertNeutronError(await api(cloud.url, 'DELETE', net(`/address-scopes/${scopeId}`), admin), 409, 'AddressScopeInUse');
    assertNeutronError(await api(cloud.url, 'POST', net('/address-scopes'), demo, { address_scope: { name: 's', ip_version: 4, shared: true } }), 403);
    assertNeutronError(await api(cloud.url, 'POST', net('/subnetpools'), admin, { subnetpool: { name: 'v6-in-v4', prefixes: ['2001:db8::/48'], address_scope_id: scopeId } }), 400, 'InvalidInput');
  });

  it('shares a network with one project through an RBAC entry, and shared=true is the wildcard entry', async () => {
    const owned = await api(cloud.url, 'POST', net('/networks'), admin, { network: { name: 'targeted' } });
    const networkId = owned.json.network.id as string;
    await api(cloud.url, 'POST', net('/subnets'), admin, { subnet: { network_id: networkId, cidr: '10.67.0.0/24' } });
    assertNeutronError(await api(cloud.url, 'GET', net(`/networks/${networkId}`), demo), 404);
    const policy = await api(cloud.url, 'POST', net('/rbac-policies'), admin, {
      rbac_policy: { object_type: 'network', object_id: networkId, action: 'access_as_shared', target_tenant: demoProject },
    });
    assert.equal(policy.status, 201, JSON.stringify(policy.json));
    assert.equal(policy.json.rbac_policy.target_tenant, demoProject);
    const seen = await api(cloud.url, 'GET', net(`/networks/${networkId}`), demo);
    assert.equal(seen.status, 200);
    assert.equal(seen.json.network.shared, true, 'shared with the caller');
    assert.equal((await api(cloud.url, 'GET', net(`/networks/${networkId}`), admin)).json.network.shared, false, 'not shared with everyone');
    assert.ok((await api(cloud.url, 'GET', net('/networks'), demo)).json.networks.some((n: { id: string }) => n.id === networkId));
    const port = await api(cloud.url, 'POST', net('/ports'), demo, { port: { network_id: networkId } });
    assert.equal(port.status, 201, JSON.stringify(port.json));
    // The entry is in use by demo's port: it stays until the port goes.
    assertNeutronError(await api(cloud.url, 'DELETE', net(`/rbac-policies/${policy.json.rbac_policy.id}`), admin), 409, 'RbacPolicyInUse');
    // The member cannot see or delete the admin's entry.
    assertNeutronError(await api(cloud.url, 'GET', net(`/rbac-policies/${policy.json.rbac_policy.id}`), demo), 404);
    assertNeutronError(await api(cloud.url, 'DELETE', net(`/rbac-policies/${policy.json.rbac_policy.id}`), demo), 404);
    assert.equal((await api(cloud.url, 'DELETE', net(`/ports/${port.json.port.id}`), demo)).status, 204);
    assert.equal((await api(cloud.url, 'DELETE', net(`/rbac-policies/${policy.json.rbac_policy.id}`), admin)).status, 204);
    assertNeutronError(await api(cloud.url, 'GET', net(`/networks/${networkId}`), demo), 404);

    // shared=true is the `*` entry, and deleting that entry unshares the network.
    const shared = await api(cloud.url, 'PUT', net(`/networks/${networkId}`), admin, { network: { shared: true } });
    assert.equal(shared.json.network.shared, true);
    const entries = (await api(cloud.url, 'GET', net('/rbac-policies'), admin)).json.rbac_policies as Array<{ id: string; object_id: string; target_tenant: string; action: string }>;
    const wildcard = entries.find((e) => e.object_id === networkId && e.target_tenant === '*' && e.action === 'access_as_shared');
    assert.ok(wildcard, JSON.stringify(entries));
    assert.equal((await api(cloud.url, 'DELETE', net(`/rbac-policies/${wildcard.id}`), admin)).status, 204);
    assert.equal((await api(cloud.url, 'GET', net(`/networks/${networkId}`), admin)).json.network.shared, false);
  });

  it("refuses a member's RBAC entry on a network it does not own, and its wildcard on its own", async () => {
    const theirs = await api(cloud.url, 'POST', net('/networks'), admin, { network: { name: 'not-yours', shared: true } });
    const mine = await api(cloud.url, 'POST', net('/networks'), demo, { network: { name: 'yours' } });
    const entry = (id: string, target: string, action = 'access_as_shared') => ({ rbac_policy: { object_type: 'network', object_id: id, action, target_tenant: target } });
    assertNeutronError(await api(cloud.url, 'POST', net('/rbac-policies'), demo, entry(theirs.json.network.id, demoProject)), 400, 'InvalidInput');
    const hidden = await api(cloud.url, 'POST', net('/networks'), admin, { network: { name: 'hidden' } });
    assertNeutronError(await api(cloud.url, 'POST', net('/rbac-policies'), demo, entry(hidden.json.network.id, demoProject)), 404, 'NetworkNotFound');
    assertNeutronError(await api(cloud.url, 'POST', net('/rbac-policies'), demo, entry(mine.json.network.id, '*')), 403, 'PolicyNotAuthorized');
    const ok = await api(cloud.url, 'POST', net('/rbac-policies'), demo, entry(mine.json.network.id, adminProject));
    assert.equal(ok.status, 201, JSON.stringify(ok.json));
    assertNeutronError(await api(cloud.url, 'POST', net('/rbac-policies'), demo, entry(mine.json.network.id, adminProject)), 409, 'DuplicateRbacPolicy');
    assertNeutronError(await api(cloud.url, 'POST', net('/rbac-policies'), demo, { rbac_policy: { ...entry(mine.json.network.id, adminProject).rbac_policy, object_type: 'qos_policy' } }), 400, 'HTTPBadRequest');
    assertNeutronError(await api(cloud.url, 'PUT', net(`/rbac-policies/${ok.json.rbac_policy.id}`), demo, { rbac_policy: { target_tenant: '*' } }), 403);
    // access_as_external for one project: it sees the network as external; others do not see it.
    const ext = await api(cloud.url, 'POST', net('/rbac-policies'), admin, entry(hidden.json.network.id, demoProject, 'access_as_external'));
    assert.equal(ext.status, 201, JSON.stringify(ext.json));
    const asDemo = await api(cloud.url, 'GET', net(`/networks/${hidden.json.network.id}`), demo);
    assert.equal(asDemo.status, 200);
    assert.equal(asDemo.json.network['router:external'], true);
  });
});
