import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** One cloud of a clouds.yaml (os-client-config), as a service process authenticates with it. */
export interface CloudAuth {
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  userDomainName: string;
  projectDomainName: string;
  region?: string;
}

/** Reads `cloud` from the clouds.yaml at `file` (OS_CLIENT_CONFIG_FILE); throws naming what is missing. */
export function readCloud(file: string, cloud: string): CloudAuth {
  const doc = parse(readFileSync(file, 'utf8')) as { clouds?: Record<string, { auth?: Record<string, unknown>; region_name?: unknown }> } | null;
  const entry = doc?.clouds?.[cloud];
  if (!entry?.auth) throw new Error(`${file} has no cloud ${cloud} with an auth section`);
  const text = (key: string, fallback?: string): string => {
    const value = entry.auth?.[key];
    if (typeof value === 'string' && value !== '') return value;
    if (fallback !== undefined) return fallback;
    throw new Error(`${file}: cloud ${cloud} has no auth.${key}`);
  };
  return {
    authUrl: text('auth_url').replace(/\/+$/, ''),
    username: text('username'),
    password: text('password'),
    projectName: text('project_name'),
    userDomainName: text('user_domain_name', 'Default'),
    projectDomainName: text('project_domain_name', 'Default'),
    ...(typeof entry.region_name === 'string' ? { region: entry.region_name } : {}),
  };
}

interface CatalogEntry {
  type: string;
  endpoints: Array<{ interface: string; region?: string; region_id?: string; url: string }>;
}

/** Thrown for an HTTP answer a service session cannot use: carries the status. */
export class ServiceHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceHttpError';
  }
}

/**
 * A keystoneauth-like session for a service user (a compute host's `nova`): a project-scoped
 * token from Keystone's password method, renewed before it expires or when a service answers
 * 401, and the catalog's public endpoints.
 */
export class ServiceSession {
  private token: { id: string; expiresAt: number; catalog: CatalogEntry[] } | undefined;
  private pending: Promise<void> | undefined;

  constructor(private readonly auth: CloudAuth) {}

  private async authenticate(): Promise<void> {
    const response = await fetch(`${this.auth.authUrl}/v3/auth/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        auth: {
          identity: { methods: ['password'], password: { user: { name: this.auth.username, password: this.auth.password, domain: { name: this.auth.userDomainName } } } },
          scope: { project: { name: this.auth.projectName, domain: { name: this.auth.projectDomainName } } },
        },
      }),
    });
    const id = response.headers.get('x-subject-token');
    if (response.status !== 201 || !id) {
      throw new ServiceHttpError(response.status, `Keystone refused ${this.auth.username}@${this.auth.projectName}: ${response.status} ${await response.text()}`);
    }
    const body = (await response.json()) as { token: { expires_at: string; catalog?: CatalogEntry[] } };
    this.token = { id, expiresAt: Date.parse(body.token.expires_at), catalog: body.token.catalog ?? [] };
  }

  /** A token with at least a minute to live. */
  private async current(): Promise<{ id: string; catalog: CatalogEntry[] }> {
    if (!this.token || this.token.expiresAt - Date.now() < 60_000) {
      this.pending ??= this.authenticate().finally(() => (this.pending = undefined));
      await this.pending;
    }
    return this.token as { id: string; catalog: CatalogEntry[] };
  }

  /** The public endpoint of a service type in this cloud's region. */
  async endpoint(type: string): Promise<string> {
    const { catalog } = await this.current();
    const endpoints = catalog.find((c) => c.type === type)?.endpoints ?? [];
    const inRegion = endpoints.filter((e) => !this.auth.region || (e.region_id ?? e.region) === this.auth.region);
    const found = inRegion.find((e) => e.interface === 'public') ?? inRegion[0];
    if (!found) throw new Error(`the catalog has no ${type} endpoint${this.auth.region ? ` in region ${this.auth.region}` : ''}`);
    return found.url.replace(/\/+$/, '');
  }

  /** fetch with the token; a 401 (the token was revoked) authenticates once more and retries when the body can be sent again. */
  async request(url: string, init: RequestInit & { duplex?: 'half' } = {}, retryable = true): Promise<Response> {
    const send = async () => {
      const { id } = await this.current();
      return fetch(url, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), 'x-auth-token': id } });
    };
    const response = await send();
    if (response.status !== 401 || !retryable) return response;
    await response.body?.cancel();
    this.token = undefined;
    return send();
  }
}
