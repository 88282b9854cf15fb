import type { FastifyInstance, FastifyRequest } from 'fastify';
import { callerOf } from '../../../core/auth/context.js';
import { queryString, type Json } from '../../../core/http/body.js';
import { ApiError, badRequest } from '../../../core/http/errors.js';
import type { IdentityContext } from '../context.js';
import { refuseTrustScoped } from '../trusts.js';
import {
  createCredential,
  createEc2Credential,
  deleteCredential,
  ec2Blob,
  listCredentials,
  listEc2Credentials,
  loadCredential,
  loadEc2Credential,
  updateCredential,
  type Credential,
} from '../credentials.js';
import { collection } from '../render.js';
import { credentialCreate, credentialUpdate, ec2CredentialCreate, type CredentialBody } from '../schemas.js';
import { authorize, requestUrl } from './common.js';

export function credentialRoutes(app: FastifyInstance, ctx: IdentityContext): void {
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

  type CreateBody = { Body: { credential: CredentialBody & Required<Pick<CredentialBody, 'user_id' | 'type' | 'blob'>> } };
  app.post<CreateBody>('/v3/credentials', { schema: { body: credentialCreate } }, async (request, reply) => {
    const body = request.body.credential;
    const fields = { user_id: body.user_id, project_id: body.project_id ?? null, type: body.type, blob: body.blob };
    authorize(ctx, request, 'identity:create_credential', onCredential(fields.user_id));
    refuseTrustScoped(callerOf(request), 'a credential');
    const cred = await createCredential(ctx, fields);
    reply.code(201);
    return { credential: render(cred) };
  });

  app.get('/v3/credentials', async (request) => {
    const userId = queryString(request.query, 'user_id');
    const type = queryString(request.query, 'type');
    authorize(ctx, request, 'identity:list_credentials', onCredential(userId ?? callerOf(request).userId ?? ''));
    const creds = await listCredentials(ctx, { ...(userId !== undefined ? { user_id: userId } : {}), ...(type !== undefined ? { type } : {}) });
    const visible = creds.filter((c) => may(request, 'identity:get_credential', onCredential(c.user_id)));
    return collection('credentials', visible.map(render), requestUrl(ctx, request));
  });

  app.get<{ Params: { id: string } }>('/v3/credentials/:id', async (request) => {
    const cred = await loadCredential(ctx, request.params.id);
    authorize(ctx, request, 'identity:get_credential', onCredential(cred.user_id));
    return { credential: render(cred) };
  });

  app.patch<{ Params: { id: string }; Body: { credential: CredentialBody } }>('/v3/credentials/:id', { schema: { body: credentialUpdate } }, async (request) => {
    const body = request.body.credential;
    const cred = await loadCredential(ctx, request.params.id);
    authorize(ctx, request, 'identity:update_credential', onCredential(cred.user_id));
    if (body.id !== undefined && body.id !== cred.id) throw badRequest('The credential id cannot be changed.');
    const updated: Credential = {
      ...cred,
      user_id: body.user_id ?? cred.user_id,
      project_id: body.project_id === undefined ? cred.project_id : body.project_id,
      type: body.type ?? cred.type,
      blob: body.blob ?? cred.blob,
    };
    // Handing a credential to another user needs the right over the new owner as well.
    if (updated.user_id !== cred.user_id) authorize(ctx, request, 'identity:update_credential', onCredential(updated.user_id));
    return { credential: render(await updateCredential(ctx, updated)) };
  });

  app.delete<{ Params: { id: string } }>('/v3/credentials/:id', async (request, reply) => {
    const cred = await loadCredential(ctx, request.params.id);
    authorize(ctx, request, 'identity:delete_credential', onCredential(cred.user_id));
    await deleteCredential(ctx, cred);
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
  type UserParams = { Params: { id: string } };
  type AccessParams = { Params: { id: string; access: string } };

  app.post<UserParams & { Body: { tenant_id: string } }>('/v3/users/:id/credentials/OS-EC2', { schema: { body: ec2CredentialCreate } }, async (request, reply) => {
    const userId = request.params.id;
    authorize(ctx, request, 'identity:ec2_create_credential', onCredential(userId));
    refuseTrustScoped(callerOf(request), 'an EC2 credential');
    const cred = await createEc2Credential(ctx, userId, request.body.tenant_id);
    reply.code(201);
    return { credential: renderEc2(cred) };
  });

  app.get<UserParams>('/v3/users/:id/credentials/OS-EC2', async (request) => {
    const userId = request.params.id;
    authorize(ctx, request, 'identity:ec2_list_credentials', { user_id: userId });
    const creds = await listEc2Credentials(ctx, userId);
    return collection('credentials', creds.map(renderEc2), requestUrl(ctx, request));
  });

  app.get<AccessParams>('/v3/users/:id/credentials/OS-EC2/:access', async (request) => {
    const { id: userId, access } = request.params;
    authorize(ctx, request, 'identity:ec2_get_credential', onCredential(userId));
    return { credential: renderEc2(await loadEc2Credential(ctx, userId, access)) };
  });

  app.delete<AccessParams>('/v3/users/:id/credentials/OS-EC2/:access', async (request, reply) => {
    const { id: userId, access } = request.params;
    authorize(ctx, request, 'identity:ec2_delete_credential', onCredential(userId));
    const cred = await loadEc2Credential(ctx, userId, access);
    await deleteCredential(ctx, cred);
    reply.code(204).send();
  });
}
