import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Aggregates, AZ_KEY, type Aggregate } from '../aggregates.js';
import { authorize, badRequest, callerFrom, type ComputeContext } from '../context.js';
import { hostHasInstances, type ComputeHosts } from '../hosts.js';
import type { Microversion } from '../microversion.js';
import { novaIsoTime } from '../nova-time.js';
import { aggregateAction, createAggregate, updateAggregate } from '../schemas/aggregates.js';

/** Nova's aggregate view; the uuid from 2.41. */
function renderAggregate(aggregate: Aggregate, version: Microversion, withMembers = true): Record<string, unknown> {
  return {
    id: aggregate.id,
    ...(version.atLeast('2.41') ? { uuid: aggregate.uuid } : {}),
    name: aggregate.name,
    availability_zone: aggregate.availabilityZone,
    ...(withMembers ? { hosts: aggregate.hosts, metadata: aggregate.metadata } : {}),
    created_at: novaIsoTime(new Date(aggregate.createdAt)),
    updated_at: aggregate.updatedAt ? novaIsoTime(new Date(aggregate.updatedAt)) : null,
    deleted_at: null,
    deleted: false,
  };
}

type AggregateBody = { aggregate: { name?: string; availability_zone?: string | null } };
type AggregateAction = { add_host?: { host: string }; remove_host?: { host: string }; set_metadata?: { metadata: Record<string, string | null> } };

/** os-aggregates: admin-only host aggregates, their hosts and metadata (an `availability_zone` key zones the hosts). */
export function aggregateRoutes(app: FastifyInstance, ctx: ComputeContext, hosts: ComputeHosts): void {
  const aggregates = new Aggregates(ctx.db);
  const hasInstances = (host: string) => hostHasInstances(ctx, host);
  const withInstances = async (aggregate: Aggregate) => {
    const busy: string[] = [];
    for (const host of aggregate.hosts) if (await hasInstances(host)) busy.push(host);
    return busy;
  };
  const allow = (request: FastifyRequest, action: string) => authorize(ctx, callerFrom(request), `os_compute_api:os-aggregates:${action}`);

  app.get('/os-aggregates', async (request) => {
    allow(request, 'index');
    return { aggregates: (await aggregates.list()).map((a) => renderAggregate(a, request.computeVersion)) };
  });

  app.post<{ Body: AggregateBody }>('/os-aggregates', { schema: { body: createAggregate } }, async (request) => {
    allow(request, 'create');
    const body = request.body.aggregate;
    const created = await aggregates.create(body.name as string, body.availability_zone ?? null);
    // Nova's create answers without hosts and metadata.
    return { aggregate: renderAggregate(created, request.computeVersion, false) };
  });

  app.get<{ Params: { id: string } }>('/os-aggregates/:id', async (request) => {
    allow(request, 'show');
    return { aggregate: renderAggregate(await aggregates.get(request.params.id), request.computeVersion) };
  });

  app.put<{ Params: { id: string }; Body: AggregateBody }>('/os-aggregates/:id', { schema: { body: updateAggregate } }, async (request) => {
    allow(request, 'update');
    const body = request.body.aggregate;
    const current = await aggregates.get(request.params.id);
    const changes = {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.availability_zone !== undefined ? { availabilityZone: body.availability_zone } : {}),
    };
    const updated = await aggregates.update(request.params.id, changes, await withInstances(current));
    return { aggregate: renderAggregate(updated, request.computeVersion) };
  });

  app.delete<{ Params: { id: string } }>('/os-aggregates/:id', async (request, reply) => {
    allow(request, 'delete');
    await aggregates.delete(request.params.id);
    // Nova answers 200 with no body.
    reply.code(200).send();
  });

  app.post<{ Params: { id: string }; Body: AggregateAction }>('/os-aggregates/:id/action', { schema: { body: aggregateAction } }, async (request) => {
    // The schema checked each action's member; exactly one must be named, as Nova dispatches.
    const keys = Object.keys(request.body);
    const action = keys[0];
    if (keys.length !== 1 || (action !== 'add_host' && action !== 'remove_host' && action !== 'set_metadata')) {
      throw badRequest(`There is no such action: ${keys.join(', ')}`);
    }
    allow(request, action);
    const version = request.computeVersion;
    if (action === 'set_metadata') {
      const changes = (request.body.set_metadata as { metadata: Record<string, string | null> }).metadata;
      // An empty zone name would zone the hosts into nothing.
      if (changes[AZ_KEY] === '') throw badRequest(`Invalid input for field/attribute ${AZ_KEY}. Value: . '' should be non-empty`);
      const current = await aggregates.get(request.params.id);
      return { aggregate: renderAggregate(await aggregates.setMetadata(request.params.id, changes, 'set_metadata', await withInstances(current)), version) };
    }
    const host = (request.body[action] as { host: string }).host;
    if (action === 'add_host') {
      const known = (await hosts.get(host)) !== undefined;
      return { aggregate: renderAggregate(await aggregates.addHost(request.params.id, host, known, known && (await hasInstances(host))), version) };
    }
    return { aggregate: renderAggregate(await aggregates.removeHost(request.params.id, host, await hasInstances(host)), version) };
  });
}
