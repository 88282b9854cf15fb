// Compute's routes declare Nova's request schemas; a request they refuse gets Nova's 400,
// `{"badRequest": {"code": 400, "message": "Invalid input for field/attribute <name>. Value: <value>. <reason>"}}`,
// before any lookup (an unknown server with a bad body is still a 400, as in Nova).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import AjvCompiler from '@fastify/ajv-compiler';
import { api, startTestCloud, type ApiResponse, type TestCloud } from '../../helpers/cloud.js';
import { activeImage, nova } from './helpers.js';
import * as actions from '../../../src/services/compute/schemas/actions.js';
import * as aggregates from '../../../src/services/compute/schemas/aggregates.js';
import * as flavors from '../../../src/services/compute/schemas/flavors.js';
import * as images from '../../../src/services/compute/schemas/images.js';
import * as keypairs from '../../../src/services/compute/schemas/keypairs.js';
import * as quotas from '../../../src/services/compute/schemas/quotas.js';
import * as securityGroups from '../../../src/services/compute/schemas/security-groups.js';
import * as serverGroups from '../../../src/services/compute/schemas/server-groups.js';
import * as serverResources from '../../../src/services/compute/schemas/server-resources.js';
import * as servers from '../../../src/services/compute/schemas/servers.js';
import * as services from '../../../src/services/compute/schemas/services.js';
import * as usage from '../../../src/services/compute/schemas/usage.js';

function badRequest(res: ApiResponse, message: string | RegExp): void {
  assert.equal(res.status, 400, `expected 400, got ${res.status}: ${JSON.stringify(res.body)}`);
  const body = res.json.badRequest as { code: number; message: string } | undefined;
  assert.ok(body, `expected a badRequest body: ${JSON.stringify(res.body)}`);
  assert.equal(body.code, 400);
  if (typeof message === 'string') assert.equal(body.message, message);
  else assert.match(body.message, message);
}

describe('compute request schemas', () => {
  it('all compile with the server\'s own Ajv options (versioned ones compile on first use)', () => {
    type Compile = (route: { schema: unknown; method: string; url: string; httpPart: string }) => unknown;
    const build = AjvCompiler() as unknown as (external: Record<string, unknown>, options: unknown) => Compile;
    const compile = build({}, { customOptions: { coerceTypes: false, useDefaults: false, removeAdditional: false, allowUnionTypes: true } });
    const modules = [actions, aggregates, flavors, images, keypairs, quotas, securityGroups, serverGroups, serverResources, servers, services, usage];
    let compiled = 0;
    for (const module of modules) {
      for (const [name, value] of Object.entries(module)) {
        if (typeof value !== 'object' || value === null) continue;
        // A schema, or a microversion map of them.
        const schemas = 'type' in value ? [value] : Object.values(value).filter((v) => typeof v === 'object' && v !== null);
        for (const schema of schemas) {
          assert.doesNotThrow(() => compile({ schema, method: 'POST', url: `/${name}`, httpPart: 'body' }), name);
          compiled++;
        }
      }
    }
    assert.ok(compiled > 30, `only ${compiled} schemas`);
  });
});

describe('compute refuses bad input with Nova\'s schema messages', () => {
  let cloud: TestCloud;
  let admin: string;
  let demo: string;
  let image: string;
  let good: Record<string, unknown>;
  const server = randomUUID();

  before(async () => {
    cloud = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake' } });
    admin = await cloud.token('admin');
    demo = await cloud.token('demo');
    image = await activeImage(cloud.url, admin);
    good = { name: 'ok', imageRef: image, flavorRef: '42', networks: 'none' };
  });
  after(async () => cloud?.stop());

  const boot = (body: unknown, version?: string) => nova(cloud.url, 'POST', '/servers', demo, body, version);

  it('POST /servers: types, names, ranges, formats, extra and missing members, by microversion', async () => {
    badRequest(await boot({}), "'server' is a required property");
    badRequest(await boot([]), "[] is not of type 'object'");
    badRequest(await boot({ server: good, extra: 1 }), /^Additional properties are not allowed \('extra' was unexpected\)$/);
    badRequest(await boot({ server: { ...good, name: 42 } }), "Invalid input for field/attribute name. Value: 42. 42 is not of type 'string'");
    badRequest(await boot({ server: { ...good, name: ' padded' } }), "An invalid 'name' value was provided. The name must be: printable characters. Can not start or end with whitespace.");
    badRequest(await boot({ server: { ...good, name: 'x'.repeat(256) } }), /^Invalid input for field\/attribute name\. Value: x+\. 'x+' is too long$/);
    badRequest(await boot({ server: { ...good, min_count: 0 } }), 'Invalid input for field/attribute min_count. Value: 0. 0 is less than the minimum of 1');
    // Nova's validator compares numbers written as strings too.
    badRequest(await boot({ server: { ...good, min_count: '0' } }), 'Invalid input for field/attribute min_count. Value: 0. 0 is less than the minimum of 1');
    badRequest(await boot({ server: { ...good, max_count: 'two' } }), "Invalid input for field/attribute max_count. Value: two. 'two' does not match '^[0-9]*$'");
    badRequest(await boot({ server: { ...good, bogus: 1 } }), /^Invalid input for field\/attribute server\. Value: \{'name': 'ok', .*\}\. Additional properties are not allowed \('bogus' was unexpected\)$/);
    badRequest(await boot({ server: { ...good, metadata: { k: 1 } } }), "Invalid input for field/attribute k. Value: 1. 1 is not of type 'string'");
    badRequest(
      await boot({ server: { ...good, metadata: { 'a/b': 'x' } } }),
      "Invalid input for field/attribute metadata. Value: {'a/b': 'x'}. 'a/b' does not match any of the regexes: '^[a-zA-Z0-9-_:. ]{1,255}$'",
    );
    badRequest(await boot({ server: { ...good, user_data: 'not base64!' } }), "Invalid input for field/attribute user_data. Value: not base64!. 'not base64!' is not a 'base64'");
    badRequest(await boot({ server: { ...good, accessIPv4: '1.2.3' } }), "Invalid input for field/attribute accessIPv4. Value: 1.2.3. '1.2.3' is not a 'ipv4'");
    badRequest(await boot({ server: { ...good, config_drive: 'perhaps' } }), /^Invalid input for field\/attribute config_drive\. Value: perhaps\. 'perhaps' is not one of \[True, 'True', /);
    badRequest(await boot({ server: { ...good, security_groups: [{ name: 'default', id: 1 }] } }), /Additional properties are not allowed \('id' was unexpected\)$/);
    badRequest(await boot({ server: good, 'os:scheduler_hints': { group: 'nope' } }), "Invalid input for field/attribute group. Value: nope. 'nope' is not valid under any of the given schemas");
    // description from 2.19; networks required from 2.37, where a network's uuid must be one.
    badRequest(await boot({ server: { ...good, description: 'd' } }), /Additional properties are not allowed \('description' was unexpected\)$/);
    badRequest(await boot({ server: { ...good, description: 7 } }, '2.19'), "Invalid input for field/attribute description. Value: 7. 7 is not of type 'string', 'null'");
    const { networks: _networks, ...noNetworks } = good;
    badRequest(await boot({ server: noNetworks }, '2.37'), /^Invalid input for field\/attribute server\. Value: \{.*\}\. 'networks' is a required property$/);
    badRequest(await boot({ server: { ...good, networks: 'all' } }, '2.37'), "Invalid input for field/attribute networks. Value: all. 'all' is not valid under any of the given schemas");
  });

  it('PUT /servers/{id} and the metadata routes', async () => {
    badRequest(await nova(cloud.url, 'PUT', `/servers/${server}`, demo, { server: { name: 7 } }), "Invalid input for field/attribute name. Value: 7. 7 is not of type 'string'");
    badRequest(await nova(cloud.url, 'PUT', `/servers/${server}`, demo, { server: { description: 'd' } }), /Additional properties are not allowed \('description' was unexpected\)$/);
    badRequest(await nova(cloud.url, 'PUT', `/servers/${server}`, demo, {}), "'server' is a required property");
    badRequest(await nova(cloud.url, 'PUT', `/servers/${server}`, demo, { server: { accessIPv6: 'nope' } }), "Invalid input for field/attribute accessIPv6. Value: nope. 'nope' is not a 'ipv6'");
    badRequest(await nova(cloud.url, 'POST', `/servers/${server}/metadata`, demo, { metadata: { a: 'x'.repeat(256) } }), /^Invalid input for field\/attribute a\. Value: x+\. 'x+' is too long$/);
    badRequest(await nova(cloud.url, 'PUT', `/servers/${server}/metadata`, demo, { meta: {} }), /'metadata' is a required property$/);
    badRequest(await nova(cloud.url, 'PUT', `/servers/${server}/metadata/a`, demo, { meta: { a: '1', b: '2' } }), "Invalid input for field/attribute meta. Value: {'a': '1', 'b': '2'}. {'a': '1', 'b': '2'} has too many properties");
  });

  it('POST /servers/{id}/action checks each action against its own schema', async () => {
    const act = (body: unknown, version?: string) => nova(cloud.url, 'POST', `/servers/${server}/action`, demo, body, version);
    badRequest(await act({ reboot: { type: 'GENTLE' } }), "Invalid input for field/attribute type. Value: GENTLE. 'GENTLE' is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']");
    badRequest(await act({ reboot: null }), "Invalid input for field/attribute reboot. Value: None. None is not of type 'object'");
    badRequest(await act({ reboot: {} }), "Invalid input for field/attribute reboot. Value: {}. 'type' is a required property");
    badRequest(await act({ resize: { flavorRef: '1', size: 2 } }), "Invalid input for field/attribute resize. Value: {'flavorRef': '1', 'size': 2}. Additional properties are not allowed ('size' was unexpected)");
    badRequest(await act({ rebuild: { imageRef: 'not-a-uuid' } }), "Invalid input for field/attribute imageRef. Value: not-a-uuid. 'not-a-uuid' is not a 'uuid'");
    badRequest(await act({ rebuild: { imageRef: image, description: 'd' } }), /Additional properties are not allowed \('description' was unexpected\)$/);
    badRequest(await act({ createImage: { name: '' } }), "Invalid input for field/attribute name. Value: . '' should be non-empty");
    badRequest(await act({ 'os-getConsoleOutput': { length: -2 } }), 'Invalid input for field/attribute length. Value: -2. -2 is less than the minimum of -1');
    badRequest(await act({ 'os-getConsoleOutput': { length: 'ten' } }), "Invalid input for field/attribute length. Value: ten. 'ten' does not match '^-?[0-9]+$'");
    badRequest(await act({ 'os-getVNCConsole': { type: 'magic' } }), "Invalid input for field/attribute type. Value: magic. 'magic' is not one of ['novnc', 'xvpvnc']");
    badRequest(await act({ addSecurityGroup: {} }), "Invalid input for field/attribute addSecurityGroup. Value: {}. 'name' is a required property");
    badRequest(await act({ trigger_crash_dump: {} }, '2.17'), "Invalid input for field/attribute trigger_crash_dump. Value: {}. {} is not of type 'null'");
    badRequest(await act({ 'os-stop': null, 'os-start': null }), 'Malformed request body: too many body keys');
    // A good body goes on to the lookup.
    assert.equal((await act({ rebuild: { imageRef: image, description: 'd' } }, '2.19')).status, 404);
  });

  it('remote consoles from 2.6 (404 before, whatever the body)', async () => {
    const consoles = (body: unknown, version: string) => nova(cloud.url, 'POST', `/servers/${server}/remote-consoles`, demo, body, version);
    assert.equal((await consoles({ nonsense: true }, '2.5')).status, 404);
    badRequest(await consoles({ remote_console: { protocol: 'telnet', type: 'novnc' } }, '2.6'), /^Invalid input for field\/attribute protocol\. Value: telnet\. 'telnet' is not one of \['vnc', /);
    badRequest(await consoles({ remote_console: { protocol: 'vnc' } }, '2.6'), "Invalid input for field/attribute remote_console. Value: {'protocol': 'vnc'}. 'type' is a required property");
  });

  it('query strings: servers, flavors, keypairs, usage, hypervisors, images (paging only where its microversion has it)', async () => {
    const get = (path: string, token = demo, version?: string) => nova(cloud.url, 'GET', path, token, undefined, version);
    badRequest(await get('/servers?limit=-1'), "Invalid input for query parameters limit. Value: -1. '-1' does not match '^[0-9]*$'");
    badRequest(await get('/servers/detail?limit=1&limit=x'), "Invalid input for query parameters limit. Value: x. 'x' does not match '^[0-9]*$'");
    badRequest(await get('/servers?sort_dir=up'), "Invalid input for query parameters sort_dir. Value: up. 'up' is not one of ['asc', 'desc']");
    // Horizon's instance list repeats sort_key and sort_dir; each value is checked alone.
    const horizonList = await get('/servers/detail?limit=21&sort_dir=desc&sort_dir=desc&sort_dir=desc&sort_key=created_at&sort_key=display_name&sort_key=uuid');
    assert.equal(horizonList.status, 200, JSON.stringify(horizonList.body));
    badRequest(await get('/servers/detail?sort_key=created_at&sort_key=bogus'), /^Invalid input for query parameters sort_key\. Value: bogus\. 'bogus' is not one of \[/);
    badRequest(await get('/flavors?limit=many'), "Invalid input for query parameters limit. Value: many. 'many' does not match '^[0-9]*$'");
    badRequest(await get('/flavors/detail?sort_key=colour'), /^Invalid input for query parameters sort_key\. Value: colour\. 'colour' is not one of \[/);
    badRequest(await get('/os-keypairs?limit=-3', demo, '2.35'), "Invalid input for query parameters limit. Value: -3. '-3' does not match '^[0-9]*$'");
    badRequest(await get('/os-simple-tenant-usage?limit=x', admin, '2.40'), "Invalid input for query parameters limit. Value: x. 'x' does not match '^[0-9]*$'");
    badRequest(await get('/os-hypervisors?limit=x', admin, '2.33'), "Invalid input for query parameters limit. Value: x. 'x' does not match '^[0-9]*$'");
    badRequest(await get('/images?limit=-1'), "Invalid input for query parameters limit. Value: -1. '-1' does not match '^[0-9]*$'");
    // Before the microversion that brings paging, Nova's schema does not name the parameters.
    assert.equal((await get('/os-keypairs?limit=-3', demo, '2.34')).status, 200);
    assert.equal((await get('/os-hypervisors?limit=x', admin, '2.32')).status, 200);
    assert.equal((await get('/os-simple-tenant-usage?limit=x', admin, '2.39')).status, 200);
    assert.equal((await get('/images?limit=x', demo, '2.36')).status, 404);
    // Parameters Nova's schemas do not name pass, as they do before 2.75.
    assert.equal((await get('/servers?whatever=1')).status, 200);
    // A bodiless DELETE with a JSON content type to a path compute does not serve is its 404, not a parse error.
    const gone = await api(cloud.url, 'DELETE', '/compute/v2.1/os-no-such-thing/1', demo, undefined, { 'content-type': 'application/json' });
    assert.equal(gone.status, 404, JSON.stringify(gone.body));
  });

  it('flavors, extra specs and flavor access', async () => {
    const base = { name: 'bad', ram: 1, vcpus: 1, disk: 0 };
    const create = (flavor: unknown) => nova(cloud.url, 'POST', '/flavors', admin, { flavor });
    badRequest(await create({ ...base, ram: 0 }), 'Invalid input for field/attribute ram. Value: 0. 0 is less than the minimum of 1');
    badRequest(await create({ ...base, vcpus: '0' }), 'Invalid input for field/attribute vcpus. Value: 0. 0 is less than the minimum of 1');
    badRequest(await create({ ...base, disk: 2147483648 }), 'Invalid input for field/attribute disk. Value: 2147483648. 2147483648 is greater than the maximum of 2147483647');
    badRequest(await create({ ...base, rxtx_factor: 0 }), 'Invalid input for field/attribute rxtx_factor. Value: 0. 0 is less than or equal to the minimum of 0');
    badRequest(await create({ ...base, id: 'bad/id' }), "Invalid input for field/attribute id. Value: bad/id. 'bad/id' does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'");
    badRequest(await create({ name: 'bad', ram: 1, vcpus: 1 }), "Invalid input for field/attribute flavor. Value: {'name': 'bad', 'ram': 1, 'vcpus': 1}. 'disk' is a required property");
    // A number is an id too (tempest's test_create_flavor_with_int_id), kept as its decimal string.
    const numbered = await create({ ...base, name: 'numbered', ram: '1024', id: 918273 });
    assert.equal(numbered.status, 200, JSON.stringify(numbered.body));
    assert.equal(numbered.json.flavor.id, '918273');
    badRequest(await nova(cloud.url, 'POST', '/flavors/1/os-extra_specs', admin, { extra_specs: { k: ['v'] } }), "Invalid input for field/attribute k. Value: ['v']. ['v'] is not of type 'string', 'number', 'boolean'");
    badRequest(await nova(cloud.url, 'POST', '/flavors/1/action', admin, { addTenantAccess: { tenant: '' } }), "Invalid input for field/attribute tenant. Value: . '' should be non-empty");
    badRequest(await nova(cloud.url, 'POST', '/flavors/1/action', admin, { removeTenantAccess: {} }), "Invalid input for field/attribute removeTenantAccess. Value: {}. 'tenant' is a required property");
  });

  it('keypairs by microversion', async () => {
    const create = (keypair: unknown, version?: string) => nova(cloud.url, 'POST', '/os-keypairs', demo, { keypair }, version);
    badRequest(await create({ name: 'k', type: 'ssh' }), "Invalid input for field/attribute keypair. Value: {'name': 'k', 'type': 'ssh'}. Additional properties are not allowed ('type' was unexpected)");
    badRequest(await create({ name: 'k', type: 'pgp' }, '2.2'), "Invalid input for field/attribute type. Value: pgp. 'pgp' is not one of ['ssh', 'x509']");
    badRequest(await create({ name: 'k', public_key: 42 }), "Invalid input for field/attribute public_key. Value: 42. 42 is not of type 'string'");
    badRequest(await create({}), "Invalid input for field/attribute keypair. Value: {}. 'name' is a required property");
  });

  it('quota sets and quota class sets', async () => {
    const project = randomUUID().replaceAll('-', '');
    const put = (body: unknown, version?: string) => nova(cloud.url, 'PUT', `/os-quota-sets/${project}`, admin, body, version);
    badRequest(await put({ quota_set: { instances: -2 } }), 'Invalid input for field/attribute instances. Value: -2. -2 is less than the minimum of -1');
    badRequest(await put({ quota_set: { cores: 'many' } }), "Invalid input for field/attribute cores. Value: many. 'many' does not match '^-?[0-9]+$'");
    badRequest(await put({ quota_set: { force: 'sometimes' } }), /^Invalid input for field\/attribute force\. Value: sometimes\. 'sometimes' is not one of \[True, /);
    badRequest(await put({ quota_set: { floating_ips: 1 } }, '2.36'), "Invalid input for field/attribute quota_set. Value: {'floating_ips': 1}. Additional properties are not allowed ('floating_ips' was unexpected)");
    assert.equal((await put({ quota_set: { floating_ips: 1 } }, '2.35')).status, 200);
    badRequest(await nova(cloud.url, 'PUT', '/os-quota-class-sets/default', admin, { quota_class_set: { force: true } }), /Additional properties are not allowed \('force' was unexpected\)$/);
  });

  it('server groups by microversion', async () => {
    const create = (group: unknown, version?: string) => nova(cloud.url, 'POST', '/os-server-groups', demo, { server_group: group }, version);
    badRequest(await create({ name: 'g', policies: ['bogus'] }), "Invalid input for field/attribute 0. Value: bogus. 'bogus' is not one of ['anti-affinity', 'affinity']");
    badRequest(await create({ name: 'g', policies: ['soft-affinity'] }), "Invalid input for field/attribute 0. Value: soft-affinity. 'soft-affinity' is not one of ['anti-affinity', 'affinity']");
    assert.equal((await create({ name: 'g', policies: ['soft-affinity'] }, '2.15')).status, 200);
    badRequest(await create({ name: 'g', policies: [] }), "Invalid input for field/attribute policies. Value: []. [] should be non-empty");
    badRequest(await create({ name: 'g' }), "Invalid input for field/attribute server_group. Value: {'name': 'g'}. 'policies' is a required property");
  });

  it('aggregates and services (admin APIs)', async () => {
    badRequest(await nova(cloud.url, 'POST', '/os-aggregates', admin, { aggregate: {} }), "Invalid input for field/attribute aggregate. Value: {}. 'name' is a required property");
    badRequest(await nova(cloud.url, 'POST', '/os-aggregates', admin, { aggregate: { name: 'a', availability_zone: 'a:b' } }), /^An invalid 'name' value was provided|Invalid input for field\/attribute availability_zone\. Value: a:b\./);
    badRequest(await nova(cloud.url, 'PUT', '/os-aggregates/1', admin, { aggregate: {} }), "Invalid input for field/attribute aggregate. Value: {}. {} is not valid under any of the given schemas");
    badRequest(await nova(cloud.url, 'POST', '/os-aggregates/1/action', admin, { add_host: { host: 'bad host!' } }), "Invalid input for field/attribute host. Value: bad host!. 'bad host!' does not match '^[a-zA-Z0-9-._]*$'");
    badRequest(await nova(cloud.url, 'POST', '/os-aggregates/1/action', admin, { set_metadata: { metadata: { k: 1 } } }), "Invalid input for field/attribute k. Value: 1. 1 is not of type 'string', 'null'");
    badRequest(await nova(cloud.url, 'PUT', '/os-services/disable', admin, { host: 'h' }), "'binary' is a required property");
    badRequest(await nova(cloud.url, 'PUT', '/os-services/disable', admin, { host: 'h', binary: 'nova-compute', forced_down: true }), "Additional properties are not allowed ('forced_down' was unexpected)");
    badRequest(await nova(cloud.url, 'PUT', '/os-services/force-down', admin, { host: 'h', binary: 'nova-compute', forced_down: 'maybe' }, '2.11'), /^Invalid input for field\/attribute forced_down\. Value: maybe\. 'maybe' is not one of /);
    assert.equal((await nova(cloud.url, 'PUT', '/os-services/force-down', admin, { nonsense: 1 }, '2.10')).status, 404);
  });

  it("a server's interfaces, volume attachments and tags", async () => {
    badRequest(await nova(cloud.url, 'POST', `/servers/${server}/os-interface`, demo, { interfaceAttachment: { port_id: 'nope' } }), "Invalid input for field/attribute port_id. Value: nope. 'nope' is not a 'uuid'");
    badRequest(
      await nova(cloud.url, 'POST', `/servers/${server}/os-interface`, demo, { interfaceAttachment: { net_id: randomUUID(), fixed_ips: [] } }),
      'Invalid input for field/attribute fixed_ips. Value: []. [] should be non-empty',
    );
    badRequest(await nova(cloud.url, 'POST', `/servers/${server}/os-volume_attachments`, demo, { volumeAttachment: {} }), "Invalid input for field/attribute volumeAttachment. Value: {}. 'volumeId' is a required property");
    badRequest(
      await nova(cloud.url, 'POST', `/servers/${server}/os-volume_attachments`, demo, { volumeAttachment: { volumeId: randomUUID(), device: 'sdb' } }),
      "Invalid input for field/attribute device. Value: sdb. 'sdb' does not match '(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$'",
    );
    badRequest(await nova(cloud.url, 'PUT', `/servers/${server}/tags`, demo, { tags: ['a/b'] }, '2.26'), "Invalid input for field/attribute 0. Value: a/b. 'a/b' does not match '^[^,/]*$'");
    badRequest(await nova(cloud.url, 'PUT', `/servers/${server}/tags`, demo, { tag: [] }, '2.26'), "'tags' is a required property");
    assert.equal((await nova(cloud.url, 'PUT', `/servers/${server}/tags`, demo, { tag: [] }, '2.25')).status, 404);
  });

  it('the os-security-groups proxy until 2.36', async () => {
    badRequest(await nova(cloud.url, 'POST', '/os-security-groups', demo, { security_group: { name: 1, description: '' } }), "Invalid input for field/attribute name. Value: 1. 1 is not of type 'string'");
    badRequest(await nova(cloud.url, 'POST', '/os-security-groups', demo, { security_group: { name: 'n' } }), "Invalid input for field/attribute security_group. Value: {'name': 'n'}. 'description' is a required property");
    assert.equal((await nova(cloud.url, 'POST', '/os-security-groups', demo, { security_group: { name: 1 } }, '2.36')).status, 404);
  });
});
