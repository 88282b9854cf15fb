// Security groups on servers, as Nova does them with Neutron: add/removeSecurityGroup change the
// groups of the server's ports in the network service (so the dataplane's desired state follows),
// with the caller's rights; a group the caller cannot see, by name or id, is a 404 at once; a
// boot naming one is a 400 at once; the server's security_groups are read from its ports.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NoopDataplane } from '../../../src/agents/network/dataplane/noop/noop.js';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { projectWithMember, waitFor, type ProjectUser } from '../image/helpers.js';
import { activeImage, boot, nova, waitForServer } from './helpers.js';

const V2 = '/networking/v2.0';

describe('security groups on servers', { timeout: 120_000 }, () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  let outsider: ProjectUser;
  let image: string;
  let networkId: string;
  let web: { id: string; name: string };
  let theirs: { id: string; name: string };
  let serverId: string;

  const action = (id: string, token: string, body: unknown) => nova(cloud.url, 'POST', `/servers/${id}/action`, token, body);
  const portsOf = async (id: string) => {
    const res = await api(cloud.url, 'GET', `${V2}/ports?device_id=${id}`, demo);
    assert.equal(res.status, 200);
    return res.json.ports as Array<{ id: string; security_groups: string[] }>;
  };
  const groupsOfServer = async (id: string) => {
    const res = await nova(cloud.url, 'GET', `/servers/${id}`, demo);
    assert.equal(res.status, 200);
    return res.json.server.security_groups as Array<{ name: string }> | undefined;
  };
  const group = async (token: string, name: string) => {
    const res = await api(cloud.url, 'POST', `${V2}/security-groups`, token, { security_group: { name } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return { id: res.json.security_group.id as string, name };
  };
  /** The security groups of `portId` in the state the host's network agent last applied. */
  const dataplaneGroups = (portId: string) => (cloud.cloud.networkAgent.dataplane as NoopDataplane).current()?.ports.find((p) => p.id === portId)?.securityGroupIds;

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake' } });
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    outsider = await projectWithMember(cloud.url, admin, 'sg-outsider');
    image = await activeImage(cloud.url, admin);
    const network = await api(cloud.url, 'POST', `${V2}/networks`, demo, { network: { name: 'sg-net' } });
    networkId = network.json.network.id;
    assert.equal((await api(cloud.url, 'POST', `${V2}/subnets`, demo, { subnet: { network_id: networkId, cidr: '10.60.0.0/24', ip_version: 4 } })).status, 201);
    web = await group(demo, 'web');
    theirs = await group(outsider.token, 'theirs');
    const created = await boot(cloud.url, demo, { name: 'sg-server', imageRef: image, flavorRef: '42', networks: [{ uuid: networkId }] });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    serverId = created.json.server.id;
    assert.equal((await waitForServer(cloud.url, demo, serverId, ['ACTIVE', 'ERROR'])).status, 'ACTIVE');
  });
  after(async () => cloud?.stop());

  it("addSecurityGroup puts the group on the server's ports, and removeSecurityGroup takes it off, down to the dataplane", async () => {
    const [port] = await portsOf(serverId);
    assert.ok(port);
    assert.ok(!port.security_groups.includes(web.id));

    assert.equal((await action(serverId, demo, { addSecurityGroup: { name: 'web' } })).status, 202);
    assert.ok((await portsOf(serverId))[0]?.security_groups.includes(web.id), 'the port has the group in the network API');
    assert.deepEqual((await groupsOfServer(serverId))?.map((g) => g.name).sort(), ['default', 'web']);
    const listed = await nova(cloud.url, 'GET', `/servers/${serverId}/os-security-groups`, demo);
    assert.ok(listed.json.security_groups.some((g: { id: string }) => g.id === web.id));
    await waitFor('the group in the host agent state', async () => (dataplaneGroups(port.id)?.includes(web.id) ? true : undefined));

    const again = await action(serverId, demo, { addSecurityGroup: { name: web.id } });
    assert.equal(again.status, 400, 'already associated (named by id this time)');

    assert.equal((await action(serverId, demo, { removeSecurityGroup: { name: 'web' } })).status, 202);
    assert.ok(!(await portsOf(serverId))[0]?.security_groups.includes(web.id), 'the port lost the group in the network API');
    assert.deepEqual((await groupsOfServer(serverId))?.map((g) => g.name), ['default']);
    await waitFor('the group gone from the host agent state', async () => (dataplaneGroups(port.id)?.includes(web.id) === false ? true : undefined));

    const notThere = await action(serverId, demo, { removeSecurityGroup: { name: 'web' } });
    assert.equal(notThere.status, 404, JSON.stringify(notThere.body));
    assert.match(notThere.json.itemNotFound.message, /not associated with the instance/);
  });

  it('shows no security_groups once the last group is removed (tempest test_remove_server_all_security_groups)', async () => {
    const created = await boot(cloud.url, demo, { name: 'bare', imageRef: image, flavorRef: '42', networks: [{ uuid: networkId }] });
    const id = created.json.server.id as string;
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    assert.deepEqual((await groupsOfServer(id))?.map((g) => g.name), ['default']);
    assert.equal((await action(id, demo, { removeSecurityGroup: { name: 'default' } })).status, 202);
    assert.deepEqual((await portsOf(id))[0]?.security_groups, []);
    assert.equal(await groupsOfServer(id), undefined);
    assert.equal((await action(id, demo, { addSecurityGroup: { name: 'default' } })).status, 202);
    assert.deepEqual((await groupsOfServer(id))?.map((g) => g.name), ['default']);
  });

  it("refuses unknown groups and other projects' groups, by name or id, with 404 and leaves the ports alone", async () => {
    const before = (await portsOf(serverId))[0]?.security_groups;
    for (const name of ['no-such-group', theirs.id, theirs.name, '00000000-0000-4000-8000-000000000000']) {
      for (const verb of ['addSecurityGroup', 'removeSecurityGroup']) {
        const res = await action(serverId, demo, { [verb]: { name } });
        assert.equal(res.status, 404, `${verb} ${name}: ${JSON.stringify(res.body)}`);
        assert.ok(res.json.itemNotFound, JSON.stringify(res.body));
      }
    }
    assert.deepEqual((await portsOf(serverId))[0]?.security_groups, before);
    // The other project cannot reach the server at all.
    assert.equal((await action(serverId, outsider.token, { addSecurityGroup: { name: 'theirs' } })).status, 404);
    assert.equal((await action(serverId, outsider.token, { removeSecurityGroup: { name: 'default' } })).status, 404);
    assert.deepEqual((await portsOf(serverId))[0]?.security_groups, before);
  });

  it('answers 409 for a name two groups share, and 400 for a port without port security', async () => {
    await group(demo, 'twin');
    await group(demo, 'twin');
    assert.equal((await action(serverId, demo, { addSecurityGroup: { name: 'twin' } })).status, 409);

    const open = await api(cloud.url, 'POST', `${V2}/ports`, demo, { port: { network_id: networkId, port_security_enabled: false } });
    assert.equal(open.status, 201, JSON.stringify(open.body));
    const created = await boot(cloud.url, demo, { name: 'open', imageRef: image, flavorRef: '42', networks: [{ port: open.json.port.id }] });
    const id = created.json.server.id as string;
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    const refused = await action(id, demo, { addSecurityGroup: { name: 'web' } });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.match(refused.json.badRequest.message, /port_security_enabled/);
    assert.deepEqual((await portsOf(id))[0]?.security_groups, []);
  });

  it('answers 404 for a server without ports, as Nova does', async () => {
    const created = await nova(cloud.url, 'POST', '/servers', demo, { server: { name: 'portless', imageRef: image, flavorRef: '42', networks: 'none' } }, '2.37');
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id = created.json.server.id as string;
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    const res = await action(id, demo, { addSecurityGroup: { name: 'web' } });
    assert.equal(res.status, 404, JSON.stringify(res.body));
    assert.match(res.json.itemNotFound.message, /could not be found as device id on any ports/);
  });

  it("refuses a boot naming an unknown or another project's group with 400 at once, and boots with its own by name or id", async () => {
    const count = async () => (await nova(cloud.url, 'GET', '/servers', demo)).json.servers.length as number;
    const servers = await count();
    for (const name of ['no-such-group', theirs.name, theirs.id]) {
      const res = await boot(cloud.url, demo, { name: 'bad-sg', imageRef: image, flavorRef: '42', networks: [{ uuid: networkId }], security_groups: [{ name }] });
      assert.equal(res.status, 400, `${name}: ${JSON.stringify(res.body)}`);
      assert.ok(res.json.badRequest, JSON.stringify(res.body));
    }
    assert.equal(await count(), servers, 'no server was recorded');

    for (const name of ['web', web.id]) {
      const res = await boot(cloud.url, demo, { name: 'good-sg', imageRef: image, flavorRef: '42', networks: [{ uuid: networkId }], security_groups: [{ name }] });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      assert.deepEqual(res.json.server.security_groups, [{ name }], 'the create answer echoes the request');
      const id = res.json.server.id as string;
      assert.equal((await waitForServer(cloud.url, demo, id, ['ACTIVE', 'ERROR'])).status, 'ACTIVE');
      assert.deepEqual((await portsOf(id))[0]?.security_groups, [web.id]);
      assert.deepEqual(await groupsOfServer(id), [{ name: 'web' }]);
    }
  });

  it("lets Neutron refuse deleting a group still on a server's port (400 through the proxy)", async () => {
    const doomed = await group(demo, 'doomed');
    assert.equal((await action(serverId, demo, { addSecurityGroup: { name: 'doomed' } })).status, 202);
    assert.equal((await nova(cloud.url, 'DELETE', `/os-security-groups/${doomed.id}`, demo)).status, 400);
    assert.equal((await action(serverId, demo, { removeSecurityGroup: { name: doomed.id } })).status, 202);
    assert.equal((await nova(cloud.url, 'DELETE', `/os-security-groups/${doomed.id}`, demo)).status, 202);
  });
});
