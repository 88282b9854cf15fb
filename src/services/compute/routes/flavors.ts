import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authorize, badRequest, callerFrom, type ComputeContext } from '../context.js';
import { parseNewFlavor } from '../flavor-body.js';
import {
  addTenantAccess,
  createExtraSpecs,
  deleteExtraSpec,
  listExtraSpecs,
  listFlavorAccess,
  removeTenantAccess,
  showExtraSpec,
  updateExtraSpec,
} from '../flavor-extras.js';
import { listFlavors } from '../flavor-list.js';
import { createFlavor, deleteFlavor, renderFlavor, renderFlavorBrief, visibleFlavorRow } from '../flavors.js';
import { createExtraSpecs as createSpecsBody, createFlavor as createFlavorBody, flavorAction, listFlavorsQuery, updateExtraSpec as updateSpecBody } from '../schemas/flavors.js';
import type { FlavorBody } from '../flavor-body.js';
import type { SpecValues } from '../flavor-extras.js';

type IdParams = { id: string };
type KeyParams = { id: string; key: string };

/** /flavors: the flavors themselves, their extra specs and their access lists. */
export function flavorRoutes(app: FastifyInstance, ctx: ComputeContext, baseUrl: () => string): void {
  const list = (detail: boolean) => async (request: FastifyRequest) => {
    const page = await listFlavors(ctx, callerFrom(request), request.query);
    const flavors = page.rows.map((row) => (detail ? renderFlavor(row, baseUrl()) : renderFlavorBrief(row, baseUrl())));
    const path = detail ? 'flavors/detail' : 'flavors';
    return page.next ? { flavors, flavors_links: [{ href: `${baseUrl()}/${path}?${page.next}`, rel: 'next' }] } : { flavors };
  };
  app.get('/flavors', { schema: { querystring: listFlavorsQuery } }, list(false));
  app.get('/flavors/detail', { schema: { querystring: listFlavorsQuery } }, list(true));

  app.get<{ Params: IdParams }>('/flavors/:id', async (request) => {
    const row = await visibleFlavorRow(ctx, callerFrom(request), request.params.id);
    return { flavor: renderFlavor(row, baseUrl()) };
  });

  app.post<{ Body: FlavorBody }>('/flavors', { schema: { body: createFlavorBody } }, async (request) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-flavor-manage:create');
    const row = await createFlavor(ctx, parseNewFlavor(request.body));
    return { flavor: renderFlavor(row, baseUrl()) };
  });

  app.delete<{ Params: IdParams }>('/flavors/:id', async (request, reply) => {
    authorize(ctx, callerFrom(request), 'os_compute_api:os-flavor-manage:delete');
    await deleteFlavor(ctx, request.params.id);
    return reply.code(202).send();
  });

  app.get<{ Params: IdParams }>('/flavors/:id/os-extra_specs', async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'os_compute_api:os-flavor-extra-specs:index');
    return { extra_specs: await listExtraSpecs(ctx, caller, request.params.id) };
  });
  app.post<{ Params: IdParams; Body: { extra_specs: SpecValues } }>('/flavors/:id/os-extra_specs', { schema: { body: createSpecsBody } }, async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'os_compute_api:os-flavor-extra-specs:create');
    return { extra_specs: await createExtraSpecs(ctx, caller, request.params.id, request.body) };
  });
  app.get<{ Params: KeyParams }>('/flavors/:id/os-extra_specs/:key', async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'os_compute_api:os-flavor-extra-specs:show');
    return showExtraSpec(ctx, caller, request.params.id, request.params.key);
  });
  app.put<{ Params: KeyParams; Body: SpecValues }>('/flavors/:id/os-extra_specs/:key', { schema: { body: updateSpecBody } }, async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'os_compute_api:os-flavor-extra-specs:update');
    return updateExtraSpec(ctx, caller, request.params.id, request.params.key, request.body);
  });
  app.delete<{ Params: KeyParams }>('/flavors/:id/os-extra_specs/:key', async (request, reply) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'os_compute_api:os-flavor-extra-specs:delete');
    await deleteExtraSpec(ctx, caller, request.params.id, request.params.key);
    return reply.code(200).send();
  });

  app.get<{ Params: IdParams }>('/flavors/:id/os-flavor-access', async (request) => {
    const caller = callerFrom(request);
    authorize(ctx, caller, 'os_compute_api:os-flavor-access');
    return { flavor_access: await listFlavorAccess(ctx, caller, request.params.id) };
  });

  type AccessAction = { addTenantAccess?: { tenant: string }; removeTenantAccess?: { tenant: string } };
  app.post<{ Params: IdParams; Body: AccessAction }>('/flavors/:id/action', { schema: { body: flavorAction } }, async (request) => {
    const caller = callerFrom(request);
    // The schema checked each action's member; exactly one must be named, as Nova dispatches.
    const keys = Object.keys(request.body);
    if (keys.length !== 1) throw badRequest('Malformed request body: too many body keys');
    const { addTenantAccess: add, removeTenantAccess: remove } = request.body;
    if (add) {
      authorize(ctx, caller, 'os_compute_api:os-flavor-access:add_tenant_access');
      const publicRefused = request.computeVersion.atLeast('2.7');
      return { flavor_access: await addTenantAccess(ctx, caller, request.params.id, add.tenant, publicRefused) };
    }
    if (remove) {
      authorize(ctx, caller, 'os_compute_api:os-flavor-access:remove_tenant_access');
      return { flavor_access: await removeTenantAccess(ctx, caller, request.params.id, remove.tenant) };
    }
    throw badRequest(`There is no such action: ${keys[0]}`);
  });
}
