import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { callerOf } from '../../../core/auth/context.js';
import { envelope, isObject, optNullableString, optString, queryString, reqString, type Json } from '../../../core/http/body.js';
import { ApiError, badRequest } from '../../../core/http/errors.js';
import { newHexId } from '../../../core/ids.js';
import type { IdentityContext } from '../context.js';
import type { Credential } from '../store/user-credentials.js';
import { collection } from '../render.js';
import { authorize, notFoundError, requestUrl } from './common.js';

/** Keystone derives an EC2 credential's id from its access key, so a signature can find it. */
export const ec2CredentialId = (access: string): string => createHash('sha256').update(access, 'utf8').digest('hex');

interface Ec2Blob {
  access: string;
  secret?: unknown;
  trust_id?: unknown;
}

/** The parsed blob of an ec2 credential, or a 400 in Keystone's words. */
function ec2Blob(blob: string): Ec2Blob {
  let parsed: unknown;
  try {
    parsed = JSON.parse(blob);
  } catch {
    throw badRequest('Invalid blob in credential');
  }
  if (!isObject(parsed)) throw badRequest('Invalid blob in credential');
  if (typeof parsed.access !== 'string' || parsed.access === '') throw badRequest("'access' is a required attribute of 'blob'.");
  return { ...parsed, access: parsed.access };
}

const conflictId = (id: string) => new ApiError(409, `Conflict occurred attempting to store credential - Duplicate ID, ${id}.`);

export function credentialRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const store = ctx.stores.userCredentials;
  const render = (c: Credential): Json => ({
    id: c.id,
    user_id: c.user_id,
    project_id: c.project_id,
    type: c.type,
    blob: c.blob,
    links: { self: `${ctx.baseUrl}/credentials/${c.id}` },
  });
  const onCredential = (userId: string) => ({ target: { credential: { user_id: userId } } });
  /** Per-item policy for lists, as Keystone filters what a non-admin may see. */
  const may = (request: FastifyRequest, action: string, target: Record<string, unknown>): boolean => {
    try {
      authorize(ctx, request, action, target);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) return false;
      throw error;
    }
  };
  const load = async (id: string): Promise<Credential> => (await store.get(id)) ?? Promise.reject(notFoundError('credential', id));
  const insert = async (cred: Credential): Promise<void> => {
    if (await store.get(cred.id)) throw conflictId(cred.id);
    try {
      await store.create(cred);
    } catch (error) {
      if (ctx.stores.database.isUniqueViolation(error)) throw conflictId(cred.id);
      throw error;
    }
  };
  /** The rules every stored credential obeys, on create and after an update alike. */
  const check = (cred: Omit<Credential, 'id'>): void => {
    if (cred.type !== 'ec2') return;
    ec2Blob(cred.blob);
    if (!cred.project_id) throw badRequest("Invalid input for field 'project_id': it is required for a credential of type ec2.");
  };

  app.post('/v3/credentials', async (request, reply) => {
    const body = envelope(request.body, 'credential');
    const fields = {
      user_id: reqString(body, 'user_id', { max: 64 }),
      project_id: optNullableString(body, 'project_id', { max: 64 }) ?? null,
      type: reqString(body, 'type', { max: 255 }),
      blob: reqString(body, 'blob'),
    };
    authorize(ctx, request, 'identity:create_credential', onCredential(fields.user_id));
    check(fields);
    const id = fields.type === 'ec2' ? ec2CredentialId(ec2Blob(fields.blob).access) : newHexId();
    const cred: Credential = { id, ...fields };
    await insert(cred);
    reply.code(201);
    return { credential: render(cred) };
  });

  app.get('/v3/credentials', async (request) => {
    const userId = queryString(request.query, 'user_id');
    const type = queryString(request.query, 'type');
    authorize(ctx, request, 'identity:list_credentials', onCredential(userId ?? callerOf(request).userId ?? ''));
    const creds = await store.list({ ...(userId !== undefined ? { user_id: userId } : {}), ...(type !== undefined ? { type } : {}) });
    const visible = creds.filter((c) => may(request, 'identity:get_credential', onCredential(c.user_id)));
    return collection('credentials', visible.map(render), requestUrl(ctx, request));
  });

  app.get<{ Params: { id: string } }>('/v3/credentials/:id', async (request) => {
    const cred = await load(request.params.id);
    authorize(ctx, request, 'identity:get_credential', onCredential(cred.user_id));
    return { credential: render(cred) };
  });

  app.patch<{ Params: { id: string } }>('/v3/credentials/:id', async (request) => {
    const body = envelope(request.body, 'credential');
    const cred = await load(request.params.id);
    authorize(ctx, request, 'identity:update_credential', onCredential(cred.user_id));
    if (body.id !== undefined && body.id !== cred.id) throw badRequest('The credential id cannot be changed.');
    const projectId = optNullableString(body, 'project_id', { max: 64 });
    const updated: Credential = {
      ...cred,
      user_id: optString(body, 'user_id', { min: 1, max: 64 }) ?? cred.user_id,
      project_id: projectId === undefined ? cred.project_id : projectId,
      type: optString(body, 'type', { min: 1, max: 255 }) ?? cred.type,
      blob: optString(body, 'blob', { min: 1 }) ?? cred.blob,
    };
    // Handing a credential to another user needs the right over the new owner as well.
    if (updated.user_id !== cred.user_id) authorize(ctx, request, 'identity:update_credential', onCredential(updated.user_id));
    check(updated);
    await store.update(updated);
    return { credential: render(updated) };
  });

  app.delete<{ Params: { id: string } }>('/v3/credentials/:id', async (request, reply) => {
    const cred = await load(request.params.id);
    authorize(ctx, request, 'identity:delete_credential', onCredential(cred.user_id));
    await store.delete(cred.id);
    reply.code(204).send();
  });

  // OS-EC2: the same credentials seen as access/secret pairs under their user.
  const renderEc2 = (c: Credential): Json => {
    const blob = ec2Blob(c.blob);
    return {
      user_id: c.user_id,
      tenant_id: c.project_id,
      access: blob.access,
      secret: blob.secret ?? null,
      trust_id: blob.trust_id ?? null,
      links: { self: `${ctx.baseUrl}/users/${c.user_id}/credentials/OS-EC2/${encodeURIComponent(blob.access)}` },
    };
  };
  const loadUser = async (id: string) => (await ctx.stores.users.getUser(id)) ?? Promise.reject(notFoundError('user', id));
  /** The user's ec2 credential with this access key; another user's is as absent as a missing one. */
  const loadEc2 = async (userId: string, access: string): Promise<Credential> => {
    const cred = await store.get(ec2CredentialId(access));
    if (!cred || cred.type !== 'ec2' || cred.user_id !== userId) throw notFoundError('credential', access);
    return cred;
  };
  type UserParams = { Params: { id: string } };
  type AccessParams = { Params: { id: string; access: string } };

  app.post<UserParams>('/v3/users/:id/credentials/OS-EC2', async (request, reply) => {
    const userId = request.params.id;
    authorize(ctx, request, 'identity:ec2_create_credential', onCredential(userId));
    if (!isObject(request.body)) throw badRequest('The request body must be a JSON object.');
    const tenantId = reqString(request.body, 'tenant_id', { max: 64 });
    const user = await loadUser(userId);
    if (!(await ctx.stores.resources.getProject(tenantId))) throw notFoundError('project', tenantId);
    // Random hex as Keystone's uuid4().hex: the access key names the credential, the secret signs.
    const access = randomBytes(16).toString('hex');
    const secret = randomBytes(16).toString('hex');
    const cred: Credential = {
      id: ec2CredentialId(access),
      user_id: user.id,
      project_id: tenantId,
      type: 'ec2',
      blob: JSON.stringify({ access, secret, trust_id: null }),
    };
    await insert(cred);
    reply.code(201);
    return { credential: renderEc2(cred) };
  });

  app.get<UserParams>('/v3/users/:id/credentials/OS-EC2', async (request) => {
    const userId = request.params.id;
    authorize(ctx, request, 'identity:ec2_list_credentials', { user_id: userId });
    const user = await loadUser(userId);
    const creds = await store.list({ user_id: user.id, type: 'ec2' });
    return collection('credentials', creds.map(renderEc2), requestUrl(ctx, request));
  });

  app.get<AccessParams>('/v3/users/:id/credentials/OS-EC2/:access', async (request) => {
    const { id: userId, access } = request.params;
    authorize(ctx, request, 'identity:ec2_get_credential', onCredential(userId));
    return { credential: renderEc2(await loadEc2(userId, access)) };
  });

  app.delete<AccessParams>('/v3/users/:id/credentials/OS-EC2/:access', async (request, reply) => {
    const { id: userId, access } = request.params;
    authorize(ctx, request, 'identity:ec2_delete_credential', onCredential(userId));
    const cred = await loadEc2(userId, access);
    await store.delete(cred.id);
    reply.code(204).send();
  });
}
