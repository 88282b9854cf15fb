/**
 * Raw Keystone v3 over HTTP, for what the CLI cannot show (token validation status codes)
 * and for fixtures a test needs but does not test.
 */
export interface HttpResult {
  status: number;
  headers: Headers;
  json: Record<string, any>;
}

export class KeystoneHttp {
  constructor(readonly baseUrl: string) {}

  async request(
    method: string,
    path: string,
    options: { token?: string; subjectToken?: string; body?: unknown } = {},
  ): Promise<HttpResult> {
    const response = await fetch(`${this.baseUrl}/identity/v3${path}`, {
      method,
      headers: {
        ...(options.token ? { 'x-auth-token': options.token } : {}),
        ...(options.subjectToken ? { 'x-subject-token': options.subjectToken } : {}),
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    });
    const text = await response.text();
    let json: Record<string, any> = {};
    try {
      const parsed: unknown = text ? JSON.parse(text) : {};
      if (typeof parsed === 'object' && parsed !== null) json = parsed as Record<string, any>;
    } catch {
      // not JSON (HEAD, 204): leave it empty
    }
    return { status: response.status, headers: response.headers, json };
  }

  /** GET /v3/auth/tokens: the status and body Keystone gives for `subject` validated by `auth`. */
  validate(auth: string, subject: string): Promise<HttpResult> {
    return this.request('GET', '/auth/tokens', { token: auth, subjectToken: subject });
  }

  /** A password token for a user of the Default domain, scoped to a project of it when asked. */
  async passwordToken(user: string, password: string, project?: string): Promise<string> {
    const result = await this.request('POST', '/auth/tokens', {
      body: {
        auth: {
          identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
          ...(project ? { scope: { project: { name: project, domain: { id: 'default' } } } } : {}),
        },
      },
    });
    if (result.status !== 201) throw new Error(`token for ${user}: HTTP ${result.status} ${JSON.stringify(result.json)}`);
    return result.headers.get('x-subject-token') as string;
  }

  private async created(path: string, token: string, body: unknown, key: string): Promise<Record<string, any>> {
    const result = await this.request('POST', path, { token, body });
    if (result.status !== 201) throw new Error(`POST ${path}: HTTP ${result.status} ${JSON.stringify(result.json)}`);
    return result.json[key] as Record<string, any>;
  }

  createProject(token: string, name: string): Promise<Record<string, any>> {
    return this.created('/projects', token, { project: { name, domain_id: 'default' } }, 'project');
  }

  createUser(token: string, name: string, password: string, defaultProjectId?: string): Promise<Record<string, any>> {
    const user = { name, password, domain_id: 'default', ...(defaultProjectId ? { default_project_id: defaultProjectId } : {}) };
    return this.created('/users', token, { user }, 'user');
  }

  async roleId(token: string, name: string): Promise<string> {
    const result = await this.request('GET', `/roles?name=${encodeURIComponent(name)}`, { token });
    const id = result.json.roles?.[0]?.id as string | undefined;
    if (!id) throw new Error(`no role ${name}: HTTP ${result.status} ${JSON.stringify(result.json)}`);
    return id;
  }

  async grantOnProject(token: string, projectId: string, userId: string, roleName: string): Promise<void> {
    const roleId = await this.roleId(token, roleName);
    const result = await this.request('PUT', `/projects/${projectId}/users/${userId}/roles/${roleId}`, { token });
    if (result.status !== 204) throw new Error(`grant ${roleName}: HTTP ${result.status} ${JSON.stringify(result.json)}`);
  }
}
