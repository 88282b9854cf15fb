/**
 * The tempest suite: Debian's tempest with a tempest.conf for the cloud, the interop list (or
 * whole tempest trees) as the selection. `--list interop` (default), `--list tempest.api.NAME`
 * (repeatable) or `--list FILE` of test ids.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { networkExtensions, prepareCompute, publicNetwork, runLogged } from './cloud.js';
import { emptyCounts } from './report.js';
import { idempotentId, outcome, SERVICES, serviceOf, type ServiceCounts, type ServiceName, type TestResult } from './results.js';
import type { SuiteContext, SuiteRun } from './suite.js';
import { renderTempestConf } from './tempest-conf.js';

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

function selection(list: string[], source: string): Selection {
  if (list.length === 0 || list.includes('interop')) {
    const entries = readFileSync(join(source, 'interop-platform.txt'), 'utf8')
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

function summarise(results: TestResult[], chosen: Selection): { counts: Record<ServiceName, ServiceCounts>; failures: TestResult[]; skips: TestResult[] } {
  const counts = emptyCounts();
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

export async function runTempest(ctx: SuiteContext, list: string[]): Promise<SuiteRun> {
  if (!existsSync('/usr/bin/tempest')) throw new Error('tempest is not installed: apt-get install tempest python3-tempest');
  const chosen = restrict(selection(list, ctx.source), ctx.services);
  const { kumo, token, types, endpoints, workspace } = ctx;
  const publicNet = types.has('network') ? await publicNetwork(kumo.url, token) : undefined;
  const compute = types.has('compute') ? await prepareCompute(endpoints, token) : {};
  execFileSync('/usr/bin/tempest', ['init', workspace], { stdio: 'ignore' });
  const has = (t: string) => String(types.has(t));
  const conf = renderTempestConf(join(ctx.source, 'tempest.conf.template'), {
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
  const code = await runLogged(
    '/usr/bin/tempest',
    ['run', '--concurrency', ctx.concurrency, '--include-list', join(workspace, 'include-list.txt')],
    workspace,
    join(workspace, 'tempest-run.log'),
  );
  const results = subunitResults(workspace, ctx.source);
  const { counts, failures, skips } = summarise(results, chosen);
  return {
    title: 'OpenStack Tempest against Kumo',
    selection: chosen.label,
    version: `tempest ${execFileSync('/usr/bin/tempest', ['--version']).toString().trim()} (Debian)`,
    exitCode: code,
    counts,
    failures,
    skips,
    serviceOf: (r) => serviceOf(r.id),
    baselineList: 'interop',
  };
}

/** The last stestr run in `cwd`, one result per test (conformance/subunit_to_json.py on Debian's python3). */
export function subunitResults(cwd: string, source: string): TestResult[] {
  const subunit = execFileSync('/usr/bin/python3', ['-m', 'stestr', 'last', '--subunit'], { cwd, maxBuffer: 512 * 1024 * 1024 });
  const json = execFileSync('/usr/bin/python3', [join(source, 'subunit_to_json.py')], { input: subunit, maxBuffer: 512 * 1024 * 1024 });
  return json
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TestResult);
}
