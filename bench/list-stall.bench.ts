/**
 * Does one big list stall everyone? Token validation (GET /v3/auth/tokens, the request every
 * other API call starts with) measured alone and while admins list every port unpaginated,
 * against this build and against the build just before big lists stopped holding the event
 * loop. The other build is checked out into a temporary git worktree and compiled here, and
 * both run the same way in this one invocation. Prints a table; asserts nothing.
 *
 * BENCH_BASELINE (git ref; default: the parent of the commit that added src/core/cooperative.ts),
 * BENCH_PORTS (2,000 ports on one network), BENCH_LISTERS (4 admins listing at once),
 * BENCH_SECONDS (10 per measurement) and BENCH_CONNECTIONS (8 validating connections) scale it.
 */
import { adminToken } from './lib/auth.js';
import { call } from './lib/call.js';
import { KUMO_MAIN, startKumo } from './lib/kumo-process.js';
import { load, table, type LoadResult } from './lib/load.js';
import { startListers, type ListerStats } from './lib/list-worker.js';
import { buildOtherCommit, commitBefore, type OtherBuild } from './lib/other-build.js';

const PORTS = Number(process.env.BENCH_PORTS ?? 2000);
const LISTERS = Number(process.env.BENCH_LISTERS ?? 4);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 8);

interface Measured {
  build: string;
  alone: LoadResult;
  mixed: LoadResult;
  lists: ListerStats;
  listedPorts: number;
}

/** One network with PORTS ports on it, made 100 at a time with Neutron's bulk create. */
async function seedPorts(url: string, token: string, projectId: string): Promise<void> {
  const v2 = `${url}/networking/v2.0`;
  await call(`${v2}/quotas/${projectId}`, token, 'PUT', { quota: { port: -1 } });
  const network = await call(`${v2}/networks`, token, 'POST', { network: { name: 'stall' } });
  if (network.status !== 201) throw new Error(`network: HTTP ${network.status} ${network.text}`);
  const networkId = (JSON.parse(network.text) as { network: { id: string } }).network.id;
  const subnet = await call(`${v2}/subnets`, token, 'POST', { subnet: { network_id: networkId, cidr: '10.64.0.0/18', enable_dhcp: false } });
  if (subnet.status !== 201) throw new Error(`subnet: HTTP ${subnet.status} ${subnet.text}`);
  for (let made = 0; made < PORTS; made += 100) {
    const ports = Array.from({ length: Math.min(100, PORTS - made) }, (_, i) => ({ network_id: networkId, name: `stall-${made + i}` }));
    const created = await call(`${v2}/ports`, token, 'POST', { ports });
    if (created.status !== 201) throw new Error(`ports: HTTP ${created.status} ${created.text.slice(0, 500)}`);
  }
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

async function measure(build: string, main: string): Promise<Measured> {
  const kumo = await startKumo({}, main);
  try {
    const { token, projectId } = await adminToken(kumo.url, kumo.adminPassword);
    await seedPorts(kumo.url, token, projectId);
    const listed = await call(`${kumo.url}/networking/v2.0/ports`, token, 'GET');
    const listedPorts = (JSON.parse(listed.text) as { ports: unknown[] }).ports.length;
    const validate = {
      url: `${kumo.url}/identity/v3/auth/tokens`,
      headers: { 'x-auth-token': token, 'x-subject-token': token },
      connections: CONNECTIONS,
    };
    const warmUp = startListers(`${kumo.url}/networking/v2.0/ports`, token, LISTERS);
    await load({ name: 'warm-up', ...validate, seconds: 3 });
    await warmUp.stop();
    const alone = await load({ name: 'alone', ...validate, seconds: SECONDS });
    const listers = startListers(`${kumo.url}/networking/v2.0/ports`, token, LISTERS);
    const mixed = await load({ name: 'mixed', ...validate, seconds: SECONDS });
    const lists = await listers.stop();
    return { build, alone, mixed, lists, listedPorts };
  } finally {
    await kumo.stop();
  }
}

async function main(): Promise<void> {
  const ref = process.env.BENCH_BASELINE ?? commitBefore('src/core/cooperative.ts');
  if (!ref) throw new Error('no commit adds src/core/cooperative.ts yet: name the build to compare with in BENCH_BASELINE');
  const other: OtherBuild = buildOtherCommit(ref);
  const results: Measured[] = [];
  try {
    results.push(await measure(`before: ${other.commit} (${other.subject.slice(0, 60)})`, other.main));
    results.push(await measure('after: this build', KUMO_MAIN));
  } finally {
    other.remove();
  }

  const rows: Array<Array<string | number>> = [];
  for (const r of results) {
    rows.push([r.build, 'token validation alone', r.alone.requestsPerSecond, r.alone.p50, r.alone.p99, r.alone.max, r.alone.non2xx + r.alone.errors, '', '', '']);
    const l = r.lists;
    rows.push([
      r.build,
      `token validation + ${LISTERS} unpaginated admin port lists at a time`,
      r.mixed.requestsPerSecond,
      r.mixed.p50,
      r.mixed.p99,
      r.mixed.max,
      r.mixed.non2xx + r.mixed.errors + l.failed,
      l.done,
      percentile(l.ms, 50),
      percentile(l.ms, 99),
    ]);
  }
  const sizes = results.map((r) => `${r.listedPorts.toLocaleString('en-US')} ports`).join(' / ');
  process.stdout.write(
    `\n## One big list must not stall everyone (kumo up, SQLite, ${PORTS.toLocaleString('en-US')} ports on one network; ` +
      `${CONNECTIONS} validating connections for ${SECONDS} s, alone and with ${LISTERS} admins listing every port (${sizes} per list))\n\n`,
  );
  process.stdout.write(
    table(['build', 'load', 'validations/s', 'validation p50 ms', 'validation p99 ms', 'validation max ms', 'failed', 'port lists done', 'list p50 ms', 'list p99 ms'], rows) + '\n',
  );
}

await main();
