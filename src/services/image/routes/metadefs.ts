import type { FastifyInstance, FastifyRequest } from 'fastify';
import { notFound } from '../../../core/http/errors.js';
import { callerFrom, type ImageContext } from '../context.js';
import { metadefSchemas } from '../metadefs/schemas.js';
import * as metadefs from '../metadefs/service.js';

type Ns = { Params: { ns: string } };
type NsName = { Params: { ns: string; name: string } };

/** A single string query value (the first, when a client repeats one). */
function queryValue(request: FastifyRequest, key: string): string | undefined {
  const value = (request.query as Record<string, unknown>)[key];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : undefined;
}

/** Glance v2 metadata definitions under /v2/metadefs, and their schemas. */
export function metadefRoutes(app: FastifyInstance, ctx: ImageContext): void {
  const md: metadefs.MetadefContext = { metadefs: ctx.metadefs, enforcer: ctx.enforcer };
  const schemas = metadefSchemas();

  app.get<{ Params: { kind: string } }>('/v2/schemas/metadefs/:kind', async (request) => {
    const schema = Object.hasOwn(schemas, request.params.kind) ? schemas[request.params.kind] : undefined;
    if (!schema) throw notFound('The resource could not be found.');
    return schema();
  });

  app.get('/v2/metadefs/namespaces', async (request) => {
    const query: Record<string, string | undefined> = {};
    for (const key of ['limit', 'marker', 'sort_key', 'sort_dir', 'visibility', 'resource_types']) query[key] = queryValue(request, key);
    const page = await metadefs.listNamespaces(md, callerFrom(request), query);
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined && key !== 'marker') params.set(key, value);
    const first = params.size > 0 ? `/v2/metadefs/namespaces?${params.toString()}` : '/v2/metadefs/namespaces';
    const body: Record<string, unknown> = { namespaces: page.namespaces, first, schema: '/v2/schemas/metadefs/namespaces' };
    if (page.next) {
      params.set('marker', page.next);
      body.next = `/v2/metadefs/namespaces?${params.toString()}`;
    }
    return body;
  });
  app.post('/v2/metadefs/namespaces', async (request, reply) => {
    const created = await metadefs.createNamespace(md, callerFrom(request), request.body);
    reply.code(201).header('location', String(created.self));
    return created;
  });
  app.get<Ns>('/v2/metadefs/namespaces/:ns', async (request) =>
    metadefs.showNamespace(md, callerFrom(request), request.params.ns, queryValue(request, 'resource_type')),
  );
  app.put<Ns>('/v2/metadefs/namespaces/:ns', async (request) => metadefs.updateNamespace(md, callerFrom(request), request.params.ns, request.body));
  app.delete<Ns>('/v2/metadefs/namespaces/:ns', async (request, reply) => {
    await metadefs.deleteNamespace(md, callerFrom(request), request.params.ns);
    reply.code(204).send();
  });

  // Objects
  app.get<Ns>('/v2/metadefs/namespaces/:ns/objects', async (request) => metadefs.listObjects(md, callerFrom(request), request.params.ns));
  app.post<Ns>('/v2/metadefs/namespaces/:ns/objects', async (request, reply) => {
    reply.code(201);
    return metadefs.createObject(md, callerFrom(request), request.params.ns, request.body);
  });
  app.delete<Ns>('/v2/metadefs/namespaces/:ns/objects', async (request, reply) => {
    await metadefs.deleteAllItems(md, callerFrom(request), request.params.ns, 'object');
    reply.code(204).send();
  });
  app.get<NsName>('/v2/metadefs/namespaces/:ns/objects/:name', async (request) =>
    metadefs.showObject(md, callerFrom(request), request.params.ns, request.params.name, queryValue(request, 'resource_type')),
  );
  app.put<NsName>('/v2/metadefs/namespaces/:ns/objects/:name', async (request) =>
    metadefs.updateObject(md, callerFrom(request), request.params.ns, request.params.name, request.body),
  );
  app.delete<NsName>('/v2/metadefs/namespaces/:ns/objects/:name', async (request, reply) => {
    await metadefs.deleteObject(md, callerFrom(request), request.params.ns, request.params.name);
    reply.code(204).send();
  });

  // Properties
  app.get<Ns>('/v2/metadefs/namespaces/:ns/properties', async (request) =>
    metadefs.listProperties(md, callerFrom(request), request.params.ns, queryValue(request, 'resource_type')),
  );
  app.post<Ns>('/v2/metadefs/namespaces/:ns/properties', async (request, reply) => {
    reply.code(201);
    return metadefs.createProperty(md, callerFrom(request), request.params.ns, request.body);
  });
  app.delete<Ns>('/v2/metadefs/namespaces/:ns/properties', async (request, reply) => {
    await metadefs.deleteAllItems(md, callerFrom(request), request.params.ns, 'property');
    reply.code(204).send();
  });
  app.get<NsName>('/v2/metadefs/namespaces/:ns/properties/:name', async (request) =>
    metadefs.showProperty(md, callerFrom(request), request.params.ns, request.params.name, queryValue(request, 'resource_type')),
  );
  app.put<NsName>('/v2/metadefs/namespaces/:ns/properties/:name', async (request) =>
    metadefs.updateProperty(md, callerFrom(request), request.params.ns, request.params.name, request.body),
  );
  app.delete<NsName>('/v2/metadefs/namespaces/:ns/properties/:name', async (request, reply) => {
    await metadefs.deleteProperty(md, callerFrom(request), request.params.ns, request.params.name);
    reply.code(204).send();
  });

  // Tags
  app.get<Ns>('/v2/metadefs/namespaces/:ns/tags', async (request) => metadefs.listTags(md, callerFrom(request), request.params.ns));
  app.post<Ns>('/v2/metadefs/namespaces/:ns/tags', async (request, reply) => {
    const append = String(request.headers['x-openstack-append'] ?? '').toLowerCase() === 'true';
    reply.code(201);
    return metadefs.createTags(md, callerFrom(request), request.params.ns, request.body, append);
  });
  app.delete<Ns>('/v2/metadefs/namespaces/:ns/tags', async (request, reply) => {
    await metadefs.deleteAllItems(md, callerFrom(request), request.params.ns, 'tag');
    reply.code(204).send();
  });
  app.get<NsName>('/v2/metadefs/namespaces/:ns/tags/:name', async (request) => metadefs.showTag(md, callerFrom(request), request.params.ns, request.params.name));
  app.post<NsName>('/v2/metadefs/namespaces/:ns/tags/:name', async (request, reply) => {
    reply.code(201);
    return metadefs.createTag(md, callerFrom(request), request.params.ns, request.params.name);
  });
  app.put<NsName>('/v2/metadefs/namespaces/:ns/tags/:name', async (request) =>
    metadefs.updateTag(md, callerFrom(request), request.params.ns, request.params.name, request.body),
  );
  app.delete<NsName>('/v2/metadefs/namespaces/:ns/tags/:name', async (request, reply) => {
    await metadefs.deleteTag(md, callerFrom(request), request.params.ns, request.params.name);
    reply.code(204).send();
  });

  // Resource types and their associations
  app.get('/v2/metadefs/resource_types', async (request) => metadefs.listResourceTypes(md, callerFrom(request)));
  app.get<Ns>('/v2/metadefs/namespaces/:ns/resource_types', async (request) => metadefs.listAssociations(md, callerFrom(request), request.params.ns));
  app.post<Ns>('/v2/metadefs/namespaces/:ns/resource_types', async (request, reply) => {
    reply.code(201);
    return metadefs.createAssociation(md, callerFrom(request), request.params.ns, request.body);
  });
  app.delete<NsName>('/v2/metadefs/namespaces/:ns/resource_types/:name', async (request, reply) => {
    await metadefs.deleteAssociation(md, callerFrom(request), request.params.ns, request.params.name);
    reply.code(204).send();
  });
}
