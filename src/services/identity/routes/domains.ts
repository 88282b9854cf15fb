import type { FastifyInstance } from 'fastify';
import { envelope, optBool, optClearableString, optString, queryBool, queryString, reqString } from '../../../core/http/body.js';
import { ApiError } from '../../../core/http/errors.js';
import { newHexId } from '../../../core/ids.js';
import type { IdentityContext } from '../context.js';
import { checkName, extraAttributes } from '../extras.js';
import type { Domain } from '../model.js';
import { collection, renderDomain } from '../render.js';
import { authorize, duplicateError, notFoundError, requestUrl } from './common.js';

const KNOWN = ['name', 'description', 'enabled', 'tags', 'explicit_domain_id'];

export function domainRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const load = async (id: string): Promise<Domain> => {
    const domain = await ctx.stores.resources.getDomain(id);
    if (!domain) throw notFoundError('domain', id);
    return domain;
  };

  app.get('/v3/domains', async (request) => {
    authorize(ctx, request, 'identity:list_domains');
    const name = queryString(request.query, 'name');
    const enabled = queryBool(request.query, 'enabled');
    const domains = await ctx.stores.resources.listDomains({
      ...(name !== undefined ? { name } : {}),
      ...(enabled !== undefined ? { enabled } : {}),
    });
    return collection('domains', domains.map((d) => renderDomain(d, ctx.baseUrl)), requestUrl(ctx, request));
  });

  app.post('/v3/domains', async (request, reply) => {
    authorize(ctx, request, 'identity:create_domain');
    const body = envelope(request.body, 'domain');
    const name = checkName(reqString(body, 'name'), 'name', 64);
    const explicitId = optString(body, 'explicit_domain_id', { max: 64 });
    if (explicitId !== undefined && !/^[0-9a-f]{32}$/.test(explicitId.replaceAll('-', ''))) {
      throw new ApiError(400, "Invalid input for field 'explicit_domain_id': not a UUID.");
    }
    const domain: Domain = {
      id: explicitId?.replaceAll('-', '') ?? newHexId(),
      name,
      description: optClearableString(body, 'description', { max: 65_535 }) ?? '',
      enabled: optBool(body, 'enabled') ?? true,
      extra: extraAttributes(body, KNOWN),
    };
    if (await ctx.stores.resources.getDomainByName(name)) throw duplicateError('domain', name);
    try {
      await ctx.stores.resources.createDomain(domain);
    } catch (error) {
      if (ctx.stores.database.isUniqueViolation(error)) throw duplicateError('domain', name);
      throw error;
    }
    ctx.changed();
    reply.code(201);
    return { domain: renderDomain(domain, ctx.baseUrl) };
  });

  app.get<{ Params: { id: string } }>('/v3/domains/:id', async (request) => {
    const domain = await load(request.params.id);
    authorize(ctx, request, 'identity:get_domain', { target: { domain: { id: domain.id } } });
    return { domain: renderDomain(domain, ctx.baseUrl) };
  });

  app.patch<{ Params: { id: string } }>('/v3/domains/:id', async (request) => {
    authorize(ctx, request, 'identity:update_domain');
    const domain = await load(request.params.id);
    const body = envelope(request.body, 'domain');
    if (body.id !== undefined && body.id !== domain.id) throw new ApiError(400, 'The domain id cannot be changed.');
    const name = optString(body, 'name');
    const updated: Domain = {
      ...domain,
      name: name !== undefined ? checkName(name, 'name', 64) : domain.name,
      description: optClearableString(body, 'description', { max: 65_535 }) ?? domain.description,
      enabled: optBool(body, 'enabled') ?? domain.enabled,
      extra: { ...domain.extra, ...extraAttributes(body, KNOWN) },
    };
    if (updated.name !== domain.name && (await ctx.stores.resources.getDomainByName(updated.name))) {
      throw duplicateError('domain', updated.name);
    }
    await ctx.stores.resources.updateDomain(updated);
    if (domain.enabled && !updated.enabled) await ctx.revocations.revoke({ domainId: domain.id });
    ctx.changed();
    return { domain: renderDomain(updated, ctx.baseUrl) };
  });

  app.delete<{ Params: { id: string } }>('/v3/domains/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_domain');
    const domain = await load(request.params.id);
    if (domain.enabled) {
      throw new ApiError(403, 'Cannot delete a domain that is enabled, please disable it first.');
    }
    const stores = ctx.stores;
    for (const project of await stores.resources.listProjects({ domainId: domain.id })) {
      await stores.assignments.removeAllFor(project.id);
      await stores.resources.deleteProject(project.id);
    }
    for (const user of await stores.users.listUsers({ domainId: domain.id })) {
      await stores.assignments.removeAllFor(user.id);
      await stores.userCredentials.deleteForUser(user.id);
      await stores.users.deleteUser(user.id);
    }
    for (const group of await stores.users.listGroups({ domainId: domain.id })) {
      await stores.assignments.removeAllFor(group.id);
      await stores.users.deleteGroup(group.id);
    }
    for (const role of await stores.assignments.listRoles({ domainId: domain.id })) {
      await stores.assignments.deleteRole(role.id);
    }
    await stores.assignments.removeAllFor(domain.id);
    await stores.domainConfigs.delete(domain.id);
    await stores.resources.deleteDomain(domain.id);
    await ctx.revocations.revoke({ domainId: domain.id });
    ctx.changed();
    reply.code(204).send();
  });
}
