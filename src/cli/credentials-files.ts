import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { KumoConfig } from '../core/config.js';
import type { BootstrapCredentials } from '../services/identity/bootstrap.js';

const SECRETS_FILE = 'bootstrap-credentials.json';

/** Bootstrap passwords live beside the database so every later start can print them again. */
export function readBootstrapCredentials(dataDir: string): Partial<BootstrapCredentials> {
  const path = join(dataDir, SECRETS_FILE);
  if (!existsSync(path)) return {};
  return JSON.parse(readFileSync(path, 'utf8')) as Partial<BootstrapCredentials>;
}

export function saveBootstrapCredentials(dataDir: string, credentials: Partial<BootstrapCredentials>): void {
  writeFileSync(join(dataDir, SECRETS_FILE), JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600 });
}

interface CloudUser {
  cloud: string;
  file: string;
  username: string;
  project: string;
  password: string;
}

/** Writes clouds.yaml and the openrc files into the data directory; returns what it wrote. */
export function writeClientFiles(config: KumoConfig, credentials: Partial<BootstrapCredentials>): Record<string, string> {
  const authUrl = `${config.publicUrl}/identity`;
  const users: CloudUser[] = [];
  if (credentials.adminPassword) {
    users.push({ cloud: 'kumo-admin', file: 'admin-openrc.sh', username: 'admin', project: 'admin', password: credentials.adminPassword });
  }
  if (credentials.demoPassword) {
    users.push({ cloud: 'kumo-demo', file: 'demo-openrc.sh', username: 'demo', project: 'demo', password: credentials.demoPassword });
  }
  const clouds: Record<string, unknown> = {};
  const files: Record<string, string> = {};
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
      region_name: config.region,
      interface: 'public',
      identity_api_version: 3,
    };
    files[u.file] = [
      `export OS_AUTH_URL=${authUrl}`,
      `export OS_USERNAME=${u.username}`,
      `export OS_PASSWORD='${u.password}'`,
      `export OS_PROJECT_NAME=${u.project}`,
      'export OS_USER_DOMAIN_NAME=Default',
      'export OS_PROJECT_DOMAIN_NAME=Default',
      `export OS_REGION_NAME=${config.region}`,
      'export OS_INTERFACE=public',
      'export OS_IDENTITY_API_VERSION=3',
      '',
    ].join('\n');
  }
  files['clouds.yaml'] = stringify({ clouds });
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(config.dataDir, name), text, { mode: 0o600 });
  }
  return files;
}
