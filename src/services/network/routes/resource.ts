import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isObject, type Json } from '../../../core/http/body.js';
import { callerFrom, NeutronError, type Caller } from '../context.js';
import { resourceBody } from '../common.js';
import { listQuery, selectFields } from '../query.js';

/** One Neutron resource collection: what each verb does, in rendered form. */
export interface ResourceHandlers {
  /** e.g. `networks`: the key in bodies */
  collection: string;
  /** e.g. `network` */
  member: string;
  /** The URL segment when it is not `collection`: Neutron serves `security_groups` at `/v2.0/security-groups`. */
  path?: string;
  list(caller: Caller): Promise<Json[]>;
  show(caller: Caller, id: string): Promise<Json>;
  create?(caller: Caller, body: Json): Promise<Json>;
  update?(caller: Caller, id: string, body: Json): Promise<Json>;
  remove?(caller: Caller, id: string): Promise<void>;
}

/**
 * Registers the five routes of a Neutron collection with the shared list contract and
 * bulk create (`{"networks": [...]}`), so every resource behaves the same at the edges.
 */
export function resourceRoutes(app: FastifyInstance, baseUrl: () => string, h: ResourceHandlers): void {
  const path = `/v2.0/${h.path ?? h.collection}`;
  app.get(path, async (request) => {
    const { items, links } = await listQuery(await h.list(callerFrom(request)), request.query, `${baseUrl()}${path}`);
    return { [h.collection]: items, ...(links.length > 0 ? { [`${h.collection}_links`]: links } : {}) };
  });
  app.get<{ Params: { id: string } }>(`${path}/:id`, async (request) => {
    return { [h.member]: selectFields(await h.show(callerFrom(request), request.params.id), request.query) };
  });
  if (h.create) {
    const create = h.create;
    app.post(path, async (request: FastifyRequest, reply) => {
      const caller = callerFrom(request);
      const body = request.body;
      reply.code(201);
      if (isObject(body) && Array.isArray(body[h.collection])) {
        const items = body[h.collection] as unknown[];
        if (items.length === 0) throw new NeutronError(400, 'BadRequest', 'Resources required');
        const created: Json[] = [];
        try {
          for (const item of items) created.push(await create(caller, resourceBody({ [h.member]: item }, h.member)));
        } catch (error) {
          // Neutron's (emulated) bulk create is all or nothing: undo what this request made.
          if (h.remove) for (const item of created.reverse()) await h.remove(caller, String(item.id)).catch(() => undefined);
          throw error;
        }
        return { [h.collection]: created };
      }
      return { [h.member]: await create(caller, resourceBody(body, h.member)) };
    });
  }
  if (h.update) {
    const update = h.update;
    app.put<{ Params: { id: string } }>(`${path}/:id`, async (request) => {
      return { [h.member]: await update(callerFrom(request), request.params.id, resourceBody(request.body, h.member)) };
    });
  }
  if (h.remove) {
    const remove = h.remove;
    app.delete<{ Params: { id: string } }>(`${path}/:id`, async (request, reply) => {
      await remove(callerFrom(request), request.params.id);
      reply.code(204).send();
    });
  }
}

export function methodNotAllowed(): NeutronError {
  return new NeutronError(405, 'HTTPMethodNotAllowed', 'The method is not allowed for this resource.');
}
