import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { KumoConfig } from '../core/config.js';
import type { BootstrapCredentials } from '../services/identity/bootstrap.js';

const SECRETS_FILE = 'bootstrap-credentials.json';
const CLOUDS_FILE = 'clouds.yaml';

/** The files that hold the bootstrap accounts' passwords, in the order the banner lists them. */
const CREDENTIAL_FILES = [CLOUDS_FILE, 'admin-openrc.sh', 'demo-openrc.sh', 'service-openrc.sh', SECRETS_FILE];

/** A bootstrap account as the client files describe it. */
export interface ClientUser {
  cloud: string;
  file: string;
  username: string;
  project: string;
  password: string;
}

export const adminClient = (password: string): ClientUser => ({ cloud: 'kumo-admin', file: 'admin-openrc.sh', username: 'admin', project: 'admin', password });
export const demoClient = (password: string): ClientUser => ({ cloud: 'kumo-demo', file: 'demo-openrc.sh', username: 'demo', project: 'demo', password });
/** The service user compute hosts run as (`kumo agent --os-cloud kumo-service`). */
export const serviceClient = (password: string): ClientUser => ({ cloud: 'kumo-service', file: 'service-openrc.sh', username: 'nova', project: 'service', password });

/** The passwords kept beside the database (written by the first start), if any. */
export function readBootstrapCredentials(dataDir: string): Partial<BootstrapCredentials> {
  const path = join(dataDir, SECRETS_FILE);
  if (!existsSync(path)) return {};
  return JSON.parse(readFileSync(path, 'utf8')) as Partial<BootstrapCredentials>;
}

export function saveBootstrapCredentials(dataDir: string, credentials: Partial<BootstrapCredentials>): void {
  writePrivate(join(dataDir, SECRETS_FILE), JSON.stringify(credentials, null, 2) + '\n');
}

/**
 * The passwords a fresh database's accounts get: KUMO_ADMIN_PASSWORD / KUMO_DEMO_PASSWORD, else
 * the ones this data directory already records (its database was replaced), else random ones.
 * A database that has had its first start ignores them.
 */
export function wantedPasswords(dataDir: string, env: NodeJS.ProcessEnv = process.env): Partial<BootstrapCredentials> {
  return {
    ...readBootstrapCredentials(dataDir),
    ...(env.KUMO_ADMIN_PASSWORD ? { adminPassword: env.KUMO_ADMIN_PASSWORD } : {}),
    ...(env.KUMO_DEMO_PASSWORD ? { demoPassword: env.KUMO_DEMO_PASSWORD } : {}),
  };
}

/**
 * What `kumo up` does with the client files, and the banner lines that say where they are
 * (never what they hold). The start that created the accounts records their passwords and
 * writes clouds.yaml and the openrc files; a later start only points them at this start's
 * address when it changed, so it brings back no account and no file an operator removed.
 */
export function clientFilesOnStart(config: KumoConfig, created: Partial<BootstrapCredentials>): string[] {
  const authUrl = identityUrl(config.publicUrl);
  const lines: string[] = [];
  if (created.adminPassword || created.demoPassword || created.novaPassword) {
    saveBootstrapCredentials(config.dataDir, { ...readBootstrapCredentials(config.dataDir), ...created });
    writeClientFiles(config.dataDir, authUrl, config.region, [
      ...(created.adminPassword ? [adminClient(created.adminPassword)] : []),
      ...(created.demoPassword ? [demoClient(created.demoPassword)] : []),
      ...(created.novaPassword ? [serviceClient(created.novaPassword)] : []),
    ]);
    lines.push(`  accounts: ${[created.adminPassword ? 'admin' : '', created.demoPassword ? 'demo' : ''].filter(Boolean).join(' and ')} created by this first start`);
  } else {
    const previous = pointClientFilesAt(config.dataDir, authUrl);
    if (previous) lines.push(`  note:     the client files pointed at ${previous}; they now point at ${authUrl}`);
  }
  const present = CREDENTIAL_FILES.map((name) => join(config.dataDir, name)).filter((path) => existsSync(path));
  if (present.length === 0) {
    lines.push(
      `  credentials: no client files in ${config.dataDir} (the accounts were made elsewhere);`,
      '            `kumo identity bootstrap` restores an admin and writes them',
    );
  } else {
    lines.push('  credentials (readable by this user only):', ...present.map((path) => `            ${path}`));
  }
  return lines;
}

/**
 * Writes an openrc file per user and their clouds into clouds.yaml, keeping the clouds it
 * already lists for other users. Every file is 0600: they hold passwords.
 */
export function writeClientFiles(dataDir: string, authUrl: string, region: string, users: ClientUser[]): void {
  const cloudsPath = join(dataDir, CLOUDS_FILE);
  const clouds = existsSync(cloudsPath) ? readClouds(cloudsPath) : {};
  for (const u of users) {
    clouds[u.cloud] = {
      auth: {
        auth_url: authUrl,
        username: u.username,
        password: u.password,
        project_name: u.project,
        user_domain_name: 'Default',
        project_domain_name: 'Default',
      },
      region_name: region,
      interface: 'public',
      identity_api_version: 3,
    };
    writePrivate(
      join(dataDir, u.file),
      [
        `export OS_AUTH_URL=${shellQuote(authUrl)}`,
        `export OS_USERNAME=${shellQuote(u.username)}`,
        `export OS_PASSWORD=${shellQuote(u.password)}`,
        `export OS_PROJECT_NAME=${shellQuote(u.project)}`,
        'export OS_USER_DOMAIN_NAME=Default',
        'export OS_PROJECT_DOMAIN_NAME=Default',
        `export OS_REGION_NAME=${shellQuote(region)}`,
        'export OS_INTERFACE=public',
        'export OS_IDENTITY_API_VERSION=3',
        '',
      ].join('\n'),
    );
  }
  writePrivate(cloudsPath, stringify({ clouds }));
}

/** The auth URL the client files already use (the first cloud's), if there are any. */
export function clientFilesUrl(dataDir: string): string | undefined {
  const cloudsPath = join(dataDir, CLOUDS_FILE);
  if (!existsSync(cloudsPath)) return undefined;
  for (const cloud of Object.values(readClouds(cloudsPath))) {
    const url = (cloud as { auth?: { auth_url?: unknown } }).auth?.auth_url;
    if (typeof url === 'string') return url;
  }
  return undefined;
}

export const identityUrl = (publicUrl: string): string => `${publicUrl}/identity`;

/** Replaces the auth URL in the client files when it is not `authUrl`; returns the one it replaced. */
function pointClientFilesAt(dataDir: string, authUrl: string): string | undefined {
  const previous = clientFilesUrl(dataDir);
  if (previous === undefined || previous === authUrl) return undefined;
  const cloudsPath = join(dataDir, CLOUDS_FILE);
  const clouds = readClouds(cloudsPath);
  for (const cloud of Object.values(clouds)) {
    const auth = (cloud as { auth?: { auth_url?: unknown } }).auth;
    if (auth && auth.auth_url === previous) auth.auth_url = authUrl;
  }
  writePrivate(cloudsPath, stringify({ clouds }));
  for (const file of ['admin-openrc.sh', 'demo-openrc.sh', 'service-openrc.sh']) {
    const path = join(dataDir, file);
    if (!existsSync(path)) continue;
    const text = readFileSync(path, 'utf8').replace(/^export OS_AUTH_URL=.*$/m, `export OS_AUTH_URL=${shellQuote(authUrl)}`);
    writePrivate(path, text);
  }
  return previous;
}

function readClouds(path: string): Record<string, unknown> {
  const parsed = parse(readFileSync(path, 'utf8')) as { clouds?: Record<string, unknown> } | null;
  return parsed?.clouds ?? {};
}

/** One word for sh, whatever the value holds. */
function shellQuote(value: string): string {
  return /^[A-Za-z0-9@%+=:,./_-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

function writePrivate(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
  // The mode above only applies to a new file.
  chmodSync(path, 0o600);
}
