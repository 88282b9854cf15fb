// Nova's proxies to Neutron before 2.36: os-floating-ips (and its pools, and the
// addFloatingIp/removeFloatingIp actions), os-networks, os-tenant-networks and
// os-security-group-rules, all through the network service with the caller's rights; gone
// (404) from 2.36; nova-network's writes answer 410 as Nova's do since Ussuri.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { projectWithMember, type ProjectUser } from '../image/helpers.js';
import { activeImage, boot, nova, waitForServer } from './helpers.js';

const V2 = '/networking/v2.0';
const PROXY = '2.35';

describe('network proxies (before 2.36)', { timeout: 120_000 }, () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  let outsider: ProjectUser;
  let networkId: string;
  let serverId: string;
  let groupId: string;

  const n = (method: string, path: string, token: string, body?: unknown, version = PROXY) => nova(cloud.url, method, path, token, body, version);

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake' } });
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    outsider = await projectWithMember(cloud.url, admin, 'proxy-outsider');
    const image = await activeImage(cloud.url, admin);
    const pub = await api(cloud.url, 'POST', `${V2}/networks`, admin, { network: { name: 'public', 'router:external': true } });
    assert.equal(pub.status, 201, JSON.stringify(pub.body));
    const pubSubnet = await api(cloud.url, 'POST', `${V2}/subnets`, admin, { subnet: { network_id: pub.json.network.id, cidr: '198.51.100.0/28', ip_version: 4 } });
    assert.equal(pubSubnet.status, 201);
    const network = await api(cloud.url, 'POST', `${V2}/networks`, demo, { network: { name: 'proxy-net' } });
    networkId = network.json.network.id;
    const subnet = await api(cloud.url, 'POST', `${V2}/subnets`, demo, { subnet: { network_id: networkId, cidr: '10.61.0.0/24', ip_version: 4 } });
    assert.equal(subnet.status, 201);
    const router = await api(cloud.url, 'POST', `${V2}/routers`, demo, { router: { name: 'proxy-router', external_gateway_info: { network_id: pub.json.network.id } } });
    assert.equal(router.status, 201, JSON.stringify(router.body));
    assert.equal((await api(cloud.url, 'PUT', `${V2}/routers/${router.json.router.id}/add_router_interface`, demo, { subnet_id: subnet.json.subnet.id })).status, 200);
    const created = await boot(cloud.url, demo, { name: 'proxy-server', imageRef: image, flavorRef: '42', networks: [{ uuid: networkId }] });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    serverId = created.json.server.id;
    assert.equal((await waitForServer(cloud.url, demo, serverId, ['ACTIVE', 'ERROR'])).status, 'ACTIVE');
    const group = await n('POST', '/os-security-groups', demo, { security_group: { name: 'proxy-web', description: 'web' } });
    assert.equal(group.status, 200, JSON.stringify(group.body));
    groupId = group.json.security_group.id;
  });
  after(async () => cloud?.stop());

  it('allocates a floating IP from a pool, associates it with a server and releases it', async () => {
    const pools = await n('GET', '/os-floating-ip-pools', demo);
    assert.equal(pools.status, 200);
    assert.deepEqual(pools.json.floating_ip_pools, [{ name: 'public' }]);

    const created = await n('POST', '/os-floating-ips', demo, { pool: 'public' });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const fip = created.json.floating_ip;
    assert.equal(fip.pool, 'public');
    assert.equal(fip.instance_id, null);
    assert.match(fip.ip, /^198\.51\.100\./);
    assert.equal((await n('GET', `/os-floating-ips/${fip.id}`, demo)).json.floating_ip.ip, fip.ip);
    assert.ok((await n('GET', '/os-floating-ips', demo)).json.floating_ips.some((f: { id: string }) => f.id === fip.id));

    const add = await n('POST', `/servers/${serverId}/action`, demo, { addFloatingIp: { address: fip.ip } });
    assert.equal(add.status, 202, JSON.stringify(add.body));
    const shown = (await n('GET', `/os-floating-ips/${fip.id}`, demo)).json.floating_ip;
    assert.equal(shown.instance_id, serverId);
    assert.match(shown.fixed_ip, /^10\.61\.0\./);

    const wrongFixed = await n('POST', `/servers/${serverId}/action`, demo, { addFloatingIp: { address: fip.ip, fixed_address: '10.99.0.1' } });
    assert.equal(wrongFixed.status, 400);
    assert.equal(wrongFixed.json.badRequest.message, 'Specified fixed address not assigned to instance');

    assert.equal((await n('POST', `/servers/${serverId}/action`, demo, { removeFloatingIp: { address: fip.ip } })).status, 202);
    assert.equal((await n('GET', `/os-floating-ips/${fip.id}`, demo)).json.floating_ip.instance_id, null);
    const notAssociated = await n('POST', `/servers/${serverId}/action`, demo, { removeFloatingIp: { address: fip.ip } });
    assert.equal(notAssociated.status, 409);
    assert.equal(notAssociated.json.conflictingRequest.message, `Floating IP ${fip.ip} is not associated with instance ${serverId}.`);

    assert.equal((await n('DELETE', `/os-floating-ips/${fip.id}`, demo)).status, 202);
    assert.equal((await n('GET', `/os-floating-ips/${fip.id}`, demo)).status, 404);
  });

  it('refuses bad input and hides other projects’ floating IPs', async () => {
    const noPool = await n('POST', '/os-floating-ips', demo, { pool: 'nowhere' });
    assert.equal(noPool.status, 404);
    assert.equal(noPool.json.itemNotFound.message, 'Floating IP pool not found.');
    assert.equal((await n('POST', '/os-floating-ips', demo, { pool: 5 })).status, 400);
    const unknown = await n('POST', `/servers/${serverId}/action`, demo, { addFloatingIp: { address: '203.0.113.9' } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.itemNotFound.message, 'floating IP not found');
    assert.equal((await n('POST', `/servers/${serverId}/action`, demo, { addFloatingIp: { address: 'not-an-ip' } })).status, 400);

    const mine = (await n('POST', '/os-floating-ips', demo, {})).json.floating_ip;
    assert.equal(mine.pool, 'public', 'no pool: the default pool');
    const theirs = await n('GET', `/os-floating-ips/${mine.id}`, outsider.token);
    assert.equal(theirs.status, 404);
    assert.equal(theirs.json.itemNotFound.message, `Floating IP not found for ID ${mine.id}`);
    assert.equal((await n('DELETE', `/os-floating-ips/${mine.id}`, outsider.token)).status, 404);
    assert.ok(!(await n('GET', '/os-floating-ips', outsider.token)).json.floating_ips.some((f: { id: string }) => f.id === mine.id));
    // Another project's server is not found before anything else.
    assert.equal((await n('POST', `/servers/${serverId}/action`, outsider.token, { addFloatingIp: { address: mine.ip } })).status, 404);
    assert.equal((await n('DELETE', `/os-floating-ips/${mine.id}`, demo)).status, 202);
  });

  it('lists and shows networks as os-networks and os-tenant-networks do', async () => {
    const listed = await n('GET', '/os-networks', demo);
    assert.equal(listed.status, 200);
    const mine = listed.json.networks.find((x: { id: string }) => x.id === networkId);
    assert.equal(mine.label, 'proxy-net');
    assert.equal(mine.cidr, null);
    assert.ok(!('vlan' in mine), 'admin-only fields only for admins');
    assert.ok('vlan' in (await n('GET', `/os-networks/${networkId}`, admin)).json.network);
    const tenant = await n('GET', `/os-tenant-networks/${networkId}`, demo);
    assert.deepEqual(tenant.json.network, { id: networkId, cidr: 'None', label: 'proxy-net' });
    assert.ok((await n('GET', '/os-tenant-networks', demo)).json.networks.some((x: { id: string }) => x.id === networkId));

    const hidden = await n('GET', `/os-networks/${networkId}`, outsider.token);
    assert.equal(hidden.status, 404);
    assert.equal(hidden.json.itemNotFound.message, 'Network not found');
    assert.equal((await n('GET', `/os-tenant-networks/${networkId}`, outsider.token)).status, 404);
    assert.equal((await n('GET', '/os-networks/not-a-network', demo)).status, 404);

    for (const [method, path] of [['POST', '/os-networks'], ['DELETE', `/os-networks/${networkId}`], ['POST', '/os-networks/add'], ['POST', '/os-tenant-networks'], ['DELETE', `/os-tenant-networks/${networkId}`]] as const) {
      const res = await n(method, path, admin, method === 'POST' ? { network: {} } : undefined);
      assert.equal(res.status, 410, `${method} ${path}`);
    }
  });

  it('creates and deletes security group rules through Neutron', async () => {
    const created = await n('POST', '/os-security-group-rules', demo, {
      security_group_rule: { parent_group_id: groupId, ip_protocol: 'tcp', from_port: 22, to_port: 22, cidr: '10.0.0.0/8' },
    });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const rule = created.json.security_group_rule;
    assert.deepEqual({ ...rule, id: undefined }, { id: undefined, parent_group_id: groupId, ip_protocol: 'tcp', from_port: 22, to_port: 22, group: {}, ip_range: { cidr: '10.0.0.0/8' } });
    const neutron = await api(cloud.url, 'GET', `${V2}/security-group-rules/${rule.id}`, demo);
    assert.equal(neutron.json.security_group_rule.direction, 'ingress');
    assert.equal((await n('GET', `/os-security-groups/${groupId}`, demo)).json.security_group.rules.length, 1);

    const again = await n('POST', '/os-security-group-rules', demo, {
      security_group_rule: { parent_group_id: groupId, ip_protocol: 'tcp', from_port: 22, to_port: 22, cidr: '10.0.0.0/8' },
    });
    assert.equal(again.status, 400);
    const fromGroup = await n('POST', '/os-security-group-rules', demo, { security_group_rule: { parent_group_id: groupId, group_id: groupId, ip_protocol: 'icmp' } });
    assert.equal(fromGroup.status, 200, JSON.stringify(fromGroup.body));
    assert.deepEqual(fromGroup.json.security_group_rule.group, { name: 'proxy-web', tenant_id: (await n('GET', `/os-security-groups/${groupId}`, demo)).json.security_group.tenant_id });

    const bad = async (rule: Record<string, unknown>, message: string) => {
      const res = await n('POST', '/os-security-group-rules', demo, { security_group_rule: { parent_group_id: groupId, ...rule } });
      assert.equal(res.status, 400, JSON.stringify(rule));
      assert.equal(res.json.badRequest.message, message);
    };
    await bad({ ip_protocol: 'tcp', from_port: 30, to_port: 20 }, 'Invalid port range 30:20. Former value cannot be greater than the later');
    await bad({ ip_protocol: 'gre', from_port: 1, to_port: 2 }, 'Invalid IP protocol gre.');
    await bad({ ip_protocol: 'tcp', from_port: 'a', to_port: 2 }, 'Invalid input received: To and From ports must be integers');
    await bad({ ip_protocol: 'tcp', from_port: 1, to_port: 2, cidr: '10.0.0.0/99' }, 'Invalid cidr 10.0.0.0/99.');
    await bad({ cidr: '10.0.0.0/8' }, 'Not enough parameters to build a valid rule.');
    assert.equal((await n('POST', '/os-security-group-rules', demo, { security_group_rule: { parent_group_id: 'nope' } })).status, 400);

    const foreign = await n('POST', '/os-security-group-rules', outsider.token, { security_group_rule: { parent_group_id: groupId, ip_protocol: 'tcp', from_port: 1, to_port: 2 } });
    assert.equal(foreign.status, 404);
    assert.equal((await n('DELETE', `/os-security-group-rules/${rule.id}`, outsider.token)).status, 404);
    assert.equal((await n('DELETE', `/os-security-group-rules/${rule.id}`, demo)).status, 202);
    assert.equal((await n('DELETE', `/os-security-group-rules/${rule.id}`, demo)).status, 404);
  });

  it('updates a security group through the proxy', async () => {
    const updated = await n('PUT', `/os-security-groups/${groupId}`, demo, { security_group: { name: 'proxy-web2', description: 'changed' } });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assert.equal(updated.json.security_group.description, 'changed');
    // With Neutron, Nova passes a blank description on (gophercloud's TestSecGroupsCRUD clears it).
    const cleared = await n('PUT', `/os-security-groups/${groupId}`, demo, { security_group: { name: 'proxy-web2', description: '' } });
    assert.equal(cleared.status, 200, JSON.stringify(cleared.body));
    assert.equal(cleared.json.security_group.description, '');
    assert.equal((await n('PUT', `/os-security-groups/${groupId}`, demo, { security_group: { name: 'x' } })).status, 400, 'description is required');
    assert.equal((await n('PUT', `/os-security-groups/${groupId}`, outsider.token, { security_group: { name: 'x', description: '' } })).status, 404);
  });

  it('is gone from 2.36', async () => {
    for (const path of ['/os-floating-ips', '/os-floating-ip-pools', '/os-networks', `/os-networks/${networkId}`, '/os-tenant-networks']) {
      assert.equal((await n('GET', path, demo, undefined, '2.36')).status, 404, path);
    }
    const rule = await n('POST', '/os-security-group-rules', demo, { security_group_rule: { parent_group_id: groupId, ip_protocol: 'tcp', from_port: 1, to_port: 2 } }, '2.36');
    assert.equal(rule.status, 404);
    assert.equal((await n('POST', '/os-floating-ips', demo, {}, '2.36')).status, 404);
  });
});
