/**
 * A property-based fuzzer (fast-check) for every API on the one port: requests are generated
 * from the server's own route table (methods, path templates), with real ids of resources made
 * for the purpose or odd ones, random query strings, headers, microversions and bodies
 * (plausible envelopes with wrong parts, malformed and deeply nested JSON, huge numbers,
 * unicode), as admin, as a member of a project and with no token. Used by the CI suite
 * (test/services/api-fuzz.test.ts) and by the long run (bench/api-fuzz.bench.ts).
 */
import { Agent, request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { FIELDS, fieldName, plausibleBodies, weird, type Pick } from './api-fuzz-bodies.js';
import { api, passwordToken } from './cloud.js';

// ---------------------------------------------------------------- the routes

export interface Route {
  method: string;
  /** e.g. `/networking/v2.0/ports/:id` */
  template: string;
}

/** Every route the server has, from Fastify's route tree (alternative parameter names: the first). */
export function routeTable(app: FastifyInstance): Route[] {
  const routes: Route[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = (match[1] ?? '').length / 4;
    const segment = (match[2] ?? '').replace(/:(\w+)(\|:\w+)+/g, ':$1');
    stack.length = depth;
    stack.push(segment);
    const path = stack.join('');
    if (!match[3] || path.includes('*')) continue;
    for (const method of match[3].split(', ')) routes.push({ method, template: path });
  }
  return routes;
}

// ---------------------------------------------------------------- the world it aims at

export interface FuzzCaller {
  name: 'admin' | 'member' | 'none';
  token?: string;
}

export interface FuzzWorld {
  url: string;
  callers: FuzzCaller[];
  /** Real ids by the collection segment that precedes a path parameter (`ports`, `servers`...). */
  pools: Map<string, string[]>;
}

/** The collection a path parameter names, when the segment before it is not the collection itself. */
const POOL_ALIASES: Record<string, string> = {
  'os-interface': 'ports',
  'os-keypairs': 'keypairs',
  'os-quota-sets': 'projects',
  'os-quota-class-sets': 'quota-classes',
  quotas: 'projects',
  members: 'projects',
  'os-server-groups': 'server-groups',
  'os-security-groups': 'security-groups',
  'os-hypervisors': 'hypervisors',
  'os-extra_specs': 'extra-specs',
  'os-instance-actions': 'request-ids',
  ips: 'network-names',
};

const POOL_LIMIT = 30;

function addToPool(pools: Map<string, string[]>, key: string, id: string): void {
  const list = pools.get(key) ?? [];
  if (list.includes(id)) return;
  list.push(id);
  if (list.length > POOL_LIMIT) list.splice(1, 1);
  pools.set(key, list);
}

async function must(base: string, method: string, path: string, token: string | undefined, body?: unknown, expect = [200, 201, 202, 204]) {
  const res = await api(base, method, path, token, body);
  if (!expect.includes(res.status)) throw new Error(`fuzz setup: ${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 400)}`);
  return res;
}

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`fuzz setup: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Makes the resources the fuzz aims at, all its own: a project with a member user (whose
 * token is the member caller), spare identity entities, a network with a subnet, port,
 * router, security group and floating IP, an image with data, a keypair, a server group, a
 * flavor and a server. The bootstrap accounts stay out of the pools, so that what the fuzz
 * deletes or disables never takes the callers' own tokens away.
 */
export async function prepareWorld(url: string, adminToken: string): Promise<FuzzWorld> {
  const pools = new Map<string, string[]>();
  const suffix = randomBytes(4).toString('hex');
  const id = (res: { json: Record<string, any> }, key: string) => String(res.json[key]?.id);
  const I = '/identity/v3';
  const N = '/networking/v2.0';
  const C = '/compute/v2.1';
  const G = '/image/v2';

  // Identity: the member's project, and spare entities the fuzz may break at will.
  const project = id(await must(url, 'POST', `${I}/projects`, adminToken, { project: { name: `fuzz-${suffix}`, domain_id: 'default' } }), 'project');
  const password = `fuzz-${suffix}-secret`;
  const user = id(await must(url, 'POST', `${I}/users`, adminToken, { user: { name: `fuzz-member-${suffix}`, password, domain_id: 'default', default_project_id: project } }), 'user');
  const member = (await must(url, 'GET', `${I}/roles?name=member`, adminToken)).json.roles[0].id as string;
  await must(url, 'PUT', `${I}/projects/${project}/users/${user}/roles/${member}`, adminToken);
  const memberToken = await passwordToken(url, `fuzz-member-${suffix}`, password, `fuzz-${suffix}`);
  const domain = id(await must(url, 'POST', `${I}/domains`, adminToken, { domain: { name: `fuzz-domain-${suffix}` } }), 'domain');
  const spareProject = id(await must(url, 'POST', `${I}/projects`, adminToken, { project: { name: `fuzz-spare-${suffix}`, domain_id: 'default', tags: ['a'] } }), 'project');
  const spareUser = id(await must(url, 'POST', `${I}/users`, adminToken, { user: { name: `fuzz-spare-${suffix}`, password: 'spare-secret' } }), 'user');
  const group = id(await must(url, 'POST', `${I}/groups`, adminToken, { group: { name: `fuzz-group-${suffix}` } }), 'group');
  const role = id(await must(url, 'POST', `${I}/roles`, adminToken, { role: { name: `fuzz-role-${suffix}` } }), 'role');
  const region = `fuzz-region-${suffix}`;
  await must(url, 'POST', `${I}/regions`, adminToken, { region: { id: region } });
  for (const [key, value] of [['projects', spareProject], ['users', spareUser], ['domains', domain], ['groups', group], ['roles', role], ['regions', region]] as const) {
    addToPool(pools, key, value);
  }

  // Networking, as the member, with an external network the admin provides.
  const external = id(await must(url, 'POST', `${N}/networks`, adminToken, { network: { name: `fuzz-ext-${suffix}`, 'router:external': true } }), 'network');
  await must(url, 'POST', `${N}/subnets`, adminToken, { subnet: { network_id: external, cidr: '203.0.113.0/24', enable_dhcp: false } });
  const network = id(await must(url, 'POST', `${N}/networks`, memberToken, { network: { name: 'fuzz-net' } }), 'network');
  const subnet = id(await must(url, 'POST', `${N}/subnets`, memberToken, { subnet: { network_id: network, cidr: '10.99.0.0/24', name: 'fuzz-subnet' } }), 'subnet');
  const port = id(await must(url, 'POST', `${N}/ports`, memberToken, { port: { network_id: network, name: 'fuzz-port' } }), 'port');
  const router = id(await must(url, 'POST', `${N}/routers`, memberToken, { router: { name: 'fuzz-router', external_gateway_info: { network_id: external } } }), 'router');
  await must(url, 'PUT', `${N}/routers/${router}/add_router_interface`, memberToken, { subnet_id: subnet });
  const group2 = id(await must(url, 'POST', `${N}/security-groups`, memberToken, { security_group: { name: 'fuzz-sg' } }), 'security_group');
  const rule = id(await must(url, 'POST', `${N}/security-group-rules`, memberToken, { security_group_rule: { security_group_id: group2, direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22 } }), 'security_group_rule');
  const floating = id(await must(url, 'POST', `${N}/floatingips`, memberToken, { floatingip: { floating_network_id: external } }), 'floatingip');
  for (const [key, value] of [['networks', network], ['networks', external], ['subnets', subnet], ['ports', port], ['routers', router], ['security-groups', group2], ['security-group-rules', rule], ['floatingips', floating], ['network-names', 'fuzz-net']] as const) {
    addToPool(pools, key, value);
  }

  // Images: one with data (to boot from), one queued, shared with the admin's project.
  const image = id({ json: { image: (await must(url, 'POST', `${G}/images`, memberToken, { name: 'fuzz-image', disk_format: 'raw', container_format: 'bare' })).json } }, 'image');
  const upload = await fetch(`${url}${G}/images/${image}/file`, {
    method: 'PUT',
    headers: { 'x-auth-token': memberToken, 'content-type': 'application/octet-stream' },
    body: randomBytes(4096),
  });
  if (upload.status !== 204) throw new Error(`fuzz setup: image upload: HTTP ${upload.status}`);
  const queued = id({ json: { image: (await must(url, 'POST', `${G}/images`, memberToken, { name: 'fuzz-queued', visibility: 'shared' })).json } }, 'image');
  const adminProject = (await must(url, 'GET', `${I}/auth/projects`, adminToken)).json.projects.find((p: { name: string }) => p.name === 'admin')?.id as string;
  await must(url, 'POST', `${G}/images/${queued}/members`, memberToken, { member: adminProject });
  addToPool(pools, 'images', image);
  addToPool(pools, 'images', queued);

  // Compute: a flavor, a keypair, a server group and a server of the member's.
  const flavor = id(await must(url, 'POST', `${C}/flavors`, adminToken, { flavor: { name: `fuzz-flavor-${suffix}`, ram: 64, vcpus: 1, disk: 1 } }), 'flavor');
  await must(url, 'POST', `${C}/os-keypairs`, memberToken, { keypair: { name: 'fuzz-key' } });
  const serverGroup = id(await must(url, 'POST', `${C}/os-server-groups`, memberToken, { server_group: { name: 'fuzz-group', policies: ['anti-affinity'] } }), 'server_group');
  const server = id(
    await must(url, 'POST', `${C}/servers`, memberToken, { server: { name: 'fuzz-server', flavorRef: flavor, imageRef: image, networks: [{ uuid: network }] } }),
    'server',
  );
  await until('the fuzz server to be ACTIVE', async () => (await api(url, 'GET', `${C}/servers/${server}`, memberToken)).json.server?.status === 'ACTIVE');
  await must(url, 'PUT', `${C}/servers/${server}/metadata/fuzz`, memberToken, { meta: { fuzz: 'yes' } });
  for (const [key, value] of [['flavors', flavor], ['keypairs', 'fuzz-key'], ['server-groups', serverGroup], ['servers', server], ['extra-specs', 'hw:cpu_policy'], ['metadata', 'fuzz'], ['quota-classes', 'default']] as const) {
    addToPool(pools, key, value);
  }
  const hypervisors = (await must(url, 'GET', `${C}/os-hypervisors`, adminToken)).json.hypervisors as Array<{ id: string | number }>;
  for (const h of hypervisors.slice(0, 3)) addToPool(pools, 'hypervisors', String(h.id));
  const actions = (await must(url, 'GET', `${C}/servers/${server}/os-instance-actions`, memberToken)).json.instanceActions as Array<{ request_id: string }>;
  for (const a of actions.slice(0, 2)) addToPool(pools, 'request-ids', a.request_id);
  addToPool(pools, 'tags', 'fuzz-tag');
  for (const collection of ['networks', 'subnets', 'ports', 'routers', 'security-groups', 'floatingips', 'trunks']) addToPool(pools, 'collections', collection);

  return {
    url,
    callers: [{ name: 'admin', token: adminToken }, { name: 'member', token: memberToken }, { name: 'none' }],
    pools,
  };
}

// ---------------------------------------------------------------- requests

export interface FuzzRequest {
  caller: FuzzCaller['name'];
  route: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** Percent-encodes the UTF-8 of anything (lone surrogates included, unlike encodeURIComponent). */
export function encodeSegment(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._~-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The body key a collection's create and update take (`ports` -> `port`). */
function envelopeOf(template: string): string | undefined {
  const literal = template.split('/').filter((s) => s !== '' && !s.startsWith(':')).pop() ?? '';
  const map: Record<string, string> = {
    'security-groups': 'security_group', 'security-group-rules': 'security_group_rule', 'os-security-groups': 'security_group',
    policies: 'policy', 'os-keypairs': 'keypair', 'os-server-groups': 'server_group', 'os-quota-sets': 'quota_set',
    'os-quota-class-sets': 'quota_class_set', quotas: 'quota', metadata: 'metadata', 'os-interface': 'interfaceAttachment',
    'os-extra_specs': 'extra_specs', 'remote-consoles': 'remote_console', tags: 'tags', 'registered_limits': 'registered_limits',
    limits: 'limits', floatingips: 'floatingip', 'application_credentials': 'application_credential', credentials: 'credential',
  };
  if (map[literal]) return map[literal];
  if (literal.endsWith('ies')) return `${literal.slice(0, -3)}y`;
  if (literal.endsWith('s')) return literal.slice(0, -1);
  return undefined;
}

/** Raw JSON text with numbers JSON.stringify cannot write, and other unparseable or hostile text. */
const rawBody = (envelope: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(
      '', 'null', '[]', '{}', '"x"', '0', 'true', '{"a":1}{"b":2}', '\ufeff{}', '{"a":"\\ud800"}', '{"a":1e999}', '{"a":-0}', '{',
      '{"a":"\\u0000"}', '{"a":NaN}', "{'a': 1}", '{"a":1,}', '[1,2,',
    ),
    fc
      .constantFrom('1e309', '-1e309', '123456789012345678901234567890', '-0', '0.0000000000000000000000001', '1E+2', '9'.repeat(400))
      .chain((n) => fc.constantFrom(...FIELDS).map((f) => `{"${envelope}": {"${f}": ${n}, "name": ${n}}}`)),
    fc
      .tuple(fc.integer({ min: 50, max: 100_000 }), fc.constantFrom('[', '{"a":'), fc.boolean())
      .map(([n, open, balanced]) => `{"${envelope}": ${open.repeat(n)}1${balanced ? (open === '[' ? ']' : '}').repeat(n) : ''}}`),
    fc.string({ unit: 'binary', maxLength: 200 }),
  );

type Body = { body?: string | Buffer; type?: string };

/** A body for this route: mostly nearly right, sometimes an envelope of odd fields, sometimes garbage. */
function bodyFor(template: string, method: string, ids: fc.Arbitrary<string>, plausible: fc.Arbitrary<unknown> | undefined): fc.Arbitrary<Body> {
  const envelope = envelopeOf(template) ?? 'x';
  const value = fc.oneof({ weight: 3, arbitrary: weird }, { weight: 2, arbitrary: ids }, { weight: 1, arbitrary: fc.constantFrom(1, 'fuzz', true, false, 22, 4, 64) });
  const fields = fc.dictionary(fieldName, value, { maxKeys: 6 });
  const json = (v: unknown) => ({ body: JSON.stringify(v), type: 'application/json' });
  const options: Array<{ weight: number; arbitrary: fc.Arbitrary<Body> }> = [
    { weight: 8, arbitrary: fields.map((f) => json({ [envelope]: f })) },
    { weight: 2, arbitrary: fc.array(fields, { maxLength: 3 }).map((f) => json({ [`${envelope}s`]: f })) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map(json) },
    { weight: 3, arbitrary: rawBody(envelope).map((body) => ({ body, type: 'application/json' })) },
    { weight: 2, arbitrary: fc.constant({}) },
  ];
  if (plausible) options.push({ weight: 40, arbitrary: plausible.map(json) });
  if (template.startsWith('/image/') && method === 'PATCH') {
    const op = fc.record({ op: fc.oneof(fc.constantFrom('add', 'replace', 'remove'), weird), path: fc.oneof(fc.constantFrom('/name', '/visibility', '/tags', '/min_ram', '/x', '/id', '/status', '/protected', '/'), weird), value: weird }, { requiredKeys: [] });
    const patchType = fc.constantFrom('application/openstack-images-v2.1-json-patch', 'application/openstack-images-v2.0-json-patch');
    options.push({ weight: 40, arbitrary: fc.tuple(fc.array(op, { maxLength: 4 }), patchType).map(([ops, type]) => ({ body: JSON.stringify(ops), type })) });
  }
  if (template.startsWith('/image/') && (template.endsWith('/file') || template.endsWith('/stage'))) {
    options.push({ weight: 40, arbitrary: fc.uint8Array({ maxLength: 3000 }).map((bytes) => ({ body: Buffer.from(bytes), type: 'application/octet-stream' })) });
  }
  return fc.oneof(...options);
}

const QUERY_KEYS = [
  'limit', 'marker', 'sort_key', 'sort_dir', 'sort', 'page_reverse', 'fields', 'name', 'status', 'all_tenants', 'project_id', 'tenant_id',
  'network_id', 'device_id', 'device_owner', 'fixed_ips', 'mac_address', 'tags', 'tags-any', 'not-tags', 'not-tags-any',
  'changes-since', 'deleted', 'visibility', 'member_status', 'owner', 'os_hidden', 'size_min', 'size_max', 'flavor', 'image', 'host',
  'ip', 'reservation_id', 'enabled', 'domain_id', 'user.id', 'effective', 'include_names', 'detail', 'minDisk', 'minRam', 'is_public',
  'router:external', 'shared', 'cidr', 'ip_version', 'id', '__proto__', 'user_id', 'binary', 'hypervisor_hostname_pattern', 'with_servers',
];
const queryValue = fc.oneof(
  fc.constantFrom('', '-1', '0', '1', '1e309', '99999999999999999999', 'true', 'false', 'maybe', 'asc', 'desc', 'name', 'id', '%zz', '%00', 'ACTIVE', 'all', 'x'.repeat(5000)),
  fc.string({ maxLength: 20 }).map(encodeSegment),
  fc.string({ unit: 'binary', maxLength: 10 }).map(encodeSegment),
);
const queryString = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.tuple(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...QUERY_KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 10 }).map(encodeSegment) }), queryValue), { maxLength: 5 })
      .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${k}=${v}`).join('&')}`)),
  },
  { weight: 1, arbitrary: fc.constantFrom('?', '?&&', '?limit', '?limit=1&limit=2', '?=x', '?a[b]=c', '?fields=id&fields=name', `?marker=${'m'.repeat(2000)}`) },
);

const headerChar = fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f).map((c) => String.fromCharCode(c));
const headerValue = fc.oneof(
  { weight: 20, arbitrary: fc.string({ unit: headerChar, maxLength: 60 }) },
  { weight: 4, arbitrary: fc.string({ unit: headerChar, minLength: 200, maxLength: 2000 }) },
  // Past Node's 16 KiB limit on a request head: a 431, after which the keep-alive connection must still serve.
  { weight: 1, arbitrary: fc.integer({ min: 17_000, max: 40_000 }).map((n) => 'h'.repeat(n)) },
);
const microversion = fc.oneof(
  fc.constantFrom('2.1', '2.26', '2.37', '2.38', '2.99', '3.0', 'latest', 'LATEST', '', '2', '2.', '.5', '2.1.1', '02.010', '-2.1', '2.1 2.2', 'compute 2.37'),
  headerValue,
);
const extraHeaders = fc.dictionary(
  fc.constantFrom('accept', 'accept-encoding', 'accept-language', 'x-openstack-nova-api-version', 'openstack-api-version', 'x-openstack-request-id', 'x-forwarded-for', 'range', 'x-subject-token', 'if-match', 'x-image-meta-name', 'x-fuzz'),
  fc.oneof(microversion, headerValue),
  { maxKeys: 3 },
);
const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constantFrom('', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'application/json;;;', 'APPLICATION/JSON', 'application/+json', 'application/octet-stream', '*/*', 'garbage', 'multipart/form-data; boundary=x') },
  { weight: 1, arbitrary: fc.string({ unit: headerChar, maxLength: 40 }) },
);
const ALL_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/** One request: a route and a caller, then every part of the request drawn around them. */
export function fuzzRequests(routes: Route[], world: FuzzWorld): fc.Arbitrary<FuzzRequest> {
  const everyId = [...new Set([...world.pools.values()].flat())];
  const oddId = fc.oneof(
    fc.uuid().map(String),
    fc.stringMatching(/^[0-9a-f]{32}$/),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }).map(encodeSegment),
    fc.constantFrom('%zz', '%', '%E0%A4%A', '%00', '%2F', '..', '.', 'a'.repeat(1200), '%FF%FE', '%25', ';', '*', '-1', '0', '1e309', '99999999999999999999', 'default', 'detail', 'null'),
  );
  // Pools grow as the fuzz creates things: ids are read from them when drawn, not copied.
  const pick: Pick = (key) => {
    const pool = world.pools.get(POOL_ALIASES[key] ?? key) ?? world.pools.get(key);
    const live = pool && pool.length > 0 ? pool : everyId;
    return fc.nat().map((i) => live[i % live.length] as string);
  };
  const idFor = (key: string): fc.Arbitrary<string> => fc.oneof({ weight: 12, arbitrary: pick(key).map(encodeSegment) }, { weight: 1, arbitrary: oddId });
  const anyId = fc.constantFrom(...everyId);
  const plausible = plausibleBodies(pick);
  // Each of the four APIs as often as the others, whatever its number of routes.
  const byApi = new Map<string, Route[]>();
  for (const route of routes) {
    const api = route.template.split('/')[1] ?? '';
    byApi.set(api, [...(byApi.get(api) ?? []), route]);
  }
  // Within an API, creates and changes more often than reads (they are fewer, and reach more),
  // deletes less often (each one takes something away from the requests after it).
  const pickRoute = (group: Route[]) => {
    const kinds = [
      { weight: 2, routes: group.filter((r) => r.method === 'GET' || r.method === 'HEAD') },
      { weight: 4, routes: group.filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method)) },
      { weight: 1, routes: group.filter((r) => r.method === 'DELETE') },
    ].filter((k) => k.routes.length > 0);
    return fc.oneof(...kinds.map((k) => ({ weight: k.weight, arbitrary: fc.constantFrom(...k.routes) })));
  };
  const apis = [...byApi.entries()].map(([api, group]) => ({ weight: ['identity', 'compute', 'image', 'networking'].includes(api) ? 6 : 1, arbitrary: pickRoute(group) }));
  const route = fc.oneof(...apis);
  return fc
    .record({
      route,
      caller: fc.constantFrom(...world.callers, world.callers[0] as FuzzCaller, world.callers[1] as FuzzCaller),
      otherMethod: fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...ALL_METHODS) }),
      query: queryString,
      type: contentType,
      extra: extraHeaders,
      badToken: fc.oneof({ weight: 30, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: headerValue }),
      // Compute answers by microversion: most features need one past 2.1.
      computeVersion: fc.oneof({ weight: 1, arbitrary: fc.constant(undefined) }, { weight: 3, arbitrary: fc.integer({ min: 1, max: 37 }).map((v) => `compute 2.${v}`) }, { weight: 1, arbitrary: fc.constant('compute latest') }),
    })
    .chain(({ route, caller, otherMethod, query, type, extra, badToken, computeVersion }) => {
      const segments = route.template.split('/');
      const parts = segments.map((segment, i) => {
        if (!segment.startsWith(':')) return fc.constant(segment);
        const before = segments.slice(0, i).reverse().find((s) => s !== '' && !s.startsWith(':')) ?? '';
        return idFor(segment === ':collection' ? 'collections' : before);
      });
      const method = otherMethod ?? route.method;
      const withBody = !['GET', 'HEAD'].includes(method);
      return fc.tuple(fc.tuple(...parts), withBody ? bodyFor(route.template, method, anyId, plausible[`${method} ${route.template}`]) : fc.constant<Body>({})).map(([values, { body, type: bodyType }]) => {
        const headers: Record<string, string> = { ...extra };
        if (computeVersion !== undefined && route.template.startsWith('/compute/') && headers['openstack-api-version'] === undefined) {
          headers['openstack-api-version'] = computeVersion;
        }
        const token = badToken ?? caller.token;
        if (token !== undefined) headers['x-auth-token'] = token;
        // Never a caller's real token as the subject: revoking it would end the fuzz early.
        if (headers['x-subject-token'] !== undefined) headers['x-subject-token'] = `gAAAA${headers['x-subject-token'].slice(0, 40)}`;
        const finalType = type ?? bodyType;
        if (finalType !== undefined) headers['content-type'] = finalType;
        const request: FuzzRequest = { caller: caller.name, route: `${route.method} ${route.template}`, method, path: `${values.join('/')}${query}`, headers };
        if (body !== undefined) request.body = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
        return request;
      });
    });
}

// ---------------------------------------------------------------- sending and tallying

export interface FuzzAnswer {
  status: number;
  body: string;
  /** The server's request id; every answer must carry one. */
  requestId: string | undefined;
}

/** Sends one request over `agent`; rejects only when the connection itself fails. */
export function send(url: string, req: FuzzRequest, agent: Agent, timeoutMs = 30_000): Promise<FuzzAnswer> {
  const base = new URL(url);
  const headers: Record<string, string> = { ...req.headers };
  if (req.body !== undefined) headers['content-length'] = String(req.body.length);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: base.hostname, port: base.port, method: req.method, path: req.path, headers, agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        // Keep the start of big answers only: enough to report what went wrong.
        if (size < 4096) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('error', reject);
      res.on('end', () => {
        const id = res.headers['x-openstack-request-id'];
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8').slice(0, 4096), requestId: Array.isArray(id) ? id[0] : id });
      });
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

/** Pools grow with what the fuzz itself creates, so later requests reach it. */
export function learnFrom(world: FuzzWorld, req: FuzzRequest, answer: FuzzAnswer): void {
  if (req.method !== 'POST' || (answer.status !== 201 && answer.status !== 200 && answer.status !== 202)) return;
  const collection = req.path.split('?')[0]?.split('/').pop();
  if (!collection) return;
  try {
    const parsed = JSON.parse(answer.body) as Record<string, unknown>;
    const first = Object.values(parsed)[0];
    const id = typeof first === 'object' && first !== null ? (first as { id?: unknown }).id : parsed.id;
    if (typeof id === 'string' && id.length < 100) addToPool(world.pools, POOL_ALIASES[collection] ?? collection, id);
  } catch {
    // not JSON (or cut): nothing to learn
  }
}

export interface FuzzFailure {
  request: string;
  outcome: string;
}

/** What a run saw: requests, answers by status, and what broke the rules (5xx, no answer, no request id). */
export class FuzzTally {
  requests = 0;
  readonly statuses = new Map<number, number>();
  readonly failures: FuzzFailure[] = [];
  failureCount = 0;

  record(req: FuzzRequest, answer: FuzzAnswer | Error): void {
    this.requests++;
    const problem = answer instanceof Error ? `no answer: ${answer.message}` : answer.status >= 500 ? `HTTP ${answer.status} ${answer.body.slice(0, 300)}` : answer.requestId ? undefined : `HTTP ${answer.status} without x-openstack-request-id`;
    if (!(answer instanceof Error)) this.statuses.set(answer.status, (this.statuses.get(answer.status) ?? 0) + 1);
    if (problem === undefined) return;
    this.failureCount++;
    if (this.failures.length < 50) this.failures.push({ request: describe(req), outcome: problem });
  }

  summary(): string {
    return [...this.statuses.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`).join(' ');
  }
}

export function describe(req: FuzzRequest): string {
  const body = req.body === undefined ? '' : ` body=${JSON.stringify(req.body.toString('utf8').slice(0, 300))}`;
  const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, k === 'x-auth-token' ? `<${req.caller} token>` : v.slice(0, 100)]));
  return `[${req.caller}] ${req.method} ${req.path.slice(0, 300)} (route ${req.route}) headers=${JSON.stringify(headers)}${body}`;
}

/** The services still answer, and the callers' tokens still work. */
export async function stillServing(world: FuzzWorld): Promise<string[]> {
  const problems: string[] = [];
  const admin = world.callers.find((c) => c.name === 'admin')?.token;
  const checks: Array<[string, string | undefined]> = [
    ['/identity/v3', undefined],
    ['/identity/v3/auth/projects', admin],
    ['/compute/v2.1/servers', admin],
    ['/image/v2/images', admin],
    ['/networking/v2.0/networks', admin],
  ];
  for (const [path, token] of checks) {
    const res = await api(world.url, 'GET', path, token).catch((error: unknown) => ({ status: 0, body: String(error) }));
    if (res.status !== 200) problems.push(`GET ${path}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
  }
  return problems;
}
