// Bad requests to the servers API get Nova's error body ({"badRequest": {"code", "message"}},
// itemNotFound, conflictingRequest, ...) with the right 4xx, never a 500.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type ApiResponse, type TestCloud } from '../../helpers/cloud.js';
import { activeImage, boot, nova, waitForServer } from './helpers.js';

function refused(res: ApiResponse, status: number, key: string, message?: RegExp): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  const body = res.json[key] as { code: number; message: string } | undefined;
  assert.ok(body, `expected a ${key} body: ${JSON.stringify(res.body)}`);
  assert.equal(body.code, status);
  if (message) assert.match(body.message, message);
}

describe('servers API refuses bad input', () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  let image: string;
  let good: Record<string, unknown>;

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake' } });
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    image = await activeImage(cloud.url, admin);
    good = { name: 'ok', imageRef: image, flavorRef: '42', networks: 'none' };
  });
  after(async () => cloud?.stop());

  it('refuses malformed create bodies', async () => {
    refused(await nova(cloud.url, 'POST', '/servers', demo, 'not json'), 400, 'badRequest');
    refused(await nova(cloud.url, 'POST', '/servers', demo, { server: 'x' }), 400, 'badRequest', /is not of type 'object'/);
    refused(await nova(cloud.url, 'POST', '/servers', demo, { notserver: {} }), 400, 'badRequest', /'server' is a required property/);
    const { name: _name, ...noName } = good;
    refused(await boot(cloud.url, demo, noName), 400, 'badRequest', /'name' is a required property/);
    refused(await boot(cloud.url, demo, { ...good, name: 42 }), 400, 'badRequest', /is not of type 'string'/);
    refused(await boot(cloud.url, demo, { ...good, name: '' }), 400, 'badRequest');
    refused(await boot(cloud.url, demo, { ...good, bogus: 1 }), 400, 'badRequest', /Additional properties are not allowed \('bogus' was unexpected\)/);
    refused(await boot(cloud.url, demo, { ...good, min_count: 0 }), 400, 'badRequest');
    refused(await boot(cloud.url, demo, { ...good, min_count: 3, max_count: 2 }), 400, 'badRequest');
    refused(await boot(cloud.url, demo, { ...good, metadata: { k: 1 } }), 400, 'badRequest');
    refused(await boot(cloud.url, demo, { ...good, user_data: 'not base64!' }), 400, 'badRequest', /base64/);
    refused(await boot(cloud.url, demo, { ...good, security_groups: 'default' }), 400, 'badRequest');
    refused(await boot(cloud.url, demo, { ...good, key_name: 'nope' }), 400, 'badRequest', /Invalid key_name provided/);
  });

  it('refuses unknown flavors and images', async () => {
    refused(await boot(cloud.url, demo, { ...good, flavorRef: '9999' }), 400, 'badRequest', /Invalid flavorRef provided/);
    refused(await boot(cloud.url, demo, { ...good, flavorRef: { id: 1 } }), 400, 'badRequest');
    refused(await boot(cloud.url, demo, { ...good, imageRef: 'not-a-uuid' }), 400, 'badRequest', /Invalid imageRef provided/);
    refused(await boot(cloud.url, demo, { ...good, imageRef: randomUUID() }), 400, 'badRequest', /could not be found/);
  });

  it('refuses malformed networks', async () => {
    refused(await boot(cloud.url, demo, { ...good, networks: 'everything' }), 400, 'badRequest');
    refused(await boot(cloud.url, demo, { ...good, networks: [{ uuid: 'not-a-uuid' }] }), 400, 'badRequest', /network uuid is not in proper format/);
    refused(await boot(cloud.url, demo, { ...good, networks: [{}] }), 400, 'badRequest');
    refused(await boot(cloud.url, demo, { ...good, networks: [{ uuid: randomUUID(), extra: 1 }] }), 400, 'badRequest');
    refused(await boot(cloud.url, demo, { ...good, networks: [{ uuid: randomUUID() }] }), 400, 'badRequest', /Network .* could not be found/);
    refused(await boot(cloud.url, demo, { ...good, networks: [{ port: randomUUID() }] }), 400, 'badRequest', /Port .* could not be found/);
  });

  it('refuses bad scheduler hints', async () => {
    refused(await boot(cloud.url, demo, good, { group: 'nope' }), 400, 'badRequest');
    refused(await boot(cloud.url, demo, good, { group: randomUUID() }), 400, 'badRequest', /Invalid server group/);
    refused(await boot(cloud.url, demo, good, { same_host: ['x'] }), 400, 'badRequest');
  });

  it('answers unknown servers with 404 itemNotFound', async () => {
    refused(await nova(cloud.url, 'GET', '/servers/not-a-uuid', demo), 404, 'itemNotFound');
    refused(await nova(cloud.url, 'GET', `/servers/${randomUUID()}`, demo), 404, 'itemNotFound', /could not be found/);
    refused(await nova(cloud.url, 'DELETE', `/servers/${randomUUID()}`, demo), 404, 'itemNotFound');
    refused(await nova(cloud.url, 'POST', `/servers/${randomUUID()}/action`, demo, { 'os-stop': null }), 404, 'itemNotFound');
    refused(await nova(cloud.url, 'GET', '/no-such-thing', demo), 404, 'itemNotFound');
  });

  it('keeps projects apart', async () => {
    const created = await boot(cloud.url, admin, { ...good, name: 'admins' });
    assert.equal(created.status, 202);
    refused(await nova(cloud.url, 'GET', `/servers/${created.json.server.id}`, demo), 404, 'itemNotFound');
    const listed = await nova(cloud.url, 'GET', '/servers', demo);
    assert.ok(!listed.json.servers.some((s: { id: string }) => s.id === created.json.server.id));
    refused(await nova(cloud.url, 'GET', '/servers?all_tenants=1', demo), 403, 'forbidden');
    refused(await nova(cloud.url, 'GET', '/os-hypervisors', demo), 403, 'forbidden');
    refused(await nova(cloud.url, 'GET', '/os-services', demo), 403, 'forbidden');
  });

  it('refuses bad actions and actions in the wrong state', async () => {
    const created = await boot(cloud.url, demo, good);
    const id = created.json.server.id as string;
    await waitForServer(cloud.url, demo, id, ['ACTIVE']);
    const act = (body: unknown) => nova(cloud.url, 'POST', `/servers/${id}/action`, demo, body);
    refused(await act({ fly: null }), 400, 'badRequest', /no such action/);
    refused(await act({ 'os-stop': null, 'os-start': null }), 400, 'badRequest');
    refused(await act({ reboot: { type: 'GENTLE' } }), 400, 'badRequest');
    refused(await act({ reboot: null }), 400, 'badRequest');
    refused(await act({ resize: {} }), 400, 'badRequest', /'flavorRef' is a required property/);
    refused(await act({ resize: { flavorRef: '9999' } }), 400, 'badRequest');
    refused(await act({ 'os-start': null }), 409, 'conflictingRequest', /while it is in vm_state active/);
    refused(await act({ unpause: null }), 409, 'conflictingRequest');
    refused(await act({ confirmResize: null }), 409, 'conflictingRequest');
    refused(await act({ createImage: {} }), 400, 'badRequest');
    refused(await act({ 'os-getVNCConsole': { type: 'magic' } }), 400, 'badRequest');
    // A locked server refuses a member's actions and delete.
    assert.equal((await act({ lock: null })).status, 202);
    assert.equal((await nova(cloud.url, 'POST', `/servers/${id}/action`, admin, { unlock: null })).status, 202);
    assert.equal((await act({ lock: null })).status, 202);
    refused(await act({ 'os-stop': null }), 409, 'conflictingRequest', /is locked/);
    refused(await nova(cloud.url, 'DELETE', `/servers/${id}`, demo), 409, 'conflictingRequest', /is locked/);
    assert.equal((await act({ unlock: null })).status, 202);
    refused(await nova(cloud.url, 'PUT', `/servers/${id}`, demo, { server: { name: 7 } }), 400, 'badRequest');
    refused(await nova(cloud.url, 'PUT', `/servers/${id}/metadata/a`, demo, { meta: { b: 'x' } }), 400, 'badRequest', /mismatch/);
    refused(await nova(cloud.url, 'GET', `/servers/${id}/metadata/none`, demo), 404, 'itemNotFound');
    refused(await nova(cloud.url, 'GET', `/servers?limit=-1`, demo), 400, 'badRequest');
    refused(await nova(cloud.url, 'GET', `/servers?marker=${randomUUID()}`, demo), 400, 'badRequest');
    refused(await nova(cloud.url, 'GET', `/servers?name=(`, demo), 400, 'badRequest');
  });

  it('negotiates microversions as Nova does', async () => {
    const latest = await nova(cloud.url, 'GET', '/flavors', demo, undefined, 'latest');
    assert.equal(latest.status, 200);
    assert.equal(latest.headers.get('openstack-api-version'), 'compute 2.41');
    const plain = await nova(cloud.url, 'GET', '/flavors', demo);
    assert.equal(plain.headers.get('openstack-api-version'), 'compute 2.1');
    assert.equal(plain.headers.get('x-openstack-nova-api-version'), '2.1');
    refused(await nova(cloud.url, 'GET', '/flavors', demo, undefined, '2.99'), 406, 'notAcceptable', /Minimum is 2.1 and maximum is 2.41/);
    refused(await nova(cloud.url, 'GET', '/flavors', demo, undefined, 'two'), 400, 'badRequest', /invalid format/);
    const legacy = await api(cloud.url, 'GET', '/compute/v2.1/flavors', demo, undefined, { 'X-OpenStack-Nova-API-Version': '2.10' });
    assert.equal(legacy.headers.get('x-openstack-nova-api-version'), '2.10');
    const discovery = await api(cloud.url, 'GET', '/compute/');
    assert.equal(discovery.status, 200);
    assert.equal(discovery.json.versions[0].id, 'v2.0', 'Nova lists the legacy v2.0 first');
    assert.equal(discovery.json.versions[1].version, '2.41');
    assert.equal(discovery.json.versions[1].min_version, '2.1');
  });
});
