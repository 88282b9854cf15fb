/**
 * The openstacksdk suite: the functional tests Debian ships in python3-openstacksdk
 * (openstack/tests/functional), run by stestr on Debian's /usr/bin/python3 against the cloud
 * with DevStack's three clouds.yaml entries (devstack, devstack-alt, devstack-admin).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { call, prepareCompute, runLogged } from './cloud.js';
import { tally, type ServiceResult } from './report.js';
import { SERVICES, type ServiceName } from './results.js';
import type { SuiteContext, SuiteRun } from './suite.js';
import { subunitResults } from './tempest.js';

const PACKAGE_ROOT = '/usr/lib/python3/dist-packages';
const FUNCTIONAL = 'openstack.tests.functional';

/** The per-service trees of the functional tests. */
const SERVICE_TREES: Record<string, ServiceName> = {
  identity: 'identity',
  compute: 'compute',
  image: 'image',
  network: 'network',
  block_storage: 'volume',
  object_store: 'object_storage',
};

/**
 * The cloud layer's tests (openstack.tests.functional.cloud), each module under the service it
 * drives. Not listed, so out of scope: Magnum, Senlin, Heat, Designate and the cross-service
 * project cleanup.
 */
const CLOUD_MODULES: Record<string, ServiceName> = {
  test_aggregate: 'compute',
  test_compute: 'compute',
  test_devstack: 'compute',
  test_flavor: 'compute',
  test_inventory: 'compute',
  test_keypairs: 'compute',
  test_limits: 'compute',
  test_quotas: 'compute',
  test_range_search: 'compute',
  test_server_group: 'compute',
  test_domain: 'identity',
  test_endpoints: 'identity',
  test_groups: 'identity',
  test_identity: 'identity',
  test_project: 'identity',
  test_services: 'identity',
  test_users: 'identity',
  test_image: 'image',
  test_floating_ip: 'network',
  test_floating_ip_pool: 'network',
  test_network: 'network',
  test_port: 'network',
  test_qos_bandwidth_limit_rule: 'network',
  test_qos_dscp_marking_rule: 'network',
  test_qos_minimum_bandwidth_rule: 'network',
  test_qos_policy: 'network',
  test_router: 'network',
  test_security_groups: 'network',
  test_volume: 'volume',
  test_volume_backup: 'volume',
  test_volume_type: 'volume',
  test_object: 'object_storage',
};

/** The service a functional test belongs to, or undefined when it is out of scope. */
export function sdkServiceOf(testId: string): ServiceName | undefined {
  const match = /openstack\.tests\.functional\.([a-z_]+)\.([a-z0-9_]+)/.exec(testId);
  if (!match) return undefined;
  const [, tree, module] = match as unknown as [string, string, string];
  if (tree === 'cloud') return CLOUD_MODULES[module];
  return SERVICE_TREES[tree];
}

async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/** DevStack's alt_demo: a member of a project of its own, as `devstack-alt` expects. */
async function ensureAltDemo(identity: string, token: string, password: string): Promise<void> {
  const { projects } = await json<{ projects: Array<{ id: string }> }>(await call('GET', `${identity}/v3/projects?name=alt_demo`, token));
  const project =
    projects[0] ?? (await json<{ project: { id: string } }>(await call('POST', `${identity}/v3/projects`, token, { project: { name: 'alt_demo', domain_id: 'default' } }))).project;
  const { user } = await json<{ user: { id: string } }>(
    await call('POST', `${identity}/v3/users`, token, { user: { name: 'alt_demo', domain_id: 'default', password, default_project_id: project.id } }),
  );
  const { roles } = await json<{ roles: Array<{ id: string }> }>(await call('GET', `${identity}/v3/roles?name=member`, token));
  const member = roles[0];
  if (!member) throw new Error('the cloud has no member role');
  await call('PUT', `${identity}/v3/projects/${project.id}/users/${user.id}/roles/${member.id}`, token);
}

function cloudEntry(authUrl: string, username: string, password: string, project: string): Record<string, unknown> {
  return {
    auth: { auth_url: authUrl, username, password, project_name: project, user_domain_id: 'default', project_domain_id: 'default' },
    region_name: 'RegionOne',
    identity_api_version: '3',
    interface: 'public',
  };
}

/** The in-scope test modules, found on disk (the whole tree does not import: its examples/ needs a checkout). */
function inScopeModules(): string[] {
  const root = join(PACKAGE_ROOT, 'openstack/tests/functional');
  const modules: string[] = [];
  const walk = (dir: string, dotted: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name !== '__pycache__') walk(join(dir, entry.name), `${dotted}.${entry.name}`);
      else if (/^test_.*\.py$/.test(entry.name)) {
        const name = `${dotted}.${entry.name.replace(/\.py$/, '')}`;
        if (sdkServiceOf(name)) modules.push(name);
      }
    }
  };
  walk(root, FUNCTIONAL);
  return modules.sort();
}

/**
 * A package in the workspace whose load_tests hands unittest the in-scope modules: stestr
 * discovers it instead of the functional tree, and the tests keep their own ids.
 */
function writeSuitePackage(workspace: string, modules: string[]): string {
  const dir = join(workspace, 'kumo_sdk_suite');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, '__init__.py'),
    ['MODULES = [', ...modules.map((m) => `    '${m}',`), ']', '', '', 'def load_tests(loader, tests, pattern):', '    return loader.loadTestsFromNames(MODULES)', ''].join('\n'),
  );
  return dir;
}

/** The in-scope test ids, as stestr lists them, kept to the chosen services and `only`. */
function chooseTests(workspace: string, services: Set<string> | undefined, only: string | undefined): string[] {
  execFileSync('/usr/bin/python3', ['-m', 'stestr', 'init'], { cwd: workspace, stdio: 'ignore' });
  const listed = execFileSync('/usr/bin/python3', ['-m', 'stestr', ...stestrPaths(workspace), 'list'], {
    cwd: workspace,
    maxBuffer: 64 * 1024 * 1024,
    // The functional base module reads clouds.yaml when it is imported.
    env: { ...process.env, OS_CLIENT_CONFIG_FILE: join(workspace, 'clouds.yaml') },
  });
  const pattern = only ? new RegExp(only) : undefined;
  return listed
    .toString()
    .split('\n')
    .map((l) => l.trim())
    .filter((id) => id.startsWith(FUNCTIONAL))
    .filter((id) => {
      const service = sdkServiceOf(id);
      return service !== undefined && (!services || services.has(service)) && (!pattern || pattern.test(id));
    });
}

function stestrPaths(workspace: string): string[] {
  return ['--test-path', join(workspace, 'kumo_sdk_suite'), '--top-dir', workspace];
}

export async function runSdk(ctx: SuiteContext, only: string | undefined, skip?: string): Promise<SuiteRun> {
  if (!existsSync(join(PACKAGE_ROOT, 'openstack/tests/functional/base.py'))) throw new Error('openstacksdk functional tests not found: apt-get install python3-openstacksdk');
  const { kumo, token, types, endpoints, workspace } = ctx;
  const services = ctx.services ? new Set(ctx.services.split(',').map((s) => s.trim())) : undefined;
  for (const s of services ?? []) if (!SERVICES.includes(s as ServiceName)) throw new Error(`unknown service ${s}: use ${SERVICES.join(', ')}`);
  const identity = endpoints.get('identity')?.replace(/\/v3$/, '') ?? `${kumo.url}/identity`;
  const authUrl = `${kumo.url}/identity/v3`;
  const demoPassword = (JSON.parse(readFileSync(join(kumo.dataDir, 'bootstrap-credentials.json'), 'utf8')) as { demoPassword: string }).demoPassword;
  const altPassword = `alt-${demoPassword}`;
  await ensureAltDemo(identity, token, altPassword);
  // The SDK's tests pick their image and flavor by name: an empty qcow2 (the fake driver never
  // reads it) and m1.tiny. Its range-search tests count DevStack's own m1 flavors, so the two that
  // DevStack makes only for tempest (m1.nano, m1.micro; Kumo seeds them too) go.
  if (types.has('compute')) {
    await prepareCompute(endpoints, token);
    const compute = endpoints.get('compute') as string;
    for (const id of ['42', '84']) await call('DELETE', `${compute}/flavors/${id}`, token);
  }
  // The image tests upload ./CONTRIBUTING.rst (they expect a source checkout as the directory).
  writeFileSync(join(workspace, 'CONTRIBUTING.rst'), 'Image data for openstacksdk\'s image tests, written by Kumo\'s conformance runner.\n'.repeat(64));
  const clouds = {
    clouds: {
      devstack: cloudEntry(authUrl, 'demo', demoPassword, 'demo'),
      'devstack-alt': cloudEntry(authUrl, 'alt_demo', altPassword, 'alt_demo'),
      'devstack-admin': cloudEntry(authUrl, 'admin', kumo.adminPassword, 'admin'),
    },
  };
  writeFileSync(join(workspace, 'clouds.yaml'), stringify(clouds));
  writeSuitePackage(workspace, inScopeModules());
  const inScope = chooseTests(workspace, services, only);
  const skipPattern = skip ? new RegExp(skip) : undefined;
  const chosen = inScope.filter((id) => !skipPattern?.test(id));
  writeFileSync(join(workspace, 'load-list.txt'), chosen.join('\n') + '\n');
  process.stdout.write(`sdk workspace ${workspace}; running ${chosen.length} functional tests against ${kumo.url}\n`);
  const code = await runLogged(
    '/usr/bin/python3',
    [
      '-m',
      'stestr',
      ...stestrPaths(workspace),
      'run',
      '--concurrency',
      ctx.concurrency,
      '--load-list',
      join(workspace, 'load-list.txt'),
    ],
    workspace,
    join(workspace, 'stestr-run.log'),
    {
      OS_CLIENT_CONFIG_FILE: join(workspace, 'clouds.yaml'),
      OPENSTACKSDK_IMAGE: 'conformance-image',
      OPENSTACKSDK_FLAVOR: 'm1.tiny',
      // Per test (oslotest's fixture) and per wait (the SDK's wait_for_*): a hung test fails, it does not stall the run.
      OS_TEST_TIMEOUT: '300',
      OPENSTACKSDK_FUNC_TEST_TIMEOUT: '60',
      OS_LOG_CAPTURE: '1',
    },
  );
  const results: ServiceResult[] = [];
  for (const r of subunitResults(workspace, ctx.source)) {
    const service = sdkServiceOf(r.id);
    if (service) results.push({ ...r, service });
  }
  const { counts, failures, skips } = tally(results);
  // A chosen test with no result at all (the run broke), or one `--skip` left out, counts as not run.
  const seen = new Set(results.map((r) => r.id));
  for (const id of inScope) {
    const service = sdkServiceOf(id);
    if (service && !seen.has(id) && ![...seen].some((s) => s.startsWith(id))) {
      counts[service].missing++;
      counts[service].total++;
    }
  }
  const version = execFileSync('/usr/bin/python3', ['-c', 'import openstack.version; print(openstack.version.__version__)']).toString().trim();
  return {
    title: 'openstacksdk functional tests against Kumo',
    selection: `openstacksdk's functional tests for identity, compute, image, network, block and object storage (the per-service trees and the cloud layer's modules for those services)${only ? `, only \`${only}\`` : ''}${skip ? `, not \`${skip}\`` : ''}${services ? `, services ${[...services].join(', ')}` : ''}`,
    version: `openstacksdk ${version} (Debian python3-openstacksdk), stestr`,
    exitCode: code,
    counts,
    failures,
    skips,
    serviceOf: (r) => sdkServiceOf(r.id),
    baselineList: 'openstacksdk functional',
    notes: ['Clouds: `devstack` (demo), `devstack-alt` (alt_demo, made by the runner), `devstack-admin` (admin); image `conformance-image` (empty qcow2), flavor m1.tiny; m1.nano and m1.micro deleted (DevStack makes them only for tempest, and the range-search tests count m1 flavors).'],
  };
}
