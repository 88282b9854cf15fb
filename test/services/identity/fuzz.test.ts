import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { ADMIN_PASSWORD, api, DEMO_PASSWORD, startTestCloud, TEST_DATABASE_URL, type ApiResponse, type TestCloud } from '../../helpers/cloud.js';
import { dropSchema } from '../../helpers/databases.js';
import { IdentityAdmin, keystoneErrorProblem, mustIssue, passwordAuth, rawRequest, unique, V3 } from './helpers.js';

/**
 * Throws thousands of random and malformed requests at Keystone's API with an admin token and
 * checks that none is a 5xx, every error has Keystone's shape and the process stays up.
 * Deterministic: KUMO_FUZZ_SEED picks another seed, KUMO_FUZZ_SCALE multiplies the run counts.
 */
const SEED = Number(process.env.KUMO_FUZZ_SEED ?? 0x6b756d6f);
const SCALE = Number(process.env.KUMO_FUZZ_SCALE ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * SCALE));
/** KUMO_FUZZ_DATABASE=postgres fuzzes a cloud on KUMO_TEST_DATABASE_URL instead of SQLite. */
const ON_POSTGRES = process.env.KUMO_FUZZ_DATABASE === 'postgres';

type Kind = 'project' | 'user' | 'group' | 'role' | 'domain' | 'region' | 'service' | 'endpoint' | 'appcred';
const KINDS: Kind[] = ['project', 'user', 'group', 'role', 'domain', 'region', 'service', 'endpoint', 'appcred'];
const COLLECTION: Record<string, Kind> = {
  projects: 'project',
  users: 'user',
  groups: 'group',
  roles: 'role',
  domains: 'domain',
  regions: 'region',
  services: 'service',
  endpoints: 'endpoint',
  application_credentials: 'appcred',
};
const POOL_LIMIT = 40;

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** One request, checked: never a 5xx; an error is Keystone's; every answer has a request id. */
async function check(base: string, req: FuzzRequest, agent: Agent): Promise<ApiResponse> {
  let res: ApiResponse;
  try {
    res = await rawRequest(base, req, agent);
  } catch (error) {
    throw new Error(`${req.method} ${req.path.slice(0, 200)}: the request failed: ${String(error)}`);
  }
  const label = () =>
    `${req.method} ${req.path.slice(0, 200)} headers=${JSON.stringify(req.headers).slice(0, 300)} body=${JSON.stringify(req.body?.slice(0, 300))}` +
    ` -> HTTP ${res.status} ${JSON.stringify(res.body)?.slice(0, 300)}`;
  assert.ok(res.status < 500, `5xx: ${label()}`);
  assert.ok(res.headers.get('x-openstack-request-id'), `no request id: ${label()}`);
  if (res.status >= 400) {
    const problem = keystoneErrorProblem(res, req.method);
    assert.equal(problem, undefined, `${problem}: ${label()}`);
  }
  return res;
}

// ---------------------------------------------------------------- arbitraries

/** Any character a Node HTTP header value may carry (Latin-1 without controls). */
const headerChar = fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c));
const headerValue = fc.oneof(fc.string({ unit: headerChar, maxLength: 80 }), fc.string({ unit: headerChar, minLength: 200, maxLength: 3000 }));

const nasty = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'null',
  'default',
  'admin',
  '../../etc/passwd',
  '%s%s%s%n',
  "' OR 1=1 --",
  '"; DROP TABLE identity_user; --',
  '<script>alert(1)</script>',
  '\ud800',
  '\udfff\ud800',
  '𝕂𝕦𝕞𝕠',
  '\u202e\u0000\u0007',
  'x'.repeat(256),
  'y'.repeat(70_000),
  '2000-01-01T00:00:00Z',
  '2999-12-31T23:59:59Z',
  '+275760-09-13T00:00:00.000Z',
  'http://example.org/',
  'public',
  'true',
  '1e309',
);

const weird: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 120 }) },
  { weight: 3, arbitrary: nasty },
  { weight: 2, arbitrary: fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, [], {}, [null], [{}], [[]]) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 20 }), { maxLength: 100 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 300_000 }).map((n) => 'z'.repeat(n)) },
);

const FIELDS = [
  'id', 'name', 'description', 'enabled', 'domain_id', 'parent_id', 'is_domain', 'tags', 'options', 'links',
  'password', 'original_password', 'default_project_id', 'federated', 'explicit_domain_id', 'type', 'url',
  'interface', 'region', 'region_id', 'service_id', 'parent_region_id', 'roles', 'secret', 'expires_at',
  'unrestricted', 'access_rules', 'resource_name', 'default_limit', 'resource_limit', 'project_id', '__proto__',
  'constructor', 'toString', 'email',
];
const fieldName = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) });
const fields = fc.dictionary(fieldName, weird, { maxKeys: 8 });

const ENVELOPES = [
  'project', 'user', 'group', 'role', 'domain', 'region', 'service', 'endpoint', 'application_credential', 'tags',
  'registered_limits', 'limits', 'auth', 'token',
];
const envelopeName = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...ENVELOPES) }, { weight: 1, arbitrary: fc.string({ maxLength: 20 }) });

/** Mostly plausible bodies with wrong parts, and outright garbage. Returns the raw text, or no body. */
const body: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 10, arbitrary: fc.tuple(envelopeName, fields).map(([key, value]) => JSON.stringify({ [key]: value })) },
  { weight: 3, arbitrary: fc.tuple(envelopeName, fc.array(fields, { maxLength: 3 })).map(([key, value]) => JSON.stringify({ [key]: value })) },
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 2, max: 20_000 }), fc.constantFrom('[', '{"a":'), fc.boolean())
      .map(([n, open, balanced]) => `${open.repeat(n)}1${balanced ? (open === '[' ? ']' : '}').repeat(n) : ''}`),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(envelopeName, fields, fc.nat(), fc.string({ unit: 'binary', maxLength: 3 }))
      .map(([key, value, at, insert]) => {
        const text = JSON.stringify({ [key]: value });
        const i = at % (text.length + 1);
        return text.slice(0, i) + insert + (at % 2 === 0 ? text.slice(i) : '');
      }),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(envelopeName, fc.integer({ min: 50, max: 200_000 }))
      .map(([key, n]) => `{"${key}": {"name": "deep", "extra": ${'['.repeat(n)}${']'.repeat(n)}}}`),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom('', 'null', '[]', '{}', '"x"', '0', 'true', '{"a":1}{"b":2}', '\ufeff{}', '{"a":"\\ud800"}', '{"a":1e999}') },
  { weight: 1, arbitrary: fc.tuple(envelopeName, fc.integer({ min: 100_000, max: 900_000 })).map(([k, n]) => JSON.stringify({ [k]: { name: 'n'.repeat(n) } })) },
  { weight: 4, arbitrary: fc.constant(undefined) },
);

const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 24, arbitrary: fc.constant('application/json') },
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      'text/plain',
      'text/html; charset=utf-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=----fuzz',
      'application/json; charset=latin1',
      'application/json;;;',
      'APPLICATION/JSON',
      'application/vnd.openstack.identity-v3+json',
      'application/+json',
      'application/xml',
      '*/*',
      '/',
      'application/',
      ';',
      'garbage',
      'application/json, text/plain',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: headerChar, maxLength: 60 }) },
);

const extraHeaders = fc.dictionary(
  fc.oneof(
    fc.constantFrom('accept', 'accept-encoding', 'openstack-api-version', 'x-openstack-request-id', 'x-forwarded-for', 'user-agent', 'x-subject-token'),
    fc.stringMatching(/^x-fuzz-[a-z0-9-]{1,20}$/),
  ),
  headerValue,
  { maxKeys: 3 },
);

/** Percent-encodes the UTF-8 of anything (lone surrogates included, unlike encodeURIComponent). */
function encodeSegment(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._~-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A path segment: a real id from a pool, or something odd (sent unencoded, so bad %-escapes arrive). */
function segment(pool: (kind: Kind, index: number) => string | undefined, kind: Kind): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.nat().map((i) => encodeSegment(pool(kind, i) ?? 'f00dbabe0000000000000000deadbeef')) },
    { weight: 1, arbitrary: fc.stringMatching(/^[0-9a-f]{32}$/) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map(encodeSegment) },
    { weight: 1, arbitrary: fc.constantFrom('%zz', '%', '%E0%A4%A', '%00', '%2F', '..', '.', 'a'.repeat(1200), '%FF%FE', '%25', ';', '*') },
  );
}

const TEMPLATES: Array<[string, string[]]> = [
  ['/projects', ['GET', 'POST']],
  ['/projects/{project}', ['GET', 'PATCH', 'DELETE', 'HEAD']],
  ['/projects/{project}/tags', ['GET', 'PUT', 'DELETE']],
  ['/projects/{project}/tags/{tag}', ['GET', 'PUT', 'DELETE']],
  ['/users', ['GET', 'POST']],
  ['/users/{user}', ['GET', 'PATCH', 'DELETE']],
  ['/users/{user}/password', ['POST']],
  ['/users/{user}/groups', ['GET']],
  ['/users/{user}/projects', ['GET']],
  ['/users/{admin}/application_credentials', ['GET', 'POST']],
  ['/users/{admin}/application_credentials/{appcred}', ['GET', 'DELETE']],
  ['/users/{user}/application_credentials', ['GET', 'POST']],
  ['/domains', ['GET', 'POST']],
  ['/domains/{domain}', ['GET', 'PATCH', 'DELETE']],
  ['/groups', ['GET', 'POST']],
  ['/groups/{group}', ['GET', 'PATCH', 'DELETE']],
  ['/groups/{group}/users', ['GET']],
  ['/groups/{group}/users/{user}', ['PUT', 'HEAD', 'DELETE']],
  ['/roles', ['GET', 'POST']],
  ['/roles/{role}', ['GET', 'PATCH', 'DELETE']],
  ['/roles/{role}/implies', ['GET']],
  ['/roles/{role}/implies/{role}', ['GET', 'PUT', 'HEAD', 'DELETE']],
  ['/role_inferences', ['GET']],
  ['/regions', ['GET', 'POST']],
  ['/regions/{region}', ['GET', 'PUT', 'PATCH', 'DELETE']],
  ['/services', ['GET', 'POST']],
  ['/services/{service}', ['GET', 'PATCH', 'DELETE']],
  ['/endpoints', ['GET', 'POST']],
  ['/endpoints/{endpoint}', ['GET', 'PATCH', 'DELETE']],
  ['/projects/{project}/users/{user}/roles', ['GET']],
  ['/projects/{project}/users/{user}/roles/{role}', ['GET', 'PUT', 'HEAD', 'DELETE']],
  ['/projects/{project}/groups/{group}/roles/{role}', ['PUT', 'HEAD', 'DELETE']],
  ['/domains/{domain}/users/{user}/roles/{role}', ['PUT', 'HEAD', 'DELETE']],
  ['/domains/{domain}/groups/{group}/roles', ['GET']],
  ['/system/users/{user}/roles/{role}', ['PUT', 'HEAD', 'DELETE']],
  ['/system/groups/{group}/roles', ['GET']],
  ['/OS-INHERIT/domains/{domain}/users/{user}/roles/{role}/inherited_to_projects', ['PUT', 'HEAD', 'DELETE']],
  ['/OS-INHERIT/projects/{project}/groups/{group}/roles/{role}/inherited_to_projects', ['PUT', 'DELETE']],
  ['/role_assignments', ['GET']],
  ['/auth/tokens', ['GET', 'HEAD', 'DELETE']],
  ['/auth/projects', ['GET']],
  ['/auth/domains', ['GET']],
  ['/auth/system', ['GET']],
  ['/auth/catalog', ['GET']],
  ['/registered_limits', ['GET', 'POST']],
  ['/limits', ['GET', 'POST']],
  ['/limits/model', ['GET']],
];

const queryString = fc.oneof(
  { weight: 4, arbitrary: fc.constant('') },
  {
    weight: 1,
    arbitrary: fc
      .array(
        fc.tuple(
          fc.constantFrom('name', 'domain_id', 'enabled', 'effective', 'include_names', 'user.id', 'group.id', 'role.id', 'scope.project.id', 'scope.domain.id', 'scope.system', 'scope.OS-INHERIT:inherited_to', 'tags', 'tags-any', 'not-tags', 'is_domain', 'parent_id', 'interface', 'service_id', 'nocatalog', 'allow_expired', 'type', 'limit', 'marker', '__proto__'),
          fc.oneof(fc.constantFrom('', 'true', 'false', '0', '1', 'maybe', 'all', 'projects', 'default', 'public'), fc.string({ maxLength: 20 })),
        ),
        { maxLength: 4 },
      )
      .map((pairs) => `?${pairs.map(([k, v]) => (v === '' && k.startsWith('e') ? k : `${k}=${encodeSegment(v)}`)).join('&')}`),
  },
);

// ---------------------------------------------------------------- the fuzz

describe('Identity fuzz', { timeout: 240_000 }, () => {
  let tc: TestCloud;
  let url: string;
  let agent: Agent;
  let admin: string;
  let adminUser: string;
  /** Application credentials of admin whose secrets we know, to authenticate with. */
  const credentials: Array<{ id: string; name: string; secret: string }> = [];
  /** Tokens of demo that a fuzzed DELETE /v3/auth/tokens may revoke without harm. */
  const expendable: string[] = [];
  const pools = new Map<Kind, string[]>(KINDS.map((k) => [k, []]));
  const pool = (kind: Kind, index: number): string | undefined => {
    const list = pools.get(kind) as string[];
    return list.length > 0 ? list[index % list.length] : undefined;
  };
  let requests = 0;
  const statuses = new Map<number, number>();
  /** With KUMO_FUZZ_DEBUG set: answers per route and status, to see what the fuzz reaches. */
  const routes = new Map<string, number>();

  const send = async (req: FuzzRequest): Promise<ApiResponse> => {
    requests++;
    const res = await check(url, req, agent);
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    if (process.env.KUMO_FUZZ_DEBUG) {
      const message = String(res.json.error?.message ?? '').replace(/'[^']{30,}'|"[^"]{30,}"|[0-9a-f]{32}/g, '…').slice(0, 80);
      const route = `${req.method} ${(req.path.split('?')[0] ?? '').replace(/[0-9a-f]{32}/g, '{id}').slice(0, 70)} ${res.status} ${message}`;
      routes.set(route, (routes.get(route) ?? 0) + 1);
    }
    // Keep what the fuzz created reachable by later requests.
    if (req.method === 'POST' && res.status === 201) {
      const [, collection] = /\/(projects|users|groups|roles|domains|regions|services|endpoints|application_credentials)(?:\?|$)/.exec(req.path) ?? [];
      const kind = collection ? COLLECTION[collection] : undefined;
      const key = kind === 'appcred' ? 'application_credential' : kind;
      const id = key ? (res.json[key]?.id as string | undefined) : undefined;
      if (kind && id) {
        const list = pools.get(kind) as string[];
        list.push(id);
        if (list.length > POOL_LIMIT) list.shift();
      }
    }
    return res;
  };

  /** A pool id, or (rarely) something else. */
  const ref = (kind: Kind): fc.Arbitrary<unknown> =>
    fc.oneof({ weight: 6, arbitrary: fc.nat().map((i) => pool(kind, i) ?? 'default') }, { weight: 1, arbitrary: weird });
  /** Mostly a good value for the field, sometimes a weird one: deep enough to get past the first check. */
  const maybe = (good: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => fc.oneof({ weight: 12, arbitrary: good }, { weight: 1, arbitrary: weird });
  const text = (max: number) => fc.string({ minLength: 1, maxLength: max });
  const FIELDS_OF: Record<string, () => Record<string, fc.Arbitrary<unknown>>> = {
    project: () => ({
      name: text(30),
      description: fc.oneof(fc.string({ maxLength: 40 }), fc.constant(null)),
      enabled: fc.boolean(),
      domain_id: fc.oneof(fc.constant('default'), ref('domain')),
      parent_id: ref('project'),
      tags: fc.array(fc.stringMatching(/^[a-z0-9 ]{1,10}$/), { maxLength: 5 }),
      is_domain: fc.boolean(),
      email: fc.string({ maxLength: 20 }),
    }),
    user: () => ({
      name: text(30),
      domain_id: fc.oneof(fc.constant('default'), ref('domain')),
      password: fc.oneof(fc.string({ maxLength: 20 }), fc.constant(null)),
      enabled: fc.boolean(),
      default_project_id: fc.oneof(ref('project'), fc.constant(null)),
      description: fc.string({ maxLength: 40 }),
      original_password: fc.constantFrom('fuzz-secret', 'wrong'),
    }),
    domain: () => ({ name: text(30), description: fc.string({ maxLength: 40 }), enabled: fc.boolean(), explicit_domain_id: fc.stringMatching(/^[0-9a-f]{32}$/) }),
    group: () => ({ name: text(30), description: fc.string({ maxLength: 40 }), domain_id: fc.oneof(fc.constant('default'), ref('domain')) }),
    role: () => ({ name: text(30), description: fc.string({ maxLength: 40 }), domain_id: fc.oneof(fc.constant(null), ref('domain')) }),
    region: () => ({ id: text(20), description: fc.string({ maxLength: 40 }), parent_region_id: fc.oneof(fc.constant(null), ref('region')) }),
    service: () => ({ type: text(20), name: fc.string({ maxLength: 20 }), description: fc.string({ maxLength: 40 }), enabled: fc.boolean() }),
    endpoint: () => ({
      service_id: ref('service'),
      interface: fc.constantFrom('public', 'internal', 'admin'),
      url: fc.constantFrom('http://a.example/', 'https://b.example:8443/v1/%(tenant_id)s'),
      region_id: fc.oneof(fc.constant(null), ref('region')),
      enabled: fc.boolean(),
    }),
    application_credential: () => ({
      name: text(30),
      description: fc.string({ maxLength: 40 }),
      roles: fc.array(fc.record({ name: fc.constantFrom('admin', 'member', 'reader', 'nope') }, { requiredKeys: [] }), { maxLength: 2 }),
      expires_at: fc.constantFrom(null, '2999-01-01T00:00:00Z', '2999-01-01T00:00:00.123456', '2000-01-01T00:00:00Z', 'garbage'),
      secret: fc.string({ minLength: 1, maxLength: 20 }),
      unrestricted: fc.boolean(),
      access_rules: fc.constantFrom([], [{ path: '/x', method: 'GET', service: 'compute' }]),
    }),
    registered_limit: () => ({ service_id: ref('service'), region_id: fc.oneof(fc.constant(null), ref('region')), resource_name: text(20), default_limit: fc.integer({ min: -1, max: 1000 }) }),
    limit: () => ({ project_id: ref('project'), service_id: ref('service'), region_id: fc.oneof(fc.constant(null), ref('region')), resource_name: text(20), resource_limit: fc.integer({ min: -1, max: 1000 }) }),
  };
  const REQUIRED = ['name', 'type', 'service_id', 'interface', 'url', 'resource_name', 'default_limit', 'resource_limit', 'project_id'];
  const record = (kind: string) => {
    const spec = FIELDS_OF[kind]!();
    return fc.record(Object.fromEntries(Object.entries(spec).map(([k, a]) => [k, maybe(a)])), {
      requiredKeys: Object.keys(spec).filter((k) => REQUIRED.includes(k)),
    });
  };
  /** A body shaped for the route: its envelope, its fields, mostly well typed. */
  const plausible = (template: string): fc.Arbitrary<string | undefined> => {
    const first = /^\/(?:users\/\{\w+\}\/)?(\w+)/.exec(template)?.[1] ?? '';
    if (template.endsWith('/tags')) return fc.record({ tags: maybe(fc.array(fc.stringMatching(/^[a-z0-9]{1,8}$/), { maxLength: 6 })) }).map((b) => JSON.stringify(b));
    if (template.endsWith('/password')) return fc.record({ user: record('user') }).map((b) => JSON.stringify(b));
    if (first === 'registered_limits' || first === 'limits') {
      const kind = first === 'limits' ? 'limit' : 'registered_limit';
      return fc.array(record(kind), { minLength: 1, maxLength: 3 }).map((items) => JSON.stringify({ [first]: items }));
    }
    const kind = COLLECTION[first] === 'appcred' ? 'application_credential' : COLLECTION[first];
    if (!kind || !FIELDS_OF[kind]) return body;
    // Now and then an extra attribute nested absurdly deep, where stack-hungry code would meet it.
    const depth = fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 50, max: 200_000 }) });
    return fc.tuple(record(kind), depth).map(([fields, n]) => {
      const text = JSON.stringify({ [kind]: fields });
      if (n === 0) return text;
      const nested = `${'['.repeat(n)}${']'.repeat(n)}`;
      return `${text.slice(0, -2)}${Object.keys(fields).length > 0 ? ',' : ''}"x-deep":${nested}}}`;
    });
  };

  const tokenHeader = (): fc.Arbitrary<string | undefined> =>
    fc.oneof(
      { weight: 30, arbitrary: fc.constant(admin) },
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: headerValue },
      {
        weight: 1,
        arbitrary: fc.tuple(fc.nat(), fc.constantFrom('cut', 'flip', 'pad', 'demo')).map(([at, how]) => {
          const i = at % admin.length;
          if (how === 'cut') return admin.slice(0, i);
          if (how === 'flip') return `${admin.slice(0, i)}${admin[i] === 'A' ? 'B' : 'A'}${admin.slice(i + 1)}`;
          if (how === 'pad') return `${admin}==`;
          return expendable[at % expendable.length] as string;
        }),
      },
    );

  const headers = (subject: boolean) =>
    fc.record({ token: tokenHeader(), type: contentType, extra: extraHeaders, subject: subject ? fc.nat() : fc.constant(undefined) }).map(({ token, type, extra, subject: s }) => {
      const h: Record<string, string> = { ...extra };
      delete h['x-auth-token'];
      if (subject) {
        // Never the admin token: revoking it would end the fuzz early.
        h['x-subject-token'] = s! % 3 === 0 ? (expendable[s! % expendable.length] as string) : (h['x-subject-token'] ?? 'garbage');
      } else {
        delete h['x-subject-token'];
      }
      if (token !== undefined) h['x-auth-token'] = token;
      if (type !== undefined) h['content-type'] = type;
      return h;
    });

  let schema: string | undefined;

  before(async () => {
    if (ON_POSTGRES) {
      assert.ok(TEST_DATABASE_URL, 'KUMO_FUZZ_DATABASE=postgres needs KUMO_TEST_DATABASE_URL');
      schema = `kumo_fuzz_${randomBytes(6).toString('hex')}`;
    }
    tc = await startTestCloud(schema ? { databaseUrl: TEST_DATABASE_URL as string, databaseSchema: schema } : {});
    url = tc.url;
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
    admin = await tc.token('admin');
    const ia = new IdentityAdmin(url, admin);
    adminUser = await ia.userId('admin');
    for (let i = 0; i < 12; i++) expendable.push((await mustIssue(url, passwordAuth({ name: 'demo', domain: { id: 'default' } }, DEMO_PASSWORD))).token);
    // A few of everything to aim at; the bootstrap entities stay out of reach so the admin token lives on.
    for (let i = 0; i < 3; i++) {
      const domain = await ia.domain(unique('fuzz-domain'));
      pools.get('domain')!.push(domain.id);
      pools.get('project')!.push((await ia.project(unique('fuzz-project'), { domain_id: i === 0 ? domain.id : 'default', tags: ['a', 'b'] })).id);
      pools.get('user')!.push((await ia.user(unique('fuzz-user'), 'fuzz-secret')).id);
      pools.get('group')!.push((await ia.group(unique('fuzz-group'))).id);
      pools.get('role')!.push((await ia.role(unique('fuzz-role'))).id);
      const region = unique('fuzz-region');
      await ia.call('POST', '/regions', { region: { id: region } }, 201);
      pools.get('region')!.push(region);
      const service = (await ia.call('POST', '/services', { service: { type: unique('fuzz'), name: 'fuzz' } }, 201)).json.service.id as string;
      pools.get('service')!.push(service);
      const endpoint = await ia.call('POST', '/endpoints', { endpoint: { service_id: service, interface: 'public', url: 'http://fuzz.example/', region_id: region } }, 201);
      pools.get('endpoint')!.push(endpoint.json.endpoint.id as string);
      const cred = await ia.call('POST', `/users/${adminUser}/application_credentials`, { application_credential: { name: unique('fuzz-cred') } }, 201);
      const c = cred.json.application_credential as { id: string; name: string; secret: string };
      pools.get('appcred')!.push(c.id);
      credentials.push({ id: c.id, name: c.name, secret: c.secret });
    }
  });

  after(async () => {
    agent?.destroy();
    await tc?.stop();
    if (schema) await dropSchema(TEST_DATABASE_URL as string, schema);
    if (requests > 0) {
      const summary = [...statuses.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(' ');
      process.stdout.write(`# identity fuzz (${ON_POSTGRES ? 'postgres' : 'sqlite'}): ${requests} requests, seed ${SEED}, statuses ${summary}\n`);
      for (const [route, n] of [...routes.entries()].sort((a, b) => b[1] - a[1])) process.stdout.write(`#   ${n} ${route}\n`);
    }
  });

  const property = async <T>(name: string, arbitrary: fc.Arbitrary<T>, numRuns: number, predicate: (value: T) => Promise<void>) => {
    const details = await fc.check(fc.asyncProperty(arbitrary, predicate), { seed: SEED, numRuns, endOnFailure: true });
    if (details.failed) {
      const cause = 'errorInstance' in details ? details.errorInstance : undefined;
      const error = cause instanceof Error ? cause.message : String(cause ?? 'too many skips or interrupted');
      assert.fail(`${name} failed after ${details.numRuns} runs; reproduce with KUMO_FUZZ_SEED=${SEED} (fast-check path ${details.counterexamplePath}):\n${error}`);
    }
  };

  it('POST /v3/auth/tokens: random, malformed and nearly valid authentication requests', async () => {
    const idish = fc.oneof(
      { weight: 2, arbitrary: fc.constant(undefined).map(() => adminUser) },
      { weight: 1, arbitrary: fc.constantFrom('default', 'admin') },
      { weight: 1, arbitrary: weird },
    );
    const domainRef = fc.record(
      { id: maybe(fc.constant('default')), name: maybe(fc.constant('Default')) },
      { requiredKeys: [] },
    );
    const userRef = fc.record(
      {
        id: idish,
        name: maybe(fc.constantFrom('admin', 'demo')),
        domain: maybe(domainRef),
        password: maybe(fc.constantFrom(ADMIN_PASSWORD, ADMIN_PASSWORD, DEMO_PASSWORD, 'wrong')),
      },
      { requiredKeys: [] },
    );
    const projectRef = fc.oneof(
      fc.record({ id: maybe(fc.nat().map((i) => pool('project', i) as string)) }),
      fc.record({ name: maybe(fc.constantFrom('admin', 'demo', 'service')), domain: domainRef }, { requiredKeys: [] }),
    );
    const scope = fc.oneof(
      fc.constant('unscoped'),
      fc.record({ project: maybe(projectRef) }),
      fc.record({ domain: maybe(domainRef) }),
      fc.record({ system: maybe(fc.constant({ all: true })) }),
      fc.record({ project: projectRef, domain: domainRef }),
      fc.record({ 'OS-TRUST:trust': weird }),
      weird,
    );
    const credential = fc.oneof(
      { weight: 3, arbitrary: fc.nat().map((i) => { const c = credentials[i % credentials.length]!; return { id: c.id, secret: c.secret }; }) },
      { weight: 2, arbitrary: fc.nat().map((i) => { const c = credentials[i % credentials.length]!; return { name: c.name, user: { id: adminUser }, secret: c.secret }; }) },
      {
        weight: 2,
        arbitrary: fc.record(
          { id: maybe(fc.nat().map((i) => pool('appcred', i) as string)), name: weird, secret: maybe(fc.constant('wrong')), user: userRef },
          { requiredKeys: [] },
        ),
      },
    );
    const tokenId = fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined).map(() => admin) },
      { weight: 3, arbitrary: fc.nat().map((i) => expendable[i % expendable.length] as string) },
      { weight: 1, arbitrary: headerValue },
      { weight: 1, arbitrary: weird },
    );
    const goodUser = fc.oneof(
      fc.constant(undefined).map(() => ({ id: adminUser, password: ADMIN_PASSWORD })),
      fc.constant({ name: 'admin', domain: { id: 'default' }, password: ADMIN_PASSWORD }),
      fc.constant({ name: 'demo', domain: { name: 'Default' }, password: DEMO_PASSWORD }),
    );
    const identity = fc.oneof(
      { weight: 4, arbitrary: fc.record({ methods: fc.constant(['password']), password: fc.record({ user: goodUser }) }) },
      { weight: 5, arbitrary: fc.record({ methods: fc.constant(['password']), password: fc.record({ user: maybe(userRef) }) }) },
      { weight: 2, arbitrary: fc.record({ methods: fc.constant(['token']), token: fc.record({ id: tokenId }, { requiredKeys: [] }) }) },
      { weight: 2, arbitrary: fc.record({ methods: fc.constant(['application_credential']), application_credential: credential }) },
      {
        weight: 2,
        arbitrary: fc.record(
          {
            methods: fc.oneof(
              { weight: 5, arbitrary: fc.subarray(['password', 'token', 'application_credential', 'totp', 'mapped'], { minLength: 1 }) },
              { weight: 1, arbitrary: weird },
            ),
            password: maybe(fc.record({ user: maybe(userRef) }, { requiredKeys: [] })),
            token: fc.record({ id: tokenId }, { requiredKeys: [] }),
            application_credential: credential,
          },
          { requiredKeys: [] },
        ),
      },
    );
    const authBody = fc.oneof(
      { weight: 8, arbitrary: fc.record({ auth: fc.record({ identity: maybe(identity), scope }, { requiredKeys: ['identity'] }) }).map((b) => JSON.stringify(b)) },
      { weight: 3, arbitrary: body },
    );
    const request = fc.record({
      body: authBody,
      query: fc.constantFrom('', '', '', '?nocatalog', '?nocatalog=maybe', '?nocatalog=0&nocatalog=1'),
      headers: headers(false),
    });
    await property('auth', request, runs(1200), async (r) => {
      await send({ method: 'POST', path: `${V3}/auth/tokens${r.query}`, headers: r.headers, ...(r.body !== undefined ? { body: r.body } : {}) });
    });
  });

  it('CRUD endpoints: random methods, ids, bodies and headers with an admin token', async () => {
    const request = fc
      .tuple(fc.constantFrom(...TEMPLATES), fc.nat(), fc.integer({ min: 0, max: 9 }), queryString, headers(false), headers(true))
      .chain(([[template, methods], methodIndex, methodNoise, q, h, hSubject]) => {
        const names = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
        const parts = names.map((name) =>
          name === 'admin'
            ? fc.constant(adminUser)
            : name === 'tag'
              ? fc.oneof(fc.constantFrom('a', 'b', 'new'), fc.string({ maxLength: 30 }).map(encodeSegment), fc.constantFrom('%2F', 'a,b', '%zz'))
              : segment(pool, name as Kind),
        );
        const b = fc.oneof({ weight: 3, arbitrary: plausible(template) }, { weight: 2, arbitrary: body });
        return fc.tuple(b, ...parts).map(([b, ...values]) => {
          let i = 0;
          const path = template.replace(/\{\w+\}/g, () => values[i++] as string);
          // Mostly the methods the route has; sometimes any method at all.
          const method = methodNoise === 0 ? (['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'][methodIndex % 7] as string) : (methods[methodIndex % methods.length] as string);
          return { method, path: `${V3}${path}${q}`, headers: template === '/auth/tokens' ? hSubject : h, body: b };
        });
      });
    await property('crud', request, runs(2600), async (r) => {
      const withBody = r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD';
      await send({ method: r.method, path: r.path, headers: r.headers, ...(withBody ? { body: r.body } : {}) });
    });
  });

  it('random paths under /identity/v3', async () => {
    const printable = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
    const seg = fc.oneof(
      fc.constantFrom('projects', 'users', 'groups', 'roles', 'domains', 'regions', 'services', 'endpoints', 'auth', 'tokens', 'OS-INHERIT', 'system', 'v3', '..', '.', '', 'OS-FEDERATION', 'credentials', 'policies'),
      fc.string({ unit: printable, maxLength: 30 }),
      fc.string({ unit: 'binary', maxLength: 10 }).map(encodeSegment),
    );
    const request = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'),
      segments: fc.array(seg, { minLength: 1, maxLength: 7 }),
      headers: headers(false),
      body,
    });
    await property('paths', request, runs(700), async (r) => {
      const path = `${V3}/${r.segments.join('/')}`;
      const withBody = r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD';
      await send({ method: r.method, path, headers: r.headers, ...(withBody ? { body: r.body } : {}) });
    });
  });

  it('malformed HTTP on a raw socket never gets a 5xx', async () => {
    const u = new URL(url);
    const rawSend = (bytes: Buffer): Promise<string> =>
      new Promise((resolve) => {
        const socket = connect(Number(u.port), u.hostname);
        const chunks: Buffer[] = [];
        const done = () => {
          socket.destroy();
          resolve(Buffer.concat(chunks).toString('latin1'));
        };
        socket.setTimeout(150, done);
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('end', done);
        socket.on('close', done);
        socket.on('error', done);
        socket.write(bytes);
      });
    const anyByte = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
    const head = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b)),
      fc
        .tuple(
          fc.constantFrom('GET', 'POST', 'PATCH', 'G\u0000T', 'BREW', ''),
          fc.oneof(fc.constant(`${V3}/projects`), fc.string({ unit: anyByte, maxLength: 40 }).map((s) => `${V3}/${s}`)),
          fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/9.9', 'HTTP/1.1 extra', ''),
          fc.array(fc.tuple(fc.string({ unit: anyByte, maxLength: 20 }), fc.string({ unit: anyByte, maxLength: 60 })), { maxLength: 4 }),
          fc.constantFrom('', 'Content-Length: abc\r\n', 'Content-Length: -1\r\n', 'Content-Length: 5\r\nContent-Length: 6\r\n', 'Transfer-Encoding: chunked\r\n', `X-Auth-Token: ${'A'.repeat(20_000)}\r\n`),
          fc.string({ unit: anyByte, maxLength: 50 }),
        )
        .map(([method, path, version, pairs, special, rest]) =>
          Buffer.from(
            `${method} ${path} ${version}\r\nHost: localhost\r\n${pairs.map(([k, v]) => `${k}: ${v}\r\n`).join('')}X-Auth-Token: ${admin}\r\n${special}\r\n${rest}`,
            'latin1',
          ),
        ),
    );
    await property('raw', head, runs(80), async (bytes) => {
      requests++;
      const answer = await rawSend(bytes);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1];
      if (status) {
        statuses.set(Number(status), (statuses.get(Number(status)) ?? 0) + 1);
        assert.ok(Number(status) < 500, `raw request ${JSON.stringify(bytes.toString('latin1').slice(0, 200))} -> ${answer.slice(0, 200)}`);
      }
    });
  });

  it('the process is still up and the admin token still works', async () => {
    const version = await api(url, 'GET', V3);
    assert.equal(version.status, 200);
    const projects = await api(url, 'GET', `${V3}/projects`, admin);
    assert.equal(projects.status, 200, JSON.stringify(projects.body));
    const fresh = await mustIssue(url, passwordAuth({ name: 'admin', domain: { id: 'default' } }, ADMIN_PASSWORD));
    assert.ok(fresh.token);
    assert.ok(requests >= runs(4000), `only ${requests} requests were made`);
  });
});
