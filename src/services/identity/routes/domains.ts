import type { FastifyInstance } from 'fastify';
import { queryBool, queryString } from '../../../core/http/body.js';
import type { IdentityContext } from '../context.js';
import { applyInexactFilters } from '../list-filters.js';
import { createDomain, deleteDomain, listDomains, loadDomain, updateDomain } from '../domains.js';
import { collection, renderDomain } from '../render.js';
import { domainCreate, domainUpdate, type DomainBody } from '../schemas.js';
import { authorize, requestUrl } from './common.js';

type ById = { Params: { id: string } };

/** /v3/domains: HTTP shapes and policy; the rules are in ../domains.ts. */
export function domainRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  app.get('/v3/domains', async (request) => {
    authorize(ctx, request, 'identity:list_domains');
    const name = queryString(request.query, 'name');
    const enabled = queryBool(request.query, 'enabled');
    const domains = await listDomains(ctx, { ...(name !== undefined ? { name } : {}), ...(enabled !== undefined ? { enabled } : {}) });
    return collection('domains', applyInexactFilters(request.query, domains.map((d) => renderDomain(d, ctx.baseUrl))), requestUrl(ctx, request));
  });

  app.post<{ Body: { domain: DomainBody } }>('/v3/domains', { schema: { body: domainCreate } }, async (request, reply) => {
    authorize(ctx, request, 'identity:create_domain');
    const domain = await createDomain(ctx, request.body.domain);
    reply.code(201);
    return { domain: renderDomain(domain, ctx.baseUrl) };
  });

  app.get<ById>('/v3/domains/:id', async (request) => {
    const domain = await loadDomain(ctx, request.params.id);
    authorize(ctx, request, 'identity:get_domain', { target: { domain: { id: domain.id } } });
    return { domain: renderDomain(domain, ctx.baseUrl) };
  });

  app.patch<ById & { Body: { domain: DomainBody } }>('/v3/domains/:id', { schema: { body: domainUpdate } }, async (request) => {
    authorize(ctx, request, 'identity:update_domain');
    const domain = await loadDomain(ctx, request.params.id);
    return { domain: renderDomain(await updateDomain(ctx, domain, request.body.domain), ctx.baseUrl) };
  });

  app.delete<ById>('/v3/domains/:id', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_domain');
    await deleteDomain(ctx, await loadDomain(ctx, request.params.id));
    reply.code(204).send();
  });
}
