import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCloud, type Cloud } from '../../src/cloud.js';
import { loadConfig, type DataplaneConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/log.js';

export const ADMIN_PASSWORD = 'admin-secret';
export const DEMO_PASSWORD = 'demo-secret';

export interface TestCloud {
  cloud: Cloud;
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  dataDir: string;
  /** A project-scoped token for admin (project admin) or demo (project demo). */
  token(user?: 'admin' | 'demo'): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The whole cloud in this test process on a free port, with a throw-away data directory
 * and a cheap bcrypt cost. `databaseUrl` lets a suite run against PostgreSQL.
 */
export async function startTestCloud(
  options: {
    databaseUrl?: string;
    databaseSchema?: string;
    busUrl?: string;
    dataDir?: string;
    env?: NodeJS.ProcessEnv;
    dataplane?: Partial<DataplaneConfig>;
    /** DevStack's public/private/router1 on the first start; off unless a suite is about them, so the others keep their counts. */
    defaultNetworks?: boolean;
  } = {},
): Promise<TestCloud> {
  // A cloud given someone else's data directory shares it (keys, SQLite file) and leaves it in place.
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'kumo-test-'));
  const config = loadConfig(
    {
      dataDir,
      port: 0,
      logLevel: 'silent',
      identity: { passwordHashRounds: 4 },
      // Tests run as root in CI: only a suite that builds its own host namespace gets linuxbridge.
      dataplane: options.dataplane ?? { driver: 'noop' },
      network: { defaultNetworks: options.defaultNetworks ?? false },
      // Clouds run side by side in tests: each takes a free metadata port.
      metadata: { port: 0 },
      ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
      ...(options.databaseSchema ? { databaseSchema: options.databaseSchema } : {}),
      ...(options.busUrl ? { busUrl: options.busUrl } : {}),
    },
    // Likewise the fake compute driver, unless a suite asks for qemu.
    { KUMO_COMPUTE_DRIVER: 'fake', ...options.env },
  );
  const cloud = await startCloud(config, createLogger('silent'), { adminPassword: ADMIN_PASSWORD, demoPassword: DEMO_PASSWORD });
  // Suites see Glance's default metadata definitions as loaded (a real start does not wait for them).
  await cloud.metadefsLoaded;
  const url = config.publicUrl;
  const tokens = new Map<string, string>();
  return {
    cloud,
    url,
    dataDir,
    async token(user = 'admin') {
      const cached = tokens.get(user);
      if (cached) return cached;
      const token = await passwordToken(url, user, user === 'admin' ? ADMIN_PASSWORD : DEMO_PASSWORD, user);
      tokens.set(user, token);
      return token;
    },
    async stop() {
      await cloud.stop();
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function passwordToken(url: string, user: string, password: string, project?: string): Promise<string> {
  const response = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
        ...(project ? { scope: { project: { name: project, domain: { id: 'default' } } } } : {}),
      },
    }),
  });
  if (response.status !== 201) throw new Error(`token for ${user}: HTTP ${response.status} ${await response.text()}`);
  return response.headers.get('x-subject-token') as string;
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: unknown;
  json: Record<string, any>;
}

/** A small JSON client: `api(url, 'POST', '/identity/v3/projects', token, body)`. */
export async function api(
  base: string,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiResponse> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(token ? { 'x-auth-token': token } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return {
    status: response.status,
    headers: response.headers,
    body: parsed,
    json: (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, any>,
  };
}

/** PostgreSQL for the shared suites, when CI or the developer points at one. */
export const TEST_DATABASE_URL = process.env.KUMO_TEST_DATABASE_URL;
