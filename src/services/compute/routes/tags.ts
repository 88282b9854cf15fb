import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest, callerFrom, conflict, notFound, type Caller, type ComputeContext } from '../context.js';
import type { Instance } from '../instances/model.js';
import { visibleInstance } from '../servers/access.js';
import type { ServerServices } from '../servers/services.js';
import { MAX_TAGS, replaceTags } from '../schemas/server-resources.js';
import { bodyByVersion } from '../schemas/validation.js';

type IdParams = { id: string };
type TagParams = IdParams & { tag: string };

/** Tags change only on a settled instance, as Nova's tags API checks. */
const TAGGABLE = new Set(['active', 'paused', 'resized', 'stopped', 'suspended']);

/** A tag: 1-60 characters, no '/' (it is a URL segment) and no ',' (the list filters split on it). */
export function validTag(value: unknown): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 60 || /[/,]/.test(value)) {
    throw badRequest(`Invalid input for field/attribute tag. Value: ${String(value)}. Tags are 1-60 characters without '/' or ','.`);
  }
  return value;
}

/** Server tags, from microversion 2.26. */
export function tagRoutes(app: FastifyInstance, ctx: ComputeContext, svc: ServerServices): void {
  /** The instance, once Nova's os-server-tags rule for `action` allows it. */
  const load = async (request: FastifyRequest<{ Params: IdParams }>, caller: Caller, action: 'index' | 'show' | 'update' | 'update_all' | 'delete' | 'delete_all'): Promise<Instance> => {
    if (!request.computeVersion.atLeast('2.26')) throw notFound('The resource could not be found.');
    const writing = action !== 'index' && action !== 'show';
    const instance = await visibleInstance(ctx, svc.instances, caller, request.params.id, `os_compute_api:os-server-tags:${action}`);
    if (writing && (!TAGGABLE.has(instance.vmState) || instance.taskState !== null)) {
      throw conflict(`Cannot 'update tags' instance ${instance.id} while it is in vm_state ${instance.vmState}`);
    }
    return instance;
  };
  const save = (instance: Instance, tags: string[]) => {
    if (tags.length > MAX_TAGS) throw badRequest(`The number of tags exceeded the per-server limit ${MAX_TAGS}`);
    return svc.instances.update(instance.id, { tags: JSON.stringify(tags) });
  };

  app.get<{ Params: IdParams }>('/servers/:id/tags', async (request) => ({ tags: (await load(request, callerFrom(request), 'index')).tags }));

  app.put<{ Params: IdParams; Body: { tags: string[] } }>('/servers/:id/tags', bodyByVersion({ '2.26': replaceTags }), async (request) => {
    const instance = await load(request, callerFrom(request), 'update_all');
    const tags = [...new Set(request.body.tags)];
    await save(instance, tags);
    return { tags };
  });

  app.delete<{ Params: IdParams }>('/servers/:id/tags', async (request, reply) => {
    const instance = await load(request, callerFrom(request), 'delete_all');
    await save(instance, []);
    reply.code(204).send();
  });

  app.get<{ Params: TagParams }>('/servers/:id/tags/:tag', async (request, reply) => {
    const instance = await load(request, callerFrom(request), 'show');
    if (!instance.tags.includes(request.params.tag)) throw notFound(`Tag ${request.params.tag} could not be found.`);
    reply.code(204).send();
  });

  app.put<{ Params: TagParams }>('/servers/:id/tags/:tag', async (request, reply) => {
    const instance = await load(request, callerFrom(request), 'update');
    const tag = validTag(request.params.tag);
    const location = `${ctx.config.publicUrl}/compute/v2.1/servers/${instance.id}/tags/${encodeURIComponent(tag)}`;
    if (instance.tags.includes(tag)) {
      reply.code(204).header('location', location).send();
      return;
    }
    await save(instance, [...instance.tags, tag]);
    reply.code(201).header('location', location).send();
  });

  app.delete<{ Params: TagParams }>('/servers/:id/tags/:tag', async (request, reply) => {
    const instance = await load(request, callerFrom(request), 'delete');
    if (!instance.tags.includes(request.params.tag)) throw notFound(`Tag ${request.params.tag} could not be found.`);
    await save(instance, instance.tags.filter((t) => t !== request.params.tag));
    reply.code(204).send();
  });
}
