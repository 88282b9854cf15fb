/**
 * Networking under load against a real `kumo up` on loopback: port creates per second
 * (sequential, and 16 at a time while the network fills up to BENCH_PORTS ports), then the
 * latency of `GET /v2.0/ports` with all of them on one network. Prints tables; asserts nothing.
 * BENCH_PORTS (default 10,000) and BENCH_LIST_REQUESTS (default 50) scale it.
 */
import { adminToken } from './lib/auth.js';
import { call as request } from './lib/call.js';
import { table } from './lib/load.js';
import { startKumo } from './lib/kumo-process.js';

const TOTAL_PORTS = Number(process.env.BENCH_PORTS ?? 10_000);
const SEQUENTIAL_PORTS = Math.min(500, Math.floor(TOTAL_PORTS / 10));
const CONCURRENCY = 16;
const LIST_REQUESTS = Number(process.env.BENCH_LIST_REQUESTS ?? 50);

interface Timed {
  status: number;
  ms: number;
  /** When the request ended, from the start of its phase. */
  at: number;
  bytes: number;
}

/** Runs `count` calls of `task`, `concurrency` at a time, timing each. */
async function timedPool(count: number, concurrency: number, task: (i: number) => Promise<{ status: number; text: string }>): Promise<Timed[]> {
  const results: Timed[] = [];
  const phase = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const started = performance.now();
      const { status, text } = await task(i);
      const ended = performance.now();
      results.push({ status, ms: ended - started, at: ended - phase, bytes: text.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

interface Row {
  what: string;
  concurrency: number;
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  failed: number;
}

function summarise(what: string, concurrency: number, results: Timed[], okStatus: number): Row {
  const wall = Math.max(...results.map((r) => r.at)) / 1000;
  const ms = results.map((r) => r.ms);
  return {
    what,
    concurrency,
    requests: results.length,
    perSecond: results.length / wall,
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
    failed: results.filter((r) => r.status !== okStatus).length,
  };
}

async function main(): Promise<void> {
  const kumo = await startKumo();
  try {
    const { token } = await adminToken(kumo.url, kumo.adminPassword);
    const v2 = `${kumo.url}/networking/v2.0`;
    const network = await request(`${v2}/networks`, token, 'POST', { network: { name: 'bench' } });
    if (network.status !== 201) throw new Error(`network: HTTP ${network.status} ${network.text}`);
    const networkId = (JSON.parse(network.text) as { network: { id: string } }).network.id;
    // A /18 holds 16,382 hosts: room for every port, no DHCP port in the way.
    const subnet = await request(`${v2}/subnets`, token, 'POST', { subnet: { network_id: networkId, cidr: '10.64.0.0/18', enable_dhcp: false } });
    if (subnet.status !== 201) throw new Error(`subnet: HTTP ${subnet.status} ${subnet.text}`);
    // The admin project's default port quota (500) would stop the fill.
    const projects = await fetch(`${kumo.url}/identity/v3/auth/projects`, { headers: { 'x-auth-token': token } });
    const adminProject = ((await projects.json()) as { projects: Array<{ id: string; name: string }> }).projects.find((p) => p.name === 'admin')?.id;
    await request(`${v2}/quotas/${adminProject}`, token, 'PUT', { quota: { port: -1 } });

    const create = (i: number) => request(`${v2}/ports`, token, 'POST', { port: { network_id: networkId, name: `bench-${i}` } });
    const rows: Row[] = [];
    const sequential = await timedPool(SEQUENTIAL_PORTS, 1, create);
    rows.push(summarise(`POST /v2.0/ports (ports 1 to ${SEQUENTIAL_PORTS.toLocaleString('en-US')})`, 1, sequential, 201));
    const fill = await timedPool(TOTAL_PORTS - SEQUENTIAL_PORTS, CONCURRENCY, (i) => create(SEQUENTIAL_PORTS + i));
    rows.push(summarise(`POST /v2.0/ports (ports ${(SEQUENTIAL_PORTS + 1).toLocaleString('en-US')} to ${TOTAL_PORTS.toLocaleString('en-US')})`, CONCURRENCY, fill, 201));
    // The same figures for the first and the last thousand of the fill: how they move as the subnet fills.
    const byEnd = [...fill].sort((a, b) => a.at - b.at);
    const slice = (from: number, to: number, label: string) => {
      const part = byEnd.slice(from, to);
      const wall = ((part.at(-1)?.at ?? 0) - (byEnd[Math.max(0, from - 1)]?.at ?? 0)) / 1000;
      const ms = part.map((r) => r.ms);
      rows.push({ what: label, concurrency: CONCURRENCY, requests: part.length, perSecond: part.length / wall, p50: percentile(ms, 50), p99: percentile(ms, 99), failed: part.filter((r) => r.status !== 201).length });
    };
    if (byEnd.length >= 2000) {
      slice(0, 1000, '  of which the first 1,000');
      slice(byEnd.length - 1000, byEnd.length, '  of which the last 1,000');
    }

    const listRows: Row[] = [];
    const listed = await request(`${v2}/ports`, token, 'GET');
    const count = (JSON.parse(listed.text) as { ports: unknown[] }).ports.length;
    const lists: Array<[string, string]> = [
      [`GET /v2.0/ports (all ${count.toLocaleString('en-US')}, ${(listed.text.length / 1024 / 1024).toFixed(1)} MiB)`, `${v2}/ports`],
      ['GET /v2.0/ports?network_id=… (all of them)', `${v2}/ports?network_id=${networkId}`],
      ['GET /v2.0/ports?limit=100 (first page)', `${v2}/ports?limit=100`],
      ['GET /v2.0/ports?fixed_ips=ip_address=… (one port)', `${v2}/ports?fixed_ips=${encodeURIComponent('ip_address=10.64.0.10')}`],
    ];
    for (const [what, url] of lists) {
      const results = await timedPool(LIST_REQUESTS, 1, () => request(url, token, 'GET'));
      listRows.push(summarise(what, 1, results, 200));
    }

    const render = (r: Row) => [r.what, r.concurrency, r.requests, r.perSecond, r.p50, r.p99, r.failed];
    const headers = ['request', 'concurrency', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'failed'];
    process.stdout.write('\n## Networking: port creates (kumo up, SQLite, one network, one /18 subnet, admin token)\n\n');
    process.stdout.write(table(headers, rows.map(render)) + '\n\n');
    process.stdout.write(`## Networking: port lists with ${count.toLocaleString('en-US')} ports on the network (${LIST_REQUESTS} requests each, one at a time)\n\n`);
    process.stdout.write(table(headers, listRows.map(render)) + '\n');
  } finally {
    await kumo.stop();
  }
}

await main();
