/** A project-scoped admin token for a bench's cloud, and the admin project's id. */
export async function adminToken(url: string, password: string): Promise<{ token: string; projectId: string }> {
  const response = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password } } },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    }),
  });
  const body = (await response.json()) as { token?: { project?: { id?: string } } };
  const token = response.headers.get('x-subject-token');
  if (response.status !== 201 || !token) throw new Error(`admin token: HTTP ${response.status}`);
  return { token, projectId: body.token?.project?.id ?? '' };
}
