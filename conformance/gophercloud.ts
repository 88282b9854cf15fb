/**
 * The gophercloud suite: the acceptance tests Debian ships in golang-github-gophercloud-gophercloud-dev
 * (under /usr/share/gocode), built offline in GOPATH mode by Debian's golang-go and run with
 * `go test -json` one package at a time, as admin, with the OS_* variables the tests read.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, prepareCompute, publicNetwork } from './cloud.js';
import { tally, type ServiceResult } from './report.js';
import { SERVICES, type ServiceName, type TestResult } from './results.js';
import type { SuiteContext, SuiteRun } from './suite.js';

const GOPATH = '/usr/share/gocode';
const MODULE = 'github.com/gophercloud/gophercloud';
const SOURCE_DIR = join(GOPATH, 'src', MODULE);

/**
 * The in-scope acceptance packages and their services: the six services' own packages, plus the
 * Neutron extensions every ML2 deployment has (routers and floating IPs, security groups, provider
 * networks, port bindings, subnet pools, RBAC, quotas, MTU, IP availability) and Cinder's
 * volume actions and backups. LBaaS, FWaaS, VPNaaS, DNS, QoS, trunks and agents are out of scope.
 */
export const PACKAGES: Record<string, ServiceName> = {
  'acceptance/openstack/identity/v3': 'identity',
  'acceptance/openstack/compute/v2': 'compute',
  'acceptance/openstack/imageservice/v2': 'image',
  'acceptance/openstack/networking/v2': 'network',
  'acceptance/openstack/networking/v2/extensions': 'network',
  'acceptance/openstack/networking/v2/extensions/layer3': 'network',
  'acceptance/openstack/networking/v2/extensions/portsbinding': 'network',
  'acceptance/openstack/networking/v2/extensions/subnetpools': 'network',
  'acceptance/openstack/networking/v2/extensions/rbacpolicies': 'network',
  'acceptance/openstack/networking/v2/extensions/quotas': 'network',
  'acceptance/openstack/networking/v2/extensions/mtu': 'network',
  'acceptance/openstack/networking/v2/extensions/networkipavailabilities': 'network',
  'acceptance/openstack/blockstorage/v3': 'volume',
  'acceptance/openstack/blockstorage/extensions': 'volume',
  'acceptance/openstack/objectstorage/v1': 'object_storage',
};

interface GoTestEvent {
  Action: string;
  Package?: string;
  Test?: string;
  Output?: string;
  Elapsed?: number;
}

function packageOf(importPath: string): string {
  return importPath.startsWith(`${MODULE}/`) ? importPath.slice(MODULE.length + 1) : importPath;
}

/** `acceptance/openstack/compute/v2.TestServersCreateDestroy` */
function testId(pkg: string, test: string): string {
  return `${packageOf(pkg).replace(/^acceptance\/openstack\//, '')}.${test}`;
}

export function gophercloudServiceOf(id: string): ServiceName | undefined {
  const pkg = id.replace(/\.[^.]*$/, '');
  return PACKAGES[`acceptance/openstack/${pkg}`];
}

/**
 * Why a test failed or skipped, in one line: the first `file.go:NN:` line the test printed that
 * says what went wrong (t.Fatal, t.Skip and the testhelper's assertions all print one; the
 * deferred clean-up logs after it do not), else the last such line, else its last line.
 */
export function goReason(output: string[]): string {
  const lines = output
    .join('')
    // The testhelper colours its messages.
    .replace(/\u001b\[[0-9;]*m/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(=== (RUN|PAUSE|CONT)|--- (PASS|FAIL|SKIP))/.test(l));
  const located = lines.filter((l) => /^[\w.-]+\.go:\d+:/.test(l));
  const telling = located.find((l) => /Failure in|Unable to|unexpected|[Ee]rror|expected|[Ss]kip|panic|not supported|required|must be|Timed out/.test(l));
  const panic = lines.find((l) => /^panic:/.test(l));
  return (telling ?? panic ?? located[located.length - 1] ?? lines[lines.length - 1] ?? '').replace(/\s+/g, ' ');
}

/** Reads `go test -json` output: one result per top-level test, and one for a package that did not build. */
export function parseGoTestJson(text: string): TestResult[] {
  const outputs = new Map<string, string[]>();
  const results: TestResult[] = [];
  const packageOutput = new Map<string, string[]>();
  const packagesWithTests = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let event: GoTestEvent;
    try {
      event = JSON.parse(line) as GoTestEvent;
    } catch {
      continue;
    }
    const pkg = event.Package ?? '';
    if (!event.Test) {
      if (event.Action === 'output') packageOutput.set(pkg, [...(packageOutput.get(pkg) ?? []), event.Output ?? '']);
      if (event.Action === 'fail' && !packagesWithTests.has(pkg)) {
        results.push({ id: testId(pkg, '(package)'), status: 'fail', reason: goReason(packageOutput.get(pkg) ?? []) });
      }
      continue;
    }
    packagesWithTests.add(pkg);
    // Subtests roll up into their parent's outcome; their output is the parent's too.
    const top = event.Test.split('/')[0] as string;
    const key = `${pkg} ${top}`;
    if (event.Action === 'output') outputs.set(key, [...(outputs.get(key) ?? []), event.Output ?? '']);
    if (event.Test !== top) continue;
    const status = { pass: 'success', fail: 'fail', skip: 'skip' }[event.Action];
    if (status) results.push({ id: testId(pkg, top), status, reason: status === 'success' ? '' : goReason(outputs.get(key) ?? []) });
  }
  return results;
}

/** A test that was running when its package timed out or crashed has no end event: it failed. */
function unfinished(text: string, finished: Set<string>): TestResult[] {
  const started = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const event = JSON.parse(line) as GoTestEvent;
      if (event.Action === 'run' && event.Test && !event.Test.includes('/')) started.set(testId(event.Package ?? '', event.Test), event.Test);
    } catch {
      continue;
    }
  }
  return [...started.keys()].filter((id) => !finished.has(id)).map((id) => ({ id, status: 'fail', reason: 'no result: the package timed out or crashed while this test ran' }));
}

function goTest(pkg: string, env: NodeJS.ProcessEnv, run: string | undefined, logPath: string): Promise<string> {
  const args = ['test', '-json', '-tags', 'acceptance', '-count=1', '-p', '1', '-timeout', '15m', ...(run ? ['-run', run] : []), `./${pkg}`];
  return new Promise((resolveRun, reject) => {
    const child = spawn('nice', ['-n', '10', 'go', ...args], { cwd: SOURCE_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    // Written as it comes, so a long package can be watched (`tail -f`).
    const log = openSync(logPath, 'w');
    child.stdout.on('data', (c: Buffer) => {
      out.push(c);
      writeSync(log, c);
    });
    child.stderr.on('data', (c: Buffer) => {
      err.push(c);
      writeSync(log, c);
    });
    child.once('error', reject);
    child.once('exit', () => {
      closeSync(log);
      const text = Buffer.concat(out).toString();
      // A build failure goes to stderr, outside the JSON: make it the package's output.
      const stderr = Buffer.concat(err).toString().trim();
      const buildFailure = stderr ? `\n${JSON.stringify({ Action: 'output', Package: `${MODULE}/${pkg}`, Output: stderr })}` : '';
      resolveRun(buildFailure + '\n' + text);
    });
  });
}

/** The package's top-level tests (`go test -list`, which compiles it). */
function listTests(pkg: string, env: NodeJS.ProcessEnv): string[] {
  const out = execFileSync('nice', ['-n', '10', 'go', 'test', '-tags', 'acceptance', '-list', '.', `./${pkg}`], { cwd: SOURCE_DIR, env, maxBuffer: 16 * 1024 * 1024 });
  return out
    .toString()
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^Test\w*$/.test(l));
}

/**
 * The `-run` pattern for a package: everything (undefined), or with `skip`, the tests it leaves
 * named one by one (Go 1.19 has no -skip). Undefined tests when nothing is left to run.
 */
function runPattern(pkg: string, env: NodeJS.ProcessEnv, only: string | undefined, skip: RegExp | undefined): { run?: string; skipped: string[]; none: boolean } {
  if (!skip) return { ...(only ? { run: only } : {}), skipped: [], none: false };
  const onlyPattern = only ? new RegExp(only) : undefined;
  const all = listTests(pkg, env).filter((t) => !onlyPattern || onlyPattern.test(t));
  const skipped = all.filter((t) => skip.test(`${testId(`${MODULE}/${pkg}`, t)}`));
  const kept = all.filter((t) => !skipped.includes(t));
  return { run: `^(${kept.join('|')})$`, skipped, none: kept.length === 0 };
}

export async function runGophercloud(ctx: SuiteContext, only: string | undefined, skip?: string): Promise<SuiteRun> {
  if (!existsSync(join(SOURCE_DIR, 'acceptance'))) throw new Error('gophercloud acceptance tests not found: apt-get install golang-github-gophercloud-gophercloud-dev golang-go');
  const { kumo, token, types, endpoints, workspace } = ctx;
  const services = ctx.services ? new Set(ctx.services.split(',').map((s) => s.trim())) : undefined;
  for (const s of services ?? []) if (!SERVICES.includes(s as ServiceName)) throw new Error(`unknown service ${s}: use ${SERVICES.join(', ')}`);
  const compute = types.has('compute') ? await prepareCompute(endpoints, token) : {};
  const publicNet = types.has('network') ? await publicNetwork(kumo.url, token) : undefined;
  let privateNetwork: { id: string; subnet: string } | undefined;
  const network = endpoints.get('network');
  if (network) {
    const { networks } = (await (await call('GET', `${network.replace(/\/v2\.0$/, '')}/v2.0/networks?name=private`, token)).json()) as {
      networks: Array<{ id: string; subnets: string[] }>;
    };
    const found = networks[0];
    if (found) privateNetwork = { id: found.id, subnet: found.subnets[0] ?? '' };
  }
  // The build cache outlives the run: the packages compile once per machine, not once per run.
  const gocache = join(tmpdir(), 'kumo-gophercloud-gocache');
  mkdirSync(gocache, { recursive: true });
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_') && !k.startsWith('GO')));
  const env: NodeJS.ProcessEnv = {
    ...clean,
    // Debian's gocode tree is a GOPATH: no modules, no network.
    GO111MODULE: 'off',
    GOPATH,
    GOFLAGS: '',
    GOPROXY: 'off',
    GOCACHE: gocache,
    OS_AUTH_URL: `${kumo.url}/identity/v3`,
    OS_USERNAME: 'admin',
    OS_PASSWORD: kumo.adminPassword,
    OS_PROJECT_NAME: 'admin',
    OS_DOMAIN_ID: 'default',
    OS_REGION_NAME: 'RegionOne',
    OS_IMAGE_ID: compute.IMAGE_REF ?? '',
    OS_FLAVOR_ID: compute.FLAVOR_REF ?? '',
    OS_FLAVOR_ID_RESIZE: compute.FLAVOR_REF_ALT ?? '',
    OS_POOL_NAME: publicNet?.name ?? '',
    OS_EXTGW_ID: publicNet?.id ?? '',
    OS_NETWORK_NAME: 'private',
    OS_NETWORK_ID: privateNetwork?.id ?? '',
    OS_SUBNET_ID: privateNetwork?.subnet ?? '',
    // As gophercloud's own jobs against a current OpenStack set it: tests of APIs master no longer
    // has (Nova's quota sets through Keystone v2 tenants) skip themselves.
    OS_BRANCH: 'master',
  };
  const packages = Object.keys(PACKAGES).filter((p) => !services || services.has(PACKAGES[p] as string));
  const results: ServiceResult[] = [];
  let failedPackages = 0;
  const skipPattern = skip ? new RegExp(skip) : undefined;
  const notRun: ServiceName[] = [];
  for (const pkg of packages) {
    process.stdout.write(`gophercloud: ${pkg}\n`);
    const pattern = runPattern(pkg, env, only, skipPattern);
    notRun.push(...pattern.skipped.map(() => PACKAGES[pkg] as ServiceName));
    if (pattern.none) continue;
    const text = await goTest(pkg, env, pattern.run, join(workspace, `${pkg.replaceAll('/', '_')}.json`));
    const parsed = parseGoTestJson(text);
    const all = [...parsed, ...unfinished(text, new Set(parsed.map((r) => r.id)))];
    if (all.some((r) => r.status === 'fail')) failedPackages++;
    for (const r of all) results.push({ ...r, service: PACKAGES[pkg] as ServiceName });
  }
  const { counts, failures, skips } = tally(results);
  // Tests `--skip` left out count as not run.
  for (const service of notRun) {
    counts[service].missing++;
    counts[service].total++;
  }
  const goVersion = execFileSync('go', ['version'], { env }).toString().trim().replace(/^go version /, '');
  const version = execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'golang-github-gophercloud-gophercloud-dev']).toString().trim();
  return {
    title: 'gophercloud acceptance tests against Kumo',
    selection: `gophercloud's acceptance packages ${packages.map((p) => `\`${p.replace(/^acceptance\/openstack\//, '')}\``).join(', ')}${only ? `, only \`${only}\`` : ''}${skip ? `, not \`${skip}\`` : ''}`,
    version: `gophercloud ${version} (Debian golang-github-gophercloud-gophercloud-dev), ${goVersion}, \`go test -json\` per package`,
    exitCode: failedPackages > 0 ? 1 : 0,
    counts,
    failures,
    skips,
    serviceOf: (r) => gophercloudServiceOf(r.id),
    baselineList: 'gophercloud acceptance',
    notes: ['Run as admin (`OS_USERNAME=admin`: tests that need a non-admin skip), `OS_BRANCH=master`; `OS_IMAGE_ID` an empty qcow2, flavors 42 and 84, `OS_POOL_NAME`/`OS_EXTGW_ID` DevStack\'s `public`, `OS_NETWORK_NAME` `private`.'],
  };
}
