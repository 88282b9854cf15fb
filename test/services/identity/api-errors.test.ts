import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, DEMO_PASSWORD, startTestCloud, type ApiResponse, type TestCloud } from '../../helpers/cloud.js';
import { fernetEncrypt, generateFernetKey, parseFernetKey } from '../../../src/services/identity/fernet/fernet.js';
import { encodePayload } from '../../../src/services/identity/tokens/payload.js';
import {
  assertKeystoneError,
  IdentityAdmin,
  issue,
  mustIssue,
  passwordAuth,
  rawRequest,
  unique,
  V3,
} from './helpers.js';

type Json = Record<string, unknown>;

/** Keystone's answer to a body that is not JSON (keystone/server/flask/request_processing/json_body.py). */
const NOT_JSON_CONTENT_TYPE = /Expecting to find application\/json in Content-Type header/;

describe('Identity API errors', () => {
  let tc: TestCloud;
  let url: string;
  let admin: string;
  let demo: string;
  let ia: IdentityAdmin;
  const ids = {} as {
    adminUser: string;
    adminProject: string;
    demoUser: string;
    project: string;
    user: string;
    group: string;
    role: string;
    domain: string;
    region: string;
    service: string;
    endpoint: string;
    memberRole: string;
    credential: string;
    registeredLimit: string;
    limit: string;
  };
  const names = {} as { project: string; user: string; group: string; role: string; domain: string };

  before(async () => {
    tc = await startTestCloud();
    url = tc.url;
    admin = await tc.token('admin');
    demo = await tc.token('demo');
    ia = new IdentityAdmin(url, admin);
    ids.adminUser = await ia.userId('admin');
    ids.demoUser = await ia.userId('demo');
    ids.adminProject = await ia.projectId('admin');
    ids.memberRole = await ia.roleId('member');
    names.project = unique('errors-project');
    names.user = unique('errors-user');
    names.group = unique('errors-group');
    names.role = unique('errors-role');
    names.domain = unique('errors-domain');
    ids.project = (await ia.project(names.project)).id;
    ids.user = (await ia.user(names.user, 'user-secret')).id;
    ids.group = (await ia.group(names.group)).id;
    ids.role = (await ia.role(names.role)).id;
    ids.domain = (await ia.domain(names.domain)).id;
    ids.region = unique('errors-region');
    await ia.call('POST', '/regions', { region: { id: ids.region } }, 201);
    ids.service = (await ia.call('POST', '/services', { service: { type: unique('errors-type'), name: 'errors' } }, 201)).json.service.id;
    ids.endpoint = (
      await ia.call('POST', '/endpoints', { endpoint: { service_id: ids.service, interface: 'public', url: 'http://example.org/x', region_id: ids.region } }, 201)
    ).json.endpoint.id;
    ids.credential = (await ia.call('POST', '/credentials', { credential: { user_id: ids.user, type: 'cert', blob: 'x' } }, 201)).json.credential.id;
    const registered = { service_id: ids.service, resource_name: 'errors-resource', default_limit: 10 };
    ids.registeredLimit = (await ia.call('POST', '/registered_limits', { registered_limits: [registered] }, 201)).json.registered_limits[0].id;
    const limit = { project_id: ids.project, service_id: ids.service, resource_name: 'errors-resource', resource_limit: 5 };
    ids.limit = (await ia.call('POST', '/limits', { limits: [limit] }, 201)).json.limits[0].id;
  });

  after(async () => {
    await tc?.stop();
  });

  const call = (method: string, path: string, body?: unknown, token: string | undefined = admin, headers: Record<string, string> = {}) =>
    api(url, method, `${V3}${path}`, token, body, headers);

  describe('bodies that are not JSON objects', () => {
    const bad: Array<[string, string]> = [
      ['unterminated object', '{bad'],
      ['truncated document', '{"project": {"name": "x"}'],
      ['trailing comma', '{"project": {"name": "x",}}'],
      ['single quotes', "{'project': {'name': 'x'}}"],
      ['NaN', '{"project": {"name": NaN}}'],
      ['empty body', ''],
      ['null', 'null'],
      ['array', '[{"project": {"name": "x"}}]'],
      ['string', '"project"'],
      ['number', '42'],
      ['true', 'true'],
    ];
    for (const path of ['/projects', '/auth/tokens', '/users']) {
      it(`POST ${path}: malformed JSON and non-object JSON are 400 in Keystone's shape`, async () => {
        for (const [name, body] of bad) {
          const res = await api(url, 'POST', `${V3}${path}`, admin, body, { 'content-type': 'application/json' });
          assertKeystoneError(res, 400, undefined, name);
        }
      });
    }

    it('PATCH and PUT with malformed JSON are 400 too', async () => {
      assertKeystoneError(await call('PATCH', `/projects/${ids.project}`, '{"project": {'), 400);
      assertKeystoneError(await call('PATCH', `/users/${ids.user}`, '[]'), 400);
      assertKeystoneError(await call('PUT', `/projects/${ids.project}/tags`, '{tags: []}'), 400);
      assertKeystoneError(await call('PUT', `/regions/${unique('r')}`, 'nope'), 400);
    });

    it('a body of another content type is a 400 (as Keystone), not a 415', async () => {
      const body = JSON.stringify({ project: { name: unique('ctype') } });
      for (const contentType of [
        'text/plain',
        'text/plain; charset=utf-8',
        'application/xml',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=xyz',
        'application/octet-stream',
        'garbage',
        'application/jsonp',
      ]) {
        const res = await call('POST', '/projects', body, admin, { 'content-type': contentType });
        assertKeystoneError(res, 400, NOT_JSON_CONTENT_TYPE, contentType);
      }
      const auth = await api(url, 'POST', `${V3}/auth/tokens`, undefined, JSON.stringify(passwordAuth({ id: ids.user }, 'user-secret')), {
        'content-type': 'text/plain',
      });
      assertKeystoneError(auth, 400, NOT_JSON_CONTENT_TYPE, 'auth as text/plain');
    });

    it('accepts the JSON content types Keystone accepts, and a body without Content-Type', async () => {
      for (const contentType of ['application/json; charset=utf-8', 'Application/JSON', 'application/vnd.openstack.identity-v3+json']) {
        const res = await call('POST', '/projects', { project: { name: unique('ctype-ok') } }, admin, { 'content-type': contentType });
        assert.equal(res.status, 201, `${contentType}: ${JSON.stringify(res.body)}`);
      }
      const res = await rawRequest(url, {
        method: 'POST',
        path: `${V3}/projects`,
        headers: { 'x-auth-token': admin },
        body: JSON.stringify({ project: { name: unique('no-ctype') } }),
      });
      assert.equal(res.status, 201, `no Content-Type: ${JSON.stringify(res.body)}`);
      const auth = await rawRequest(url, { method: 'POST', path: `${V3}/auth/tokens`, body: JSON.stringify(passwordAuth({ id: ids.user }, 'user-secret')) });
      assert.equal(auth.status, 201, `auth without Content-Type: ${JSON.stringify(auth.body)}`);
    });

    it('a DELETE with a Content-Type and no body is fine', async () => {
      const tag = unique('tag');
      await ia.call('PUT', `/projects/${ids.project}/tags/${tag}`, undefined, 201);
      const res = await rawRequest(url, {
        method: 'DELETE',
        path: `${V3}/projects/${ids.project}/tags/${tag}`,
        headers: { 'x-auth-token': admin, 'content-type': 'application/json', 'content-length': '0' },
      });
      assert.equal(res.status, 204, JSON.stringify(res.body));
      // Keystone ignores the Content-Type of an empty body, whatever it says.
      await ia.call('PUT', `/projects/${ids.project}/tags/${tag}`, undefined, 201);
      const plain = await rawRequest(url, {
        method: 'DELETE',
        path: `${V3}/projects/${ids.project}/tags/${tag}`,
        headers: { 'x-auth-token': admin, 'content-type': 'text/plain' },
      });
      assert.equal(plain.status, 204, JSON.stringify(plain.body));
    });

    it('deeply nested JSON is a 400, not a stack overflow', async () => {
      for (const depth of [1_000, 100_000]) {
        const array = `${'['.repeat(depth)}${']'.repeat(depth)}`;
        const object = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
        assertKeystoneError(await call('POST', '/projects', `{"project": {"name": "${unique('deep')}", "x": ${array}}}`), 400, undefined, `array ${depth}`);
        assertKeystoneError(await call('PATCH', `/users/${ids.user}`, `{"user": {"x": ${object}}}`), 400, undefined, `object ${depth}`);
        assertKeystoneError(await call('POST', '/auth/tokens', `{"auth": {"identity": ${array}}}`, undefined), 400, undefined, `auth ${depth}`);
      }
      // Ordinary nesting (an extra attribute holding a small document) still works.
      const res = await call('POST', '/projects', { project: { name: unique('shallow'), meta: { a: [{ b: { c: [1, 2, { d: 'e' }] } }] } } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.deepEqual(res.json.project.meta, { a: [{ b: { c: [1, 2, { d: 'e' }] } }] });
    });

    it('NUL characters (which PostgreSQL refuses) are a 400 wherever they come from', async () => {
      const nul = /NUL/;
      assertKeystoneError(await call('POST', '/projects', `{"project": {"name": "a\\u0000b"}}`), 400, nul, 'in a value');
      assertKeystoneError(await call('POST', '/projects', `{"project": {"name": "n", "k\\u0000": 1}}`), 400, nul, 'in a key');
      assertKeystoneError(await call('PATCH', `/users/${ids.user}`, { user: { description: ['x', { y: '\u0000' }] } }), 400, nul, 'nested');
      assertKeystoneError(await call('POST', '/auth/tokens', passwordAuth({ name: 'a\u0000', domain: { id: 'default' } }, 'x'), undefined), 400, nul, 'auth');
      assertKeystoneError(await call('GET', '/projects/%00'), 400, nul, 'in the path');
      assertKeystoneError(await call('GET', '/users?name=a%00b'), 400, nul, 'in the query');
      assertKeystoneError(await call('PUT', '/regions/a%00b', { region: {} }), 400, nul, 'in a new id');
      // An escaped backslash followed by "u0000" is just text.
      const res = await call('POST', '/projects', `{"project": {"name": "${unique('slash')}", "note": "\\\\u0000"}}`);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.json.project.note, '\\u0000');
    });

    it('bodies over the size limit are 413 in Keystone shape', async () => {
      const huge = JSON.stringify({ project: { name: 'huge', description: 'x'.repeat(2 * 1024 * 1024) } });
      assertKeystoneError(await call('POST', '/projects', huge), 413);
      assertKeystoneError(await call('POST', '/auth/tokens', huge, undefined), 413);
    });
  });

  describe('wrong types and values for every field', () => {
    const STRING = [42, 1.5, true, {}, [], ['x']];
    const REQUIRED_STRING = [...STRING, null];
    const BOOL = ['true', 'false', 1, 0, null, {}, []];
    interface Case {
      /** e.g. POST /projects */
      label: string;
      method: 'POST' | 'PATCH';
      path: () => string;
      key: string;
      /** A valid body the wrong value is merged into. */
      base: () => Json;
      fields: Record<string, unknown[]>;
    }
    const cases: Case[] = [
      {
        label: 'POST /projects',
        method: 'POST',
        path: () => '/projects',
        key: 'project',
        base: () => ({ name: unique('p'), domain_id: 'default' }),
        fields: {
          name: [...REQUIRED_STRING, '', '   ', 'n'.repeat(65)],
          domain_id: [...STRING, 'd'.repeat(65)],
          parent_id: [...STRING, 'p'.repeat(65)],
          description: [...STRING, 'd'.repeat(70_000)],
          enabled: BOOL,
          is_domain: BOOL,
          tags: ['tag', 42, {}, [1], [null], [['x']], ['a/b'], ['a,b'], [''], ['t'.repeat(256)], Array.from({ length: 81 }, (_, i) => `t${i}`)],
        },
      },
      {
        label: 'PATCH /projects/{id}',
        method: 'PATCH',
        path: () => `/projects/${ids.project}`,
        key: 'project',
        base: () => ({}),
        fields: {
          name: [...REQUIRED_STRING, '', '   ', 'n'.repeat(65)],
          description: [...STRING, 'd'.repeat(70_000)],
          enabled: BOOL,
          is_domain: ['yes', 1, true],
          domain_id: [42, 'another-domain'],
          tags: ['tag', 42, [1], ['a/b'], ['t'.repeat(256)]],
        },
      },
      {
        label: 'POST /users',
        method: 'POST',
        path: () => '/users',
        key: 'user',
        base: () => ({ name: unique('u'), domain_id: 'default' }),
        fields: {
          name: [...REQUIRED_STRING, '', '   ', 'n'.repeat(256)],
          domain_id: [...REQUIRED_STRING, 'd'.repeat(65)],
          password: [...STRING, 'p'.repeat(4097)],
          default_project_id: [...STRING, 'p'.repeat(65)],
          description: [...STRING, 'd'.repeat(70_000)],
          enabled: BOOL,
        },
      },
      {
        label: 'PATCH /users/{id}',
        method: 'PATCH',
        path: () => `/users/${ids.user}`,
        key: 'user',
        base: () => ({}),
        fields: {
          name: [...REQUIRED_STRING, '', '   ', 'n'.repeat(256)],
          password: [...STRING, 'p'.repeat(4097)],
          default_project_id: [...STRING, 'p'.repeat(65)],
          description: [...STRING],
          enabled: BOOL,
          domain_id: [42, 'another-domain'],
        },
      },
      {
        label: 'POST /groups',
        method: 'POST',
        path: () => '/groups',
        key: 'group',
        base: () => ({ name: unique('g'), domain_id: 'default' }),
        fields: { name: [...REQUIRED_STRING, '', '   '], domain_id: [...REQUIRED_STRING, 'd'.repeat(65)], description: STRING },
      },
      {
        label: 'PATCH /groups/{id}',
        method: 'PATCH',
        path: () => `/groups/${ids.group}`,
        key: 'group',
        base: () => ({}),
        fields: { name: [...REQUIRED_STRING, ''], description: STRING, domain_id: [42, 'another-domain'] },
      },
      {
        label: 'POST /roles',
        method: 'POST',
        path: () => '/roles',
        key: 'role',
        base: () => ({ name: unique('r') }),
        fields: { name: [...REQUIRED_STRING, '', '   ', 'n'.repeat(256)], domain_id: [...STRING, 'd'.repeat(65)], description: [...STRING, 'd'.repeat(256)] },
      },
      {
        label: 'PATCH /roles/{id}',
        method: 'PATCH',
        path: () => `/roles/${ids.role}`,
        key: 'role',
        base: () => ({}),
        fields: { name: [...REQUIRED_STRING, ''], description: STRING, domain_id: [42, 'another-domain'] },
      },
      {
        label: 'POST /domains',
        method: 'POST',
        path: () => '/domains',
        key: 'domain',
        base: () => ({ name: unique('d') }),
        fields: {
          name: [...REQUIRED_STRING, '', '   ', 'n'.repeat(65)],
          description: STRING,
          enabled: BOOL,
          explicit_domain_id: [...STRING, 'not-a-uuid', 'a'.repeat(65)],
        },
      },
      {
        label: 'PATCH /domains/{id}',
        method: 'PATCH',
        path: () => `/domains/${ids.domain}`,
        key: 'domain',
        base: () => ({}),
        fields: { name: [...REQUIRED_STRING, ''], description: STRING, enabled: BOOL, id: [42, 'another-id'] },
      },
      {
        label: 'POST /regions',
        method: 'POST',
        path: () => '/regions',
        key: 'region',
        base: () => ({ id: unique('region') }),
        fields: { id: [...STRING, 'r'.repeat(256)], description: STRING, parent_region_id: [...STRING, 'no-such-region'] },
      },
      {
        label: 'PATCH /regions/{id}',
        method: 'PATCH',
        path: () => `/regions/${ids.region}`,
        key: 'region',
        base: () => ({}),
        fields: { description: STRING, parent_region_id: [...STRING, 'no-such-region'] },
      },
      {
        label: 'POST /services',
        method: 'POST',
        path: () => '/services',
        key: 'service',
        base: () => ({ type: unique('type') }),
        fields: { type: [...REQUIRED_STRING, '', 't'.repeat(256)], name: [...STRING, 'n'.repeat(256)], enabled: BOOL },
      },
      {
        label: 'PATCH /services/{id}',
        method: 'PATCH',
        path: () => `/services/${ids.service}`,
        key: 'service',
        base: () => ({}),
        fields: { type: [...REQUIRED_STRING, ''], name: STRING, enabled: BOOL },
      },
      {
        label: 'POST /endpoints',
        method: 'POST',
        path: () => '/endpoints',
        key: 'endpoint',
        base: () => ({ service_id: ids.service, interface: 'internal', url: 'http://example.org/', region_id: ids.region }),
        fields: {
          service_id: [...REQUIRED_STRING, 'no-such-service'],
          interface: [...REQUIRED_STRING, 'private', 'PUBLIC'],
          url: [...REQUIRED_STRING, 'not a url', 'http://x/'.padEnd(2100, 'x')],
          region_id: [...STRING, 'no-such-region'],
          enabled: BOOL,
        },
      },
      {
        label: 'PATCH /endpoints/{id}',
        method: 'PATCH',
        path: () => `/endpoints/${ids.endpoint}`,
        key: 'endpoint',
        base: () => ({}),
        fields: {
          service_id: [...REQUIRED_STRING, 'no-such-service'],
          interface: [...REQUIRED_STRING, 'private'],
          url: [...REQUIRED_STRING, 'not a url'],
          region_id: [...STRING, 'no-such-region'],
          enabled: BOOL,
        },
      },
      {
        label: 'POST /credentials',
        method: 'POST',
        path: () => '/credentials',
        key: 'credential',
        base: () => ({ user_id: ids.user, type: 'cert', blob: 'b' }),
        fields: {
          user_id: [...REQUIRED_STRING, '', 'u'.repeat(65)],
          type: [...REQUIRED_STRING, '', 't'.repeat(256)],
          blob: [...REQUIRED_STRING, ''],
          project_id: [...STRING, 'p'.repeat(65)],
        },
      },
      {
        label: 'PATCH /credentials/{id}',
        method: 'PATCH',
        path: () => `/credentials/${ids.credential}`,
        key: 'credential',
        base: () => ({}),
        fields: { user_id: [...REQUIRED_STRING, ''], type: [...REQUIRED_STRING, ''], blob: [...REQUIRED_STRING, ''], project_id: STRING },
      },
      {
        label: 'POST /users/{id}/application_credentials',
        method: 'POST',
        path: () => `/users/${ids.adminUser}/application_credentials`,
        key: 'application_credential',
        base: () => ({ name: unique('ac') }),
        fields: {
          name: [...REQUIRED_STRING, '', 'n'.repeat(256)],
          description: STRING,
          secret: [...STRING, ''],
          expires_at: STRING,
          unrestricted: BOOL,
          roles: ['member', [42], [{}], [{ id: 'f'.repeat(32), name: 'member' }], [{ id: 42 }], [{ colour: 'red' }]],
          access_rules: ['all', [42], [{ service: 'compute', method: 'FETCH', path: '/x' }], [{ service: 'compute', method: 'GET', path: 'x' }], [{ service: 'compute', method: 'GET', path: '/x', extra: 1 }]],
        },
      },
      {
        label: 'PATCH /registered_limits/{id}',
        method: 'PATCH',
        path: () => `/registered_limits/${ids.registeredLimit}`,
        key: 'registered_limit',
        base: () => ({}),
        fields: { default_limit: ['10', 1.5, -2, 2 ** 31, null], description: [...STRING, 'd'.repeat(256)], resource_name: [...REQUIRED_STRING, ''] },
      },
      {
        label: 'PATCH /limits/{id}',
        method: 'PATCH',
        path: () => `/limits/${ids.limit}`,
        key: 'limit',
        base: () => ({}),
        fields: { resource_limit: ['10', 1.5, -2, 2 ** 31, null], description: STRING, resource_name: ['other'] },
      },
    ];

    for (const c of cases) {
      it(`${c.label}: each wrong value is a 400 naming the field`, async () => {
        for (const [field, values] of Object.entries(c.fields)) {
          for (const value of values) {
            const body = { [c.key]: { ...c.base(), [field]: value } };
            const res = await call(c.method, c.path(), body);
            const what = `${c.label} ${field}=${JSON.stringify(value)?.slice(0, 40)}`;
            assertKeystoneError(res, 400, undefined, what);
            const message = (res.json.error.message as string).toLowerCase().replaceAll(' ', '_');
            assert.ok(message.includes(field.replace(/_id$/, '').replace(/s$/, '')), `${what}: the message should name the field: ${res.json.error.message}`);
          }
        }
        // The entity is untouched by all those refusals.
        if (c.method === 'PATCH') {
          const res = await call('GET', c.path());
          assert.equal(res.status, 200);
        }
      });
    }

    it('limit lists, EC2 token requests and domain configurations are refused by their schemas, naming the field', async () => {
      const registered = { service_id: ids.service, resource_name: unique('res'), default_limit: 1 };
      const limit = { project_id: ids.project, service_id: ids.service, resource_name: 'errors-resource', resource_limit: 1 };
      const bodies: Array<[string, string, unknown, RegExp]> = [
        ['/registered_limits', 'no list', {}, /registered_limits/],
        ['/registered_limits', 'empty list', { registered_limits: [] }, /registered_limits/],
        ['/registered_limits', 'not objects', { registered_limits: ['x'] }, /registered_limits/],
        ['/registered_limits', 'no default', { registered_limits: [{ ...registered, default_limit: undefined }] }, /default_limit/],
        ['/registered_limits', 'text default', { registered_limits: [{ ...registered, default_limit: '1' }] }, /default_limit/],
        ['/registered_limits', 'unknown member', { registered_limits: [{ ...registered, colour: 'red' }] }, /colour/],
        ['/limits', 'no project', { limits: [{ ...limit, project_id: undefined }] }, /project_id/],
        ['/limits', 'a domain limit', { limits: [{ ...limit, domain_id: 'default' }] }, /domain_id/],
        ['/limits', 'limit below -1', { limits: [{ ...limit, resource_limit: -5 }] }, /resource_limit/],
        ['/ec2tokens', 'no credentials', { nothing: {} }, /credentials/],
        ['/ec2tokens', 'credentials not an object', { credentials: 'x' }, /credentials/],
        ['/ec2tokens', 'access not a string', { ec2Credentials: { access: 42 } }, /access/],
        ['/s3tokens', 'token not a string', { credentials: { access: 'a', token: 1, signature: 's' } }, /token/],
      ];
      for (const [path, what, body, field] of bodies) {
        assertKeystoneError(await call('POST', path, body), 400, field, `${path} ${what}`);
      }
      const config = `/domains/${ids.domain}/config`;
      assertKeystoneError(await call('PUT', config, { config: 'ldap' }), 400, /config/, 'config not an object');
      assertKeystoneError(await call('PATCH', `${config}/ldap`, { config: { ldap: [] } }), 400, /config\.ldap/, 'group not an object');
      assertKeystoneError(await call('PATCH', `${config}/ldap/url`, {}), 400, /config/, 'option without config');
    });

    it('accepts null where Keystone does (nullable descriptions, ids)', async () => {
      const created: Array<[string, string, Json]> = [
        ['/projects', 'project', { name: unique('null'), description: null, parent_id: null, domain_id: null }],
        ['/users', 'user', { name: unique('null'), description: null, default_project_id: null, password: null }],
        ['/groups', 'group', { name: unique('null'), description: null }],
        ['/roles', 'role', { name: unique('null'), description: null, domain_id: null }],
        ['/domains', 'domain', { name: unique('null'), description: null }],
        ['/regions', 'region', { id: unique('null'), description: null, parent_region_id: null }],
      ];
      for (const [path, key, attrs] of created) {
        const res = await call('POST', path, { [key]: attrs });
        assert.equal(res.status, 201, `POST ${path}: ${JSON.stringify(res.body)}`);
        const id = res.json[key].id as string;
        const patched = await call('PATCH', `${path}/${id}`, { [key]: { description: null } });
        assert.equal(patched.status, 200, `PATCH ${path}: ${JSON.stringify(patched.body)}`);
        assert.ok(!patched.json[key].description, `PATCH ${path}: description cleared`);
      }
    });

    it('the envelope itself: missing, wrong type, or wrong name is a 400', async () => {
      for (const [path, key] of [
        ['/projects', 'project'],
        ['/users', 'user'],
        ['/groups', 'group'],
        ['/roles', 'role'],
        ['/domains', 'domain'],
        ['/regions', 'region'],
        ['/services', 'service'],
        ['/endpoints', 'endpoint'],
      ] as const) {
        for (const body of [{}, { [key]: null }, { [key]: 'x' }, { [key]: [] }, { [key]: 42 }, { [`${key}s`]: {} }]) {
          assertKeystoneError(await call('POST', path, body), 400, undefined, `POST ${path} ${JSON.stringify(body)}`);
        }
      }
      for (const [path, key] of [
        [`/projects/${ids.project}`, 'project'],
        [`/users/${ids.user}`, 'user'],
        [`/groups/${ids.group}`, 'group'],
        [`/roles/${ids.role}`, 'role'],
        [`/domains/${ids.domain}`, 'domain'],
        [`/regions/${ids.region}`, 'region'],
        [`/services/${ids.service}`, 'service'],
        [`/endpoints/${ids.endpoint}`, 'endpoint'],
      ] as const) {
        for (const body of [{}, { [key]: null }, { [key]: 'x' }, { [key]: [] }]) {
          assertKeystoneError(await call('PATCH', path, body), 400, undefined, `PATCH ${path} ${JSON.stringify(body)}`);
        }
      }
    });
  });

  describe('missing required fields', () => {
    it('create without the required attributes is a 400 naming them', async () => {
      const cases: Array<[string, Json, string]> = [
        ['/projects', { project: { description: 'no name' } }, 'name'],
        ['/users', { user: { password: 'x' } }, 'name'],
        ['/groups', { group: {} }, 'name'],
        ['/roles', { role: {} }, 'name'],
        ['/domains', { domain: { enabled: true } }, 'name'],
        ['/services', { service: { name: 'no type' } }, 'type'],
        ['/endpoints', { endpoint: { interface: 'public', url: 'http://x/' } }, 'service_id'],
        ['/endpoints', { endpoint: { service_id: 'x', url: 'http://x/' } }, 'interface'],
        ['/endpoints', { endpoint: { service_id: 'x', interface: 'public' } }, 'url'],
      ];
      for (const [path, body, field] of cases) {
        const res = await call('POST', path, body);
        if (path === '/endpoints' && field !== 'service_id') {
          // service_id is checked before the others: make it valid so the missing field is what fails.
          const fixed = { endpoint: { ...(body.endpoint as Json), service_id: ids.service } };
          const again = await call('POST', path, fixed);
          assertKeystoneError(again, 400, new RegExp(field), `POST ${path} without ${field}`);
          continue;
        }
        assertKeystoneError(res, 400, new RegExp(field), `POST ${path} without ${field}`);
      }
      assertKeystoneError(await call('PUT', `/projects/${ids.project}/tags`, {}), 400, /tags/);
      assertKeystoneError(await call('POST', `/users/${ids.user}/password`, { user: { password: 'new' } }, undefined), 400);
      assertKeystoneError(await call('POST', `/users/${ids.user}/password`, { user: { original_password: 'user-secret' } }, undefined), 400);
    });

    it('authentication bodies missing a part are 400; unknown methods 401', async () => {
      const user = { id: ids.user, password: 'user-secret' };
      const bodies: Array<[string, unknown, number]> = [
        ['no auth', {}, 400],
        ['auth not an object', { auth: 'password' }, 400],
        ['no identity', { auth: {} }, 400],
        ['identity not an object', { auth: { identity: [] } }, 400],
        ['no methods', { auth: { identity: { password: { user } } } }, 400],
        ['methods empty', { auth: { identity: { methods: [], password: { user } } } }, 400],
        ['methods not a list', { auth: { identity: { methods: 'password', password: { user } } } }, 400],
        ['methods of numbers', { auth: { identity: { methods: [1], password: { user } } } }, 400],
        ['method section missing', { auth: { identity: { methods: ['password'] } } }, 400],
        ['method section not an object', { auth: { identity: { methods: ['password'], password: 'secret' } } }, 400],
        ['no user', { auth: { identity: { methods: ['password'], password: {} } } }, 400],
        ['user not an object', { auth: { identity: { methods: ['password'], password: { user: 'admin' } } } }, 400],
        ['no password', { auth: { identity: { methods: ['password'], password: { user: { id: ids.user } } } } }, 400],
        ['password not a string', { auth: { identity: { methods: ['password'], password: { user: { id: ids.user, password: 42 } } } } }, 400],
        ['user without id or name', { auth: { identity: { methods: ['password'], password: { user: { password: 'x' } } } } }, 400],
        ['name without domain', { auth: { identity: { methods: ['password'], password: { user: { name: 'admin', password: 'x' } } } } }, 400],
        ['domain without id or name', passwordAuth({ name: 'admin', domain: {} as { id: string } }, 'x'), 400],
        ['domain id not a string', passwordAuth({ name: 'admin', domain: { id: 7 as unknown as string } }, 'x'), 400],
        ['token method without id', { auth: { identity: { methods: ['token'], token: {} } } }, 400],
        ['app cred without secret', { auth: { identity: { methods: ['application_credential'], application_credential: { id: 'x' } } } }, 400],
        ['app cred name without user', { auth: { identity: { methods: ['application_credential'], application_credential: { name: 'x', secret: 'y' } } } }, 400],
        ['scope not an object', passwordAuth({ id: ids.user }, 'user-secret', 42), 400],
        ['two scopes', passwordAuth({ id: ids.user }, 'user-secret', { project: { id: ids.project }, domain: { id: 'default' } }), 400],
        ['empty scope', passwordAuth({ id: ids.user }, 'user-secret', {}), 400],
        ['project scope without id or name', passwordAuth({ id: ids.user }, 'user-secret', { project: {} }), 400],
        ['project name without domain', passwordAuth({ id: ids.user }, 'user-secret', { project: { name: names.project } }), 400],
        ['system scope not all', passwordAuth({ id: ids.user }, 'user-secret', { system: { all: false } }), 400],
        ['unknown method', { auth: { identity: { methods: ['totp'], totp: {} } } }, 401],
      ];
      for (const [name, body, status] of bodies) {
        assertKeystoneError(await api(url, 'POST', `${V3}/auth/tokens`, undefined, body), status, undefined, name);
      }
    });
  });

  describe('unknown ids', () => {
    const BOGUS = 'f00dbabe0000000000000000deadbeef';
    it('GET, PATCH, DELETE of an unknown id is 404 "Could not find <kind>: <id>."', async () => {
      const kinds: Array<[string, string, string, Json]> = [
        ['projects', 'project', 'project', { description: 'x' }],
        ['users', 'user', 'user', { description: 'x' }],
        ['groups', 'group', 'group', { description: 'x' }],
        ['roles', 'role', 'role', { description: 'x' }],
        ['domains', 'domain', 'domain', { description: 'x' }],
        ['regions', 'region', 'region', { description: 'x' }],
        ['services', 'service', 'service', { name: 'x' }],
        ['endpoints', 'endpoint', 'endpoint', { url: 'http://x/' }],
      ];
      for (const [collection, key, kind, attrs] of kinds) {
        const message = `Could not find ${kind}: ${BOGUS}.`;
        assertKeystoneError(await call('GET', `/${collection}/${BOGUS}`), 404, message, `GET ${collection}`);
        assertKeystoneError(await call('PATCH', `/${collection}/${BOGUS}`, { [key]: attrs }), 404, message, `PATCH ${collection}`);
        assertKeystoneError(await call('DELETE', `/${collection}/${BOGUS}`), 404, message, `DELETE ${collection}`);
        assertKeystoneError(await call('HEAD', `/${collection}/${BOGUS}`), 404, undefined, `HEAD ${collection}`, 'HEAD');
      }
    });

    it('sub-resources of unknown ids are 404 naming what is missing', async () => {
      const cases: Array<[string, string, string, unknown?]> = [
        ['GET', `/projects/${BOGUS}/tags`, 'project'],
        ['PUT', `/projects/${BOGUS}/tags`, 'project', { tags: ['a'] }],
        ['PUT', `/projects/${BOGUS}/tags/a`, 'project'],
        ['GET', `/projects/${ids.project}/tags/no-such-tag`, 'project tag'],
        ['DELETE', `/projects/${ids.project}/tags/no-such-tag`, 'project tag'],
        ['GET', `/users/${BOGUS}/groups`, 'user'],
        ['GET', `/users/${BOGUS}/projects`, 'user'],
        ['GET', `/groups/${BOGUS}/users`, 'group'],
        ['PUT', `/groups/${BOGUS}/users/${ids.user}`, 'group'],
        ['PUT', `/groups/${ids.group}/users/${BOGUS}`, 'user'],
        ['DELETE', `/groups/${ids.group}/users/${ids.user}`, 'membership'],
        ['GET', `/roles/${BOGUS}/implies`, 'role'],
        ['PUT', `/roles/${ids.role}/implies/${BOGUS}`, 'role'],
        ['GET', `/roles/${ids.role}/implies/${ids.memberRole}`, 'implied role'],
        ['PUT', `/projects/${BOGUS}/users/${ids.user}/roles/${ids.role}`, 'project'],
        ['PUT', `/projects/${ids.project}/users/${BOGUS}/roles/${ids.role}`, 'user'],
        ['PUT', `/projects/${ids.project}/users/${ids.user}/roles/${BOGUS}`, 'role'],
        ['PUT', `/projects/${ids.project}/groups/${BOGUS}/roles/${ids.role}`, 'group'],
        ['PUT', `/domains/${BOGUS}/users/${ids.user}/roles/${ids.role}`, 'domain'],
        ['GET', `/projects/${ids.project}/users/${ids.user}/roles/${ids.role}`, 'role assignment'],
        ['DELETE', `/projects/${ids.project}/users/${ids.user}/roles/${ids.role}`, 'role assignment'],
        ['PUT', `/system/users/${BOGUS}/roles/${ids.role}`, 'user'],
        ['PUT', `/OS-INHERIT/domains/${ids.domain}/users/${ids.user}/roles/${BOGUS}/inherited_to_projects`, 'role'],
        ['GET', `/projects/${BOGUS}/users/${ids.user}/roles`, 'project'],
        ['GET', `/users/${ids.adminUser}/application_credentials/${BOGUS}`, 'application credential'],
        ['DELETE', `/users/${ids.adminUser}/application_credentials/${BOGUS}`, 'application credential'],
      ];
      for (const [method, path, kind, body] of cases) {
        const res = await call(method, path, body);
        assertKeystoneError(res, 404, new RegExp(`^Could not find ${kind}: `), `${method} ${path}`);
      }
    });

    it('a user or project that does not exist cannot be referenced at creation', async () => {
      assertKeystoneError(await call('POST', '/users', { user: { name: unique('u'), default_project_id: BOGUS } }), 400);
      // As Keystone (and Tempest's negative tests): an unknown domain for a new user is a DomainNotFound.
      assertKeystoneError(await call('POST', '/users', { user: { name: unique('u'), domain_id: BOGUS } }), 404, `Could not find domain: ${BOGUS}.`);
      assertKeystoneError(await call('POST', '/projects', { project: { name: unique('p'), domain_id: BOGUS } }), 400);
      assertKeystoneError(await call('POST', '/projects', { project: { name: unique('p'), parent_id: BOGUS } }), 400);
      assertKeystoneError(await call('POST', '/endpoints', { endpoint: { service_id: BOGUS, interface: 'public', url: 'http://x/' } }), 400);
    });
  });

  describe('duplicates', () => {
    it('a second entity with the same name (or id) is a 409', async () => {
      const conflict = /Conflict occurred|Duplicate/;
      assertKeystoneError(await call('POST', '/projects', { project: { name: names.project, domain_id: 'default' } }), 409, conflict, 'project');
      assertKeystoneError(await call('POST', '/users', { user: { name: names.user, domain_id: 'default' } }), 409, conflict, 'user');
      assertKeystoneError(await call('POST', '/groups', { group: { name: names.group, domain_id: 'default' } }), 409, conflict, 'group');
      assertKeystoneError(await call('POST', '/roles', { role: { name: names.role } }), 409, conflict, 'role');
      assertKeystoneError(await call('POST', '/roles', { role: { name: 'admin' } }), 409, conflict, 'bootstrap role');
      assertKeystoneError(await call('POST', '/domains', { domain: { name: names.domain } }), 409, conflict, 'domain');
      assertKeystoneError(await call('POST', '/domains', { domain: { name: 'Default' } }), 409, conflict, 'default domain');
      assertKeystoneError(await call('POST', '/regions', { region: { id: ids.region } }), 409, conflict, 'region');
      assertKeystoneError(await call('PUT', `/regions/${ids.region}`, { region: {} }), 409, conflict, 'region PUT');
    });

    it('renaming onto a taken name is a 409', async () => {
      const other = await ia.project(unique('other-project'));
      assertKeystoneError(await call('PATCH', `/projects/${other.id}`, { project: { name: names.project } }), 409);
      const otherUser = await ia.user(unique('other-user'), undefined);
      assertKeystoneError(await call('PATCH', `/users/${otherUser.id}`, { user: { name: names.user } }), 409);
      const otherGroup = await ia.group(unique('other-group'));
      assertKeystoneError(await call('PATCH', `/groups/${otherGroup.id}`, { group: { name: names.group } }), 409);
      const otherRole = await ia.role(unique('other-role'));
      assertKeystoneError(await call('PATCH', `/roles/${otherRole.id}`, { role: { name: names.role } }), 409);
      const otherDomain = await ia.domain(unique('other-domain'));
      assertKeystoneError(await call('PATCH', `/domains/${otherDomain.id}`, { domain: { name: names.domain } }), 409);
    });

    it('the same name in another domain is fine', async () => {
      const res = await call('POST', '/projects', { project: { name: names.project, domain_id: ids.domain } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    });

    it('a second application credential with the same name is a 409', async () => {
      const name = unique('appcred');
      const path = `/users/${ids.adminUser}/application_credentials`;
      assert.equal((await call('POST', path, { application_credential: { name } })).status, 201);
      assertKeystoneError(await call('POST', path, { application_credential: { name } }), 409);
    });
  });

  describe('authentication failures', () => {
    it('a wrong password, an unknown user, a disabled user are 401 with WWW-Authenticate', async () => {
      const disabled = await ia.user(unique('disabled'), 'pw', { enabled: false });
      const noPassword = await ia.user(unique('nopw'), undefined);
      const offDomain = await ia.domain(unique('off-domain'));
      const inOffDomain = await ia.user(unique('in-off'), 'pw', { domain_id: offDomain.id });
      await ia.call('PATCH', `/domains/${offDomain.id}`, { domain: { enabled: false } });
      const cases: Array<[string, unknown]> = [
        ['wrong password by id', passwordAuth({ id: ids.user }, 'wrong')],
        ['wrong password by name', passwordAuth({ name: names.user, domain: { id: 'default' } }, 'wrong')],
        ['wrong password by domain name', passwordAuth({ name: names.user, domain: { name: 'Default' } }, 'wrong')],
        ['empty password', passwordAuth({ id: ids.user }, '')],
        ['unknown user id', passwordAuth({ id: 'nobody' }, 'user-secret')],
        ['unknown user name', passwordAuth({ name: 'nobody', domain: { id: 'default' } }, 'user-secret')],
        ['user in another domain', passwordAuth({ name: names.user, domain: { id: ids.domain } }, 'user-secret')],
        ['unknown domain', passwordAuth({ name: names.user, domain: { name: 'no-such-domain' } }, 'user-secret')],
        ['disabled user', passwordAuth({ id: disabled.id }, 'pw')],
        ['user without password', passwordAuth({ id: noPassword.id }, '')],
        ['user in a disabled domain', passwordAuth({ id: inOffDomain.id }, 'pw')],
        ['demo password for admin', passwordAuth({ name: 'admin', domain: { id: 'default' } }, DEMO_PASSWORD)],
        ['no role on the project', passwordAuth({ id: ids.user }, 'user-secret', { project: { id: ids.adminProject } })],
        ['unknown project', passwordAuth({ id: ids.user }, 'user-secret', { project: { id: 'nope' } })],
        ['no role on the domain', passwordAuth({ id: ids.user }, 'user-secret', { domain: { id: 'default' } })],
        ['no system role', passwordAuth({ id: ids.user }, 'user-secret', { system: { all: true } })],
        ['unknown app cred', { auth: { identity: { methods: ['application_credential'], application_credential: { id: 'nope', secret: 'x' } } } }],
      ];
      for (const [name, body] of cases) {
        const res = await issue(url, body);
        assertKeystoneError(res, 401, undefined, name);
        assert.equal(res.headers.get('x-subject-token'), null, `${name}: no token on failure`);
      }
    });
  });

  describe('bad tokens', () => {
    let expired: string;
    let revoked: string;
    let foreign: string;
    let valid: string;

    before(async () => {
      const tokens = tc.cloud.identity.context.tokens;
      expired = tokens.issue({ userId: ids.adminUser, methods: ['password'], scope: { kind: 'project', id: ids.adminProject }, expiresAt: Date.now() - 1000 }).token;
      revoked = (await mustIssue(url, passwordAuth({ name: 'admin', domain: { id: 'default' } }, 'admin-secret'))).token;
      const del = await call('DELETE', '/auth/tokens', undefined, admin, { 'x-subject-token': revoked });
      assert.equal(del.status, 204);
      // A well-formed token for a real user and project, signed with a key this cloud does not have.
      const payload = { userId: ids.adminUser, methods: ['password'], scope: { kind: 'project' as const, id: ids.adminProject }, issuedAt: Date.now(), expiresAt: Date.now() + 3_600_000, auditIds: ['AAAAAAAAAAAAAAAAAAAAAA'] };
      foreign = fernetEncrypt(parseFernetKey(generateFernetKey()), encodePayload(payload)).replace(/=+$/, '');
      valid = (await mustIssue(url, passwordAuth({ name: 'admin', domain: { id: 'default' } }, 'admin-secret'))).token;
    });

    const badTokens = (): Array<[string, string]> => [
      ['garbage', 'garbage'],
      ['long garbage', 'g'.repeat(5000)],
      ['truncated', valid.slice(0, -10)],
      ['one character changed', `${valid.slice(0, 40)}${valid[40] === 'A' ? 'B' : 'A'}${valid.slice(41)}`],
      ['with padding garbage', `${valid}==x`],
      ['expired', expired],
      ['revoked', revoked],
      ['signed with another key', foreign],
      ['latin-1 bytes', 'é\u00ff\u0080token'],
    ];

    it('as X-Auth-Token: 401 with WWW-Authenticate', async () => {
      for (const [name, token] of badTokens()) {
        const res = await rawRequest(url, { method: 'GET', path: `${V3}/projects`, headers: { 'x-auth-token': token } });
        assertKeystoneError(res, 401, 'The request you have made requires authentication.', name);
      }
      assertKeystoneError(await api(url, 'GET', `${V3}/projects`), 401, undefined, 'no token');
      assertKeystoneError(await api(url, 'GET', `${V3}/projects`, undefined, undefined, { 'x-auth-token': '' }), 401, undefined, 'empty token');
    });

    it('as X-Subject-Token: 404 (GET, HEAD, DELETE)', async () => {
      for (const [name, token] of badTokens()) {
        for (const method of ['GET', 'HEAD', 'DELETE']) {
          const res = await rawRequest(url, { method, path: `${V3}/auth/tokens`, headers: { 'x-auth-token': admin, 'x-subject-token': token } });
          assertKeystoneError(res, 404, method === 'HEAD' ? undefined : /^Could not find token/, `${method} ${name}`, method);
        }
      }
      assert.equal((await call('GET', '/auth/tokens', undefined, admin, { 'x-subject-token': valid })).status, 200, 'the valid one validates');
    });

    it('as the token of the token method: 404, as Keystone (validate_token raises TokenNotFound)', async () => {
      for (const [name, token] of badTokens()) {
        const res = await issue(url, { auth: { identity: { methods: ['token'], token: { id: token } } } });
        assertKeystoneError(res, 404, /^Could not find token/, name);
        assert.equal(res.headers.get('x-subject-token'), null, `${name}: no token on failure`);
      }
    });
  });

  describe('forbidden', () => {
    it('demo gets 403 on admin APIs', async () => {
      const cases: Array<[string, string, unknown?]> = [
        ['GET', '/users'],
        ['GET', '/projects'],
        ['GET', '/domains'],
        ['GET', '/groups'],
        ['GET', '/roles'],
        ['GET', '/services'],
        ['GET', '/endpoints'],
        ['GET', '/role_assignments'],
        ['GET', `/users/${ids.adminUser}`],
        ['GET', `/projects/${ids.adminProject}`],
        ['POST', '/projects', { project: { name: unique('demo') } }],
        ['POST', '/users', { user: { name: unique('demo') } }],
        ['POST', '/domains', { domain: { name: unique('demo') } }],
        ['POST', '/roles', { role: { name: unique('demo') } }],
        ['POST', '/regions', { region: {} }],
        ['POST', '/services', { service: { type: 'x' } }],
        ['PATCH', `/users/${ids.demoUser}`, { user: { enabled: true } }],
        ['PATCH', `/projects/${ids.project}`, { project: { enabled: false } }],
        ['DELETE', `/users/${ids.user}`],
        ['DELETE', `/projects/${ids.project}`],
        ['PUT', `/projects/${ids.project}/users/${ids.demoUser}/roles/${ids.role}`],
        ['PUT', `/system/users/${ids.demoUser}/roles/${ids.role}`],
        ['GET', `/users/${ids.adminUser}/application_credentials`],
        ['POST', `/users/${ids.adminUser}/application_credentials`, { application_credential: { name: 'x' } }],
        ['GET', '/auth/tokens', undefined],
      ];
      for (const [method, path, body] of cases) {
        const headers: Record<string, string> = path === '/auth/tokens' ? { 'x-subject-token': admin } : {};
        const res = await call(method, path, body, demo, headers);
        assertKeystoneError(res, 403, /^You are not authorized to perform the requested action/, `${method} ${path}`);
      }
      // Forbidden never leaks into a change.
      assert.equal((await call('GET', `/projects/${ids.project}`)).json.project.enabled, true);
    });

    it('demo may still read what is its own', async () => {
      assert.equal((await call('GET', `/users/${ids.demoUser}`, undefined, demo)).status, 200);
      assert.equal((await call('GET', '/auth/projects', undefined, demo)).status, 200);
      assert.equal((await call('GET', '/auth/tokens', undefined, demo, { 'x-subject-token': demo })).status, 200);
    });
  });

  describe('routes', () => {
    it('unknown routes are 404 in Keystone shape', async () => {
      for (const [method, path] of [
        ['GET', `${V3}/nope`],
        ['GET', `${V3}/projects/${ids.project}/nope`],
        ['POST', `${V3}/nope`],
        ['DELETE', `${V3}/nope/nope`],
        ['GET', '/identity/v4/projects'],
        ['GET', `${V3}/OS-FEDERATION/identity_providers/x/protocols/y/auth/extra`],
      ]) {
        const res = await api(url, method as string, path as string, admin, method === 'POST' ? {} : undefined);
        assertKeystoneError(res, 404, undefined, `${method} ${path}`);
      }
    });

    it('unknown routes need no token to be told they are unknown, and still answer in Keystone shape', async () => {
      const res = await api(url, 'GET', `${V3}/nope`);
      assert.ok([401, 404].includes(res.status));
      assertKeystoneError(res, res.status);
    });

    it('paths with bad %-escapes are a 4xx in Keystone shape', async () => {
      for (const path of [`${V3}/projects/%zz`, `${V3}/projects/%E0%A4%A`, `${V3}/users/%`, `${V3}/nope%zz`]) {
        const res = await rawRequest(url, { method: 'GET', path, headers: { 'x-auth-token': admin } });
        assert.ok(res.status >= 400 && res.status < 500, `${path}: ${res.status}`);
        assertKeystoneError(res, res.status, undefined, path);
      }
    });

    it('overlong ids are a 4xx in Keystone shape', async () => {
      for (const path of [`/projects/${'a'.repeat(2000)}`, `/users/${'u'.repeat(1001)}/groups`, `/${'x'.repeat(3000)}`]) {
        const res = await call('GET', path);
        assert.ok(res.status >= 400 && res.status < 500, `${path.slice(0, 30)}: ${res.status}`);
        assertKeystoneError(res, res.status, undefined, path.slice(0, 30));
      }
    });

    it('a region id in the URL obeys the same limit as one in the body', async () => {
      assertKeystoneError(await call('PUT', `/regions/${'r'.repeat(256)}`, { region: {} }), 400, /id/i);
      const id = unique('put-region');
      assertKeystoneError(await call('PUT', `/regions/${id}`, { region: { id: 'something-else' } }), 400, /id/i);
      assert.equal((await call('PUT', `/regions/${id}`, { region: { id } })).status, 201);
    });
  });

  describe('headers on every response', () => {
    it('x-openstack-request-id on successes, redirects, errors; unique per request', async () => {
      const responses: ApiResponse[] = [
        await api(url, 'GET', '/identity/'),
        await api(url, 'GET', `${V3}`),
        await call('GET', '/projects'),
        await call('POST', '/projects', { project: { name: unique('rid') } }),
        await call('GET', '/nope'),
        await call('GET', '/projects', undefined, 'bad'),
        await call('POST', '/projects', '{bad'),
        await call('GET', '/users', undefined, demo),
        await call('HEAD', `/projects/${ids.project}`),
        await issue(url, passwordAuth({ id: ids.user }, 'wrong')),
      ];
      const seen = new Set<string>();
      for (const res of responses) {
        const id = res.headers.get('x-openstack-request-id');
        assert.match(id ?? '', /^req-[0-9a-f-]{36}$/, `HTTP ${res.status}`);
        assert.ok(!seen.has(id as string), 'request ids are unique');
        seen.add(id as string);
      }
    });

    it('links point at this cloud (no doubled prefix, no port 0)', async () => {
      const list = await call('GET', '/projects?name=admin');
      assert.equal(list.json.links.self, `${url}${V3}/projects?name=admin`);
      const one = await call('GET', `/projects/${ids.project}`);
      assert.equal(one.json.project.links.self, `${url}${V3}/projects/${ids.project}`);
      const version = await api(url, 'GET', V3);
      assert.equal(version.json.version.links[0].href, `${url}${V3}/`);
    });
  });
});
