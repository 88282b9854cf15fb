import type { FastifyInstance } from 'fastify';
import type { Json } from '../../../core/http/body.js';
import { resourceRoute } from '../attributes/schemas.js';
import type { ResourceAttributes } from '../attributes/resources.js';
import { callerFrom, NeutronError, type Caller } from '../context.js';
import { listQuery, selectFields } from '../query.js';

/** One Neutron resource collection: its attributes and what each verb does, in rendered form. */
export interface ResourceHandlers {
  /** What a request body may hold, and the body keys (`network`, `networks`). */
  attributes: ResourceAttributes;
  /** The URL segment when it is not the collection: Neutron serves `security_groups` at `/v2.0/security-groups`. */
  path?: string;
  list(caller: Caller): Promise<Json[]>;
  show(caller: Caller, id: string): Promise<Json>;
  create?(caller: Caller, body: Json): Promise<Json>;
  update?(caller: Caller, id: string, body: Json): Promise<Json>;
  remove?(caller: Caller, id: string): Promise<void>;
}

/** What the create schema lets through: one resource, or a bulk create's list of them. */
type CreateBody = Partial<Record<string, Json | Json[]>>;

/**
 * Registers the five routes of a Neutron collection with the shared list contract, body
 * schemas derived from its attributes, and bulk create (`{"networks": [...]}`), so every
 * resource behaves the same at the edges.
 */
export function resourceRoutes(app: FastifyInstance, baseUrl: () => string, h: ResourceHandlers): void {
  const { member, collection } = h.attributes;
  const path = `/v2.0/${h.path ?? collection}`;
  app.get(path, async (request) => {
    const { items, links } = await listQuery(await h.list(callerFrom(request)), request.query, `${baseUrl()}${path}`);
    return { [collection]: items, ...(links.length > 0 ? { [`${collection}_links`]: links } : {}) };
  });
  app.get<{ Params: { id: string } }>(`${path}/:id`, async (request) => {
    return { [member]: selectFields(await h.show(callerFrom(request), request.params.id), request.query) };
  });
  if (h.create) {
    const create = h.create;
    app.post<{ Body: CreateBody }>(path, resourceRoute(h.attributes, 'create'), async (request, reply) => {
      const caller = callerFrom(request);
      const items = request.body[collection];
      reply.code(201);
      if (Array.isArray(items)) {
        const created: Json[] = [];
        try {
          for (const item of items) created.push(await create(caller, item));
        } catch (error) {
          // Neutron's (emulated) bulk create is all or nothing: undo what this request made.
          if (h.remove) for (const item of created.reverse()) await h.remove(caller, String(item.id)).catch(() => undefined);
          throw error;
        }
        return { [collection]: created };
      }
      return { [member]: await create(caller, request.body[member] as Json) };
    });
  }
  if (h.update) {
    const update = h.update;
    app.put<{ Params: { id: string }; Body: Record<string, Json> }>(`${path}/:id`, resourceRoute(h.attributes, 'update'), async (request) => {
      return { [member]: await update(callerFrom(request), request.params.id, request.body[member] as Json) };
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
