/**
 * How long a failed password login takes, by what the request names, against a real `kumo up`
 * at bcrypt cost 12 (Keystone's): an unknown user or domain must take as long as a wrong
 * password, or the answer's timing tells which names exist. Sequential requests, one at a time.
 * Prints a table; asserts nothing.
 */
import { table } from './lib/load.js';
import { startKumo } from './lib/kumo-process.js';

const ATTEMPTS = Number(process.env.BENCH_LOGIN_ATTEMPTS ?? 15);

async function post(url: string, body: unknown, token?: string): Promise<{ status: number; token: string | null }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { 'x-auth-token': token } : {}) },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return { status: response.status, token: response.headers.get('x-subject-token') };
}

const login = (user: Record<string, unknown>, password: string) => ({
  auth: { identity: { methods: ['password'], password: { user: { ...user, password } } } },
});

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function main(): Promise<void> {
  const kumo = await startKumo();
  try {
    const tokens = `${kumo.url}/identity/v3/auth/tokens`;
    const adminLogin = login({ name: 'admin', domain: { id: 'default' } }, kumo.adminPassword);
    const admin = await post(tokens, { auth: { ...adminLogin.auth, scope: { project: { name: 'admin', domain: { id: 'default' } } } } });
    if (admin.status !== 201 || !admin.token) throw new Error(`admin token: HTTP ${admin.status}`);
    for (const user of [
      { name: 'known', password: 'right-password' },
      { name: 'disabled', password: 'right-password', enabled: false },
      { name: 'passwordless' },
    ]) {
      const created = await post(`${kumo.url}/identity/v3/users`, { user }, admin.token);
      if (created.status !== 201) throw new Error(`create ${user.name}: HTTP ${created.status}`);
    }
    const inDefault = (name: string) => ({ name, domain: { id: 'default' } });
    const cases: Array<[string, unknown, number]> = [
      ['known user, right password (for scale)', login(inDefault('known'), 'right-password'), 201],
      ['known user, wrong password', login(inDefault('known'), 'wrong'), 401],
      ['unknown user', login(inDefault('nobody-here'), 'wrong'), 401],
      ['unknown domain', login({ name: 'known', domain: { name: 'NoSuchDomain' } }, 'wrong'), 401],
      ['user without a password', login(inDefault('passwordless'), 'wrong'), 401],
      ['disabled user, right password', login(inDefault('disabled'), 'right-password'), 401],
    ];
    const rows: Array<Array<string | number>> = [];
    let reference = 0;
    for (const [name, body, status] of cases) {
      const ms: number[] = [];
      for (let i = 0; i <= ATTEMPTS; i++) {
        const started = performance.now();
        const result = await post(tokens, body);
        const elapsed = performance.now() - started;
        if (result.status !== status) throw new Error(`${name}: HTTP ${result.status}, expected ${status}`);
        if (i > 0) ms.push(elapsed); // the first one warms up
      }
      const median = percentile(ms, 50);
      if (name === 'known user, wrong password') reference = median;
      rows.push([name, ATTEMPTS, median, percentile(ms, 90), reference ? (median / reference).toFixed(2) : '']);
    }
    process.stdout.write(`Failed password logins, sequential, bcrypt cost 12 (ratio: median / known user's wrong password)\n\n`);
    process.stdout.write(table(['request names', 'attempts', 'median ms', 'p90 ms', 'ratio'], rows) + '\n');
  } finally {
    await kumo.stop();
  }
}

await main();
