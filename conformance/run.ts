/**
 * `npm run conformance`: runs Debian's tempest against a fresh `kumo up` and writes
 * docs/conformance.md. Options:
 *   --list interop            the interop (OpenStack Powered Platform) list (default)
 *   --list tempest.api.NAME   a whole tempest tree (repeatable), or --list FILE of test ids
 *   --out PATH                where to write the report (default docs/conformance.md)
 *   --baseline PATH           fail when a service passes fewer tests than recorded there
 *   --update-baseline         raise the recorded counts to this run's (never lowers them)
 *   --services a,b            only these services' tests (identity, compute, image, network, volume, object_storage)
 *   --concurrency N           tempest workers (default 2)
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startKumo } from '../bench/lib/kumo-process.js';
import { renderTempestConf } from './tempest-conf.js';
import { idempotentId, oneLine, outcome, SERVICES, serviceOf, type ServiceCounts, type ServiceName, type TestResult } from './results.js';

const HERE = dirname(fileURLToPath(import.meta.url));
// Data files stay in the source tree; the compiled script finds them from dist/conformance.
const SOURCE = resolve(HERE, '../../conformance');
const ROOT = resolve(HERE, '../..');

interface Selection {
  label: string;
  /** Regexes for tempest's --include-list. */
  include: string[];
  /** For a fixed list: its idempotent ids and names, to count tests that never ran. */
  listed?: Array<{ id: string; name: string }>;
}

/**
 * `--services identity,image`: keeps only those services' tests (CI's ratchet covers the
 * services whose issues have landed; tempest's network tests alone sleep 10 s per subnet delete).
 */
function restrict(chosen: Selection, services: string | undefined): Selection {
  if (!services) return chosen;
  const wanted = new Set(services.split(',').map((s) => s.trim()));
  for (const s of wanted) if (!SERVICES.includes(s as ServiceName)) throw new Error(`unknown service ${s}: use ${SERVICES.join(', ')}`);
  const keep = (name: string) => wanted.has(serviceOf(name) ?? '');
  if (chosen.listed) {
    const listed = chosen.listed.filter((e) => keep(e.name));
    return { label: `${chosen.label}, services ${[...wanted].join(', ')}`, include: listed.map((e) => `id-${e.id}`), listed };
  }
  return { label: `${chosen.label}, services ${[...wanted].join(', ')}`, include: chosen.include.filter((regex) => [...wanted].some((s) => regex.includes(`api\\.${s}`))) };
}

function selection(list: string[]): Selection {
  if (list.length === 0 || list.includes('interop')) {
    const entries = readFileSync(join(SOURCE, 'interop-platform.txt'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const listed = entries.map((name) => ({ id: idempotentId(name) ?? name, name: name.replace(/\[.*$/, '') }));
    return { label: 'interop platform list (2022.11 reconstruction)', include: listed.map((e) => `id-${e.id}`), listed };
  }
  const include: string[] = [];
  for (const item of list) {
    if (item.startsWith('tempest.')) include.push(`^${item.replaceAll('.', '\\.')}\\.`);
    else include.push(...readFileSync(item, 'utf8').split('\n').filter(Boolean));
  }
  return { label: list.join(', '), include };
}

async function adminToken(url: string, password: string): Promise<{ token: string; types: Set<string>; endpoints: Map<string, string> }> {
  const response = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password } } },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    }),
  });
  const body = (await response.json()) as { token: { catalog: Array<{ type: string; endpoints: Array<{ interface: string; url: string }> }> } };
  const endpoints = new Map<string, string>();
  for (const s of body.token.catalog) {
    const endpoint = s.endpoints.find((e) => e.interface === 'public') ?? s.endpoints[0];
    if (endpoint) endpoints.set(s.type, endpoint.url.replace(/\/+$/, ''));
  }
  return { token: response.headers.get('x-subject-token') ?? '', types: new Set(body.token.catalog.map((s) => s.type)), endpoints };
}

async function call(method: string, url: string, token: string, body?: unknown, contentType = 'application/json'): Promise<Response> {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': contentType, 'x-auth-token': token },
    ...(body === undefined ? {} : { body: body instanceof Uint8Array ? body : JSON.stringify(body) }),
  });
  if (response.status >= 300) throw new Error(`${method} ${url} answered ${response.status} ${await response.text()}`);
  return response;
}

/**
 * What tempest's compute tests need: two public images (an empty 1 MiB qcow2: the fake driver
 * never reads them, but the volume service writes them into volumes, so they must be real), the microversion range from GET /compute, and default quotas large
 * enough for parallel workers (tempest's dynamic projects get the `default` quota class).
 */
async function prepareCompute(endpoints: Map<string, string>, token: string): Promise<Record<string, string>> {
  const image = endpoints.get('image');
  const compute = endpoints.get('compute');
  if (!image || !compute) throw new Error('compute needs the image service in the catalog');
  const scratch = mkdtempSync(join(tmpdir(), 'kumo-conformance-image-'));
  let data: Uint8Array;
  try {
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(scratch, 'empty.qcow2'), '1M']);
    data = new Uint8Array(readFileSync(join(scratch, 'empty.qcow2')));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const upload = async (name: string) => {
    const created = (await (await call('POST', `${image}/v2/images`, token, { name, disk_format: 'qcow2', container_format: 'bare', visibility: 'public' })).json()) as { id: string };
    await call('PUT', `${image}/v2/images/${created.id}/file`, token, data, 'application/octet-stream');
    return created.id;
  };
  const imageRef = await upload('conformance-image');
  const imageRefAlt = await upload('conformance-image-alt');
  // The versioned endpoint is …/compute/v2.1[/PROJECT]; GET on its root lists the versions.
  const root = compute.replace(/\/v2(\.1)?(\/.*)?$/, '');
  const versions = (await (await call('GET', root, token)).json()) as { versions: Array<{ id: string; version: string; min_version: string }> };
  const v21 = versions.versions.find((v) => v.id === 'v2.1') ?? versions.versions[0];
  await call('PUT', `${root}/v2.1/os-quota-class-sets/default`, token, {
    quota_class_set: { instances: 1000, cores: 4000, ram: 4096000, key_pairs: 1000, server_groups: 1000, server_group_members: 1000 },
  });
  return {
    IMAGE_REF: imageRef,
    IMAGE_REF_ALT: imageRefAlt,
    FLAVOR_REF: '42',
    FLAVOR_REF_ALT: '84',
    COMPUTE_MIN_MICROVERSION: v21?.min_version ?? '',
    COMPUTE_MAX_MICROVERSION: v21?.version ?? '',
  };
}

/** The cloud's own extension list, as DevStack gives tempest, so tests of absent extensions skip. */
async function networkExtensions(url: string, token: string): Promise<string> {
  const response = await fetch(`${url}/networking/v2.0/extensions`, { headers: { 'x-auth-token': token } });
  const body = (await response.json()) as { extensions: Array<{ alias: string }> };
  return body.extensions.map((e) => e.alias).join(',');
}

/**
 * The external network tempest uses for router gateways and floating IPs: DevStack's `public`,
 * which Kumo makes on its first start, found as DevStack's tempest setup finds it.
 */
async function publicNetwork(url: string, token: string): Promise<{ id: string; name: string }> {
  const response = await fetch(`${url}/networking/v2.0/networks?name=public&router:external=true`, { headers: { 'x-auth-token': token } });
  const found = ((await response.json()) as { networks?: Array<{ id: string }> }).networks?.[0];
  return found ? { id: found.id, name: 'public' } : createPublicNetwork(url, token);
}

/** A `public` of our own when the cloud made none: flat on physnet1, a documentation range (never routed anywhere). */
async function createPublicNetwork(url: string, token: string): Promise<{ id: string; name: string }> {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${url}/networking/v2.0/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': token },
      body: JSON.stringify(body),
    });
    if (response.status !== 201) throw new Error(`creating the public network: ${path} answered ${response.status} ${await response.text()}`);
    return (await response.json()) as Record<string, { id: string }>;
  };
  const network = await post('networks', {
    network: { name: 'public', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'physnet1' },
  });
  const id = network.network?.id as string;
  await post('subnets', {
    subnet: { network_id: id, name: 'public-subnet', cidr: '198.51.100.0/24', ip_version: 4, enable_dhcp: false },
  });
  return { id, name: 'public' };
}

function run(command: string, args: string[], cwd: string, logPath: string): Promise<number> {
  return new Promise((resolveRun, reject) => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_')));
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const log: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => log.push(c));
    child.stderr.on('data', (c: Buffer) => log.push(c));
    child.once('error', reject);
    child.once('exit', (code) => {
      writeFileSync(logPath, Buffer.concat(log));
      resolveRun(code ?? 1);
    });
  });
}

function summarise(results: TestResult[], chosen: Selection): { counts: Record<ServiceName, ServiceCounts>; failures: TestResult[]; skips: TestResult[] } {
  const counts = Object.fromEntries(SERVICES.map((s) => [s, { passed: 0, failed: 0, skipped: 0, missing: 0, total: 0 }])) as Record<
    ServiceName,
    ServiceCounts
  >;
  const failures: TestResult[] = [];
  const skips: TestResult[] = [];
  const rank = { passed: 2, skipped: 1, failed: 0 } as const;
  const tests = results.filter((r) => serviceOf(r.id));
  if (chosen.listed) {
    // A listed test counts once, by its idempotent id, with its best outcome (tempest 33 runs one moved test twice).
    const byId = new Map<string, TestResult>();
    for (const r of tests) {
      const id = idempotentId(r.id);
      if (!id) continue;
      const previous = byId.get(id);
      if (!previous || rank[outcome(r.status)] > rank[outcome(previous.status)]) byId.set(id, r);
    }
    for (const entry of chosen.listed) {
      const service = serviceOf(entry.name);
      if (!service) continue;
      const result = byId.get(entry.id);
      counts[service].total++;
      if (!result) {
        counts[service].missing++;
        continue;
      }
      const o = outcome(result.status);
      counts[service][o]++;
      if (o === 'failed') failures.push(result);
      if (o === 'skipped') skips.push(result);
    }
  } else {
    for (const r of tests) {
      const service = serviceOf(r.id) as ServiceName;
      const o = outcome(r.status);
      counts[service].total++;
      counts[service][o]++;
      if (o === 'failed') failures.push(r);
      if (o === 'skipped') skips.push(r);
    }
  }
  return { counts, failures, skips };
}

const CATALOG_TYPES: Record<ServiceName, string[]> = {
  identity: ['identity'],
  compute: ['compute'],
  image: ['image'],
  network: ['network'],
  volume: ['volumev3', 'block-storage'],
  object_storage: ['object-store'],
};

function report(
  chosen: Selection,
  counts: Record<ServiceName, ServiceCounts>,
  failures: TestResult[],
  skips: TestResult[],
  meta: string[],
  deployed: Set<string>,
): string {
  const lines = [
    '# Conformance: OpenStack Tempest against Kumo',
    '',
    `Generated by \`npm run conformance\` from a real run. Test selection: ${chosen.label}.`,
    '',
    ...meta.map((m) => `- ${m}`),
    '',
    '| service | passed | failed | skipped | not run | total | note |',
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  const sum = { passed: 0, failed: 0, skipped: 0, missing: 0, total: 0 };
  for (const s of SERVICES) {
    const c = counts[s];
    const note = CATALOG_TYPES[s].some((t) => deployed.has(t)) ? '' : 'not deployed yet: tempest skips the service';
    lines.push(`| ${s} | ${c.passed} | ${c.failed} | ${c.skipped} | ${c.missing} | ${c.total} | ${note} |`);
    for (const k of Object.keys(sum) as Array<keyof typeof sum>) sum[k] += c[k];
  }
  lines.push(`| **all** | **${sum.passed}** | **${sum.failed}** | **${sum.skipped}** | **${sum.missing}** | **${sum.total}** | |`, '');
  lines.push('"Skipped" is not "passed": a skipped test did not show the capability.', '');
  lines.push('## Failing tests', '');
  if (failures.length === 0) lines.push('None.', '');
  else {
    lines.push('| test | reason |', '| --- | --- |');
    for (const f of failures.sort((a, b) => a.id.localeCompare(b.id))) lines.push(`| \`${f.id}\` | ${oneLine(f.reason)} |`);
    lines.push('');
  }
  lines.push('## Skip reasons', '');
  const reasons = new Map<string, number>();
  for (const s of skips) {
    const key = `${serviceOf(s.id)}: ${oneLine(s.reason) || '(no reason given)'}`;
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  if (reasons.size === 0) lines.push('None.', '');
  else {
    lines.push('| tests | reason |', '| ---: | --- |');
    for (const [reason, n] of [...reasons].sort((a, b) => b[1] - a[1])) lines.push(`| ${n} | ${reason} |`);
    lines.push('');
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      list: { type: 'string', multiple: true, default: [] },
      services: { type: 'string' },
      out: { type: 'string', default: 'docs/conformance.md' },
      baseline: { type: 'string' },
      'update-baseline': { type: 'boolean', default: false },
      concurrency: { type: 'string', default: '2' },
      real: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
    },
  });
  if (!existsSync('/usr/bin/tempest')) throw new Error('tempest is not installed: apt-get install tempest python3-tempest');
  // Tempest against QEMU guests needs the linuxbridge dataplane in a lab namespace of its own, which
  // this runner does not build yet; the qemu driver's own e2e suite covers real guests meanwhile.
  if (values.real) throw new Error('--real is not supported yet: tempest runs against the fake driver');
  const chosen = restrict(selection(values.list ?? []), values.services);
  const workspace = mkdtempSync(join(tmpdir(), 'kumo-tempest-'));
  const started = Date.now();
  // Security compliance as tempest's [identity] defaults expect it: lockout after 2 failures for
  // 5 s, and the last 2 passwords unique.
  const kumo = await startKumo({
    KUMO_PASSWORD_HASH_ROUNDS: '4',
    KUMO_LOG_LEVEL: 'warn',
    KUMO_LOCKOUT_FAILURE_ATTEMPTS: '2',
    KUMO_LOCKOUT_DURATION: '5',
    KUMO_UNIQUE_LAST_PASSWORD_COUNT: '2',
    // Compute on the fake driver (instances ACTIVE at once), with room for tempest's workers.
    KUMO_COMPUTE_DRIVER: 'fake',
    KUMO_FAKE_HOSTS: '2',
    KUMO_FAKE_HOST_VCPUS: '64',
    KUMO_FAKE_HOST_RAM_MB: '65536',
    KUMO_FAKE_HOST_DISK_GB: '2000',
    // DevStack's public, private and router1, as tempest finds them after stack.sh.
    KUMO_DEFAULT_NETWORKS: '1',
  });
  try {
    const { token, types, endpoints } = await adminToken(kumo.url, kumo.adminPassword);
    const publicNet = types.has('network') ? await publicNetwork(kumo.url, token) : undefined;
    const compute = types.has('compute') ? await prepareCompute(endpoints, token) : {};
    execFileSync('/usr/bin/tempest', ['init', workspace], { stdio: 'ignore' });
    const has = (t: string) => String(types.has(t));
    const conf = renderTempestConf(join(SOURCE, 'tempest.conf.template'), {
      WORKSPACE: workspace,
      ADMIN_USERNAME: 'admin',
      ADMIN_PASSWORD: kumo.adminPassword,
      ADMIN_PROJECT: 'admin',
      ADMIN_DOMAIN: 'Default',
      AUTH_URL_V3: `${kumo.url}/identity/v3`,
      REGION: 'RegionOne',
      ENDPOINT_TYPE: 'public',
      IDENTITY_TRUST: 'true',
      IDENTITY_SECURITY_COMPLIANCE: 'true',
      CREATE_ISOLATED_NETWORKS: has('network') === 'true' ? 'true' : 'false',
      SVC_NOVA: has('compute'),
      SVC_GLANCE: has('image'),
      SVC_NEUTRON: has('network'),
      SVC_CINDER: String(types.has('volumev3') || types.has('block-storage')),
      SVC_SWIFT: has('object-store'),
      BUILD_TIMEOUT: '60',
      RUN_VALIDATION: 'false',
      VOLUME_CATALOG_TYPE: types.has('block-storage') ? 'block-storage' : 'volumev3',
      NETWORK_API_EXTENSIONS: types.has('network') ? await networkExtensions(kumo.url, token) : 'all',
      PUBLIC_NETWORK_ID: publicNet?.id ?? '',
      FLOATING_NETWORK_NAME: publicNet?.name ?? '',
      NETWORK_IPV6: 'true',
      ...compute,
    });
    writeFileSync(join(workspace, 'etc', 'tempest.conf'), conf);
    writeFileSync(join(workspace, 'include-list.txt'), chosen.include.join('\n') + '\n');
    process.stdout.write(`tempest workspace ${workspace}; running ${chosen.label} against ${kumo.url}\n`);
    const code = await run(
      '/usr/bin/tempest',
      ['run', '--concurrency', values.concurrency ?? '2', '--include-list', join(workspace, 'include-list.txt')],
      workspace,
      join(workspace, 'tempest-run.log'),
    );
    const subunit = execFileSync('/usr/bin/stestr', ['last', '--subunit'], { cwd: workspace, maxBuffer: 512 * 1024 * 1024 });
    const json = execFileSync('/usr/bin/python3', [join(SOURCE, 'subunit_to_json.py')], { input: subunit, maxBuffer: 512 * 1024 * 1024 });
    const results = json
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as TestResult);
    const { counts, failures, skips } = summarise(results, chosen);
    const minutes = ((Date.now() - started) / 60000).toFixed(1);
    const meta = [
      `Date: ${new Date().toISOString().slice(0, 10)}; tempest ${execFileSync('/usr/bin/tempest', ['--version']).toString().trim()} (Debian); concurrency ${values.concurrency}; ${minutes} min (exit code ${code}).`,
      `Kumo: \`kumo up\` with a fresh data directory; services in the catalog: ${[...types].sort().join(', ')}.`,
    ];
    const markdown = report(chosen, counts, failures, skips, meta, types);
    const out = resolve(ROOT, values.out ?? 'docs/conformance.md');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, markdown + '\n');
    process.stdout.write(`\n${markdown.split('\n').slice(6, 16).join('\n')}\nreport: ${out}\n`);

    if (values.baseline) checkBaseline(resolve(ROOT, values.baseline), counts, values['update-baseline'] ?? false);
  } finally {
    await kumo.stop();
    if (!values.keep) rmSync(workspace, { recursive: true, force: true });
  }
}

/** The ratchet: passing counts per service may only go up. */
function checkBaseline(path: string, counts: Record<ServiceName, ServiceCounts>, update: boolean): void {
  const baseline = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as { passed: Partial<Record<ServiceName, number>> }) : { passed: {} };
  // Only services this run looked at count: a run restricted with --services says nothing of the others.
  const measured = SERVICES.filter((s) => counts[s].total > 0);
  const regressions = measured.filter((s) => counts[s].passed < (baseline.passed[s] ?? 0));
  if (update) {
    const passed = Object.fromEntries(SERVICES.map((s) => [s, Math.max(measured.includes(s) ? counts[s].passed : 0, baseline.passed[s] ?? 0)]));
    writeFileSync(path, JSON.stringify({ list: 'interop', passed }, null, 2) + '\n');
  }
  if (regressions.length > 0) {
    const detail = regressions.map((s) => `${s}: ${counts[s].passed} passed, baseline ${baseline.passed[s]}`).join('; ');
    process.stderr.write(`conformance regression: ${detail}\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`conformance baseline holds (${path})\n`);
  }
}

await main();
