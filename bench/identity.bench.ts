/**
 * Identity under load: token issue, token validation and project listing against a real
 * `kumo up` on loopback, plus its idle memory and the time from start to the first token.
 * Prints a table; asserts nothing (targets are read by people, not by CI).
 */
import { load, table, type LoadResult } from './lib/load.js';
import { rssMiB, startKumo } from './lib/kumo-process.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

async function issueToken(url: string, password: string): Promise<{ status: number; token: string | null }> {
  const response = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: authBody(password),
  });
  await response.arrayBuffer();
  return { status: response.status, token: response.headers.get('x-subject-token') };
}

function authBody(password: string): string {
  return JSON.stringify({
    auth: {
      identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password } } },
      scope: { project: { name: 'admin', domain: { id: 'default' } } },
    },
  });
}

async function main(): Promise<void> {
  const kumo = await startKumo();
  try {
    let first: string | null = null;
    while (!first) {
      const { status, token } = await issueToken(kumo.url, kumo.adminPassword);
      if (status === 201) first = token;
    }
    const firstTokenMs = performance.now() - kumo.startedAt;
    await new Promise((r) => setTimeout(r, 2000));
    const idleRss = rssMiB(kumo.child.pid as number);

    const token = first as string;
    const results: LoadResult[] = [];
    results.push(
      await load({
        name: 'POST /v3/auth/tokens (password, project scope, bcrypt cost 12)',
        url: `${kumo.url}/identity/v3/auth/tokens`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: authBody(kumo.adminPassword),
        connections: 4,
        seconds: SECONDS,
      }),
    );
    for (const connections of [4, 16]) {
      results.push(
        await load({
          name: 'GET /v3/auth/tokens (validate)',
          url: `${kumo.url}/identity/v3/auth/tokens`,
          headers: { 'x-auth-token': token, 'x-subject-token': token },
          connections,
          seconds: SECONDS,
        }),
      );
    }
    results.push(
      await load({
        name: 'GET /v3/projects',
        url: `${kumo.url}/identity/v3/projects`,
        headers: { 'x-auth-token': token },
        connections: 16,
        seconds: SECONDS,
      }),
    );
    const loadedRss = rssMiB(kumo.child.pid as number);

    process.stdout.write('\n## Identity (kumo up, SQLite, in-process bus, info-level JSON logs)\n\n');
    process.stdout.write(
      table(
        ['request', 'connections', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors'],
        results.map((r) => [r.name, r.connections, r.requestsPerSecond, r.p50, r.p99, r.non2xx, r.errors]),
      ) + '\n\n',
    );
    process.stdout.write(
      table(
        ['figure', 'value', 'target'],
        [
          ['start to first token (process spawn to 201, first start incl. bootstrap)', `${Math.round(firstTokenMs)} ms`, '< 2000 ms'],
          ['idle RSS after start', `${idleRss.toFixed(1)} MiB`, '< 120 MiB'],
          ['RSS after the load runs', `${loadedRss.toFixed(1)} MiB`, ''],
        ],
      ) + '\n',
    );
  } finally {
    await kumo.stop();
  }
}

await main();
