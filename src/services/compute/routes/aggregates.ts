import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Aggregates, AZ_KEY, type Aggregate } from '../aggregates.js';
import { authorize, callerFrom, type ComputeContext } from '../context.js';
import { hostHasInstances, type ComputeHosts } from '../hosts.js';
import type { Microversion } from '../microversion.js';
import { novaIsoTime } from '../nova-time.js';
import { invalidInput, member, name, noExtraKeys, pyRepr, string, type Body } from '../validate.js';

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

/** Nova's availability_zone in aggregate bodies: a 1-255 character string, or null. */
function zone(value: unknown, path: string): string | null {
  if (value === null) return null;
  return string(value, path, 1, 255);
}

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

  app.post('/os-aggregates', async (request) => {
    allow(request, 'create');
    const body = member(request.body, 'aggregate');
    noExtraKeys(body, 'aggregate', ['name', 'availability_zone']);
    if (!('name' in body)) throw invalidInput('aggregate', body, "'name' is a required property");
    const created = await aggregates.create(name(body.name), body.availability_zone === undefined ? null : zone(body.availability_zone, 'availability_zone'));
    // Nova's create answers without hosts and metadata.
    return { aggregate: renderAggregate(created, request.computeVersion, false) };
  });

  app.get<{ Params: { id: string } }>('/os-aggregates/:id', async (request) => {
    allow(request, 'show');
    return { aggregate: renderAggregate(await aggregates.get(request.params.id), request.computeVersion) };
  });

  app.put<{ Params: { id: string } }>('/os-aggregates/:id', async (request) => {
    allow(request, 'update');
    const body = member(request.body, 'aggregate');
    noExtraKeys(body, 'aggregate', ['name', 'availability_zone']);
    if (Object.keys(body).length === 0) throw invalidInput('aggregate', body, '{} does not have enough properties');
    const current = await aggregates.get(request.params.id);
    const changes = {
      ...(body.name !== undefined ? { name: name(body.name) } : {}),
      ...(body.availability_zone !== undefined ? { availabilityZone: zone(body.availability_zone, 'availability_zone') } : {}),
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

  app.post<{ Params: { id: string } }>('/os-aggregates/:id/action', async (request) => {
    const body = (request.body ?? {}) as Body;
    const keys = Object.keys(body);
    const action = keys[0];
    if (keys.length !== 1 || (action !== 'add_host' && action !== 'remove_host' && action !== 'set_metadata')) {
      throw invalidInput('action', body, `Only one of add_host, remove_host and set_metadata is allowed: ${pyRepr(keys)}`);
    }
    allow(request, action);
    const args = member(body, action);
    const version = request.computeVersion;
    if (action === 'set_metadata') {
      noExtraKeys(args, 'set_metadata', ['metadata']);
      const metadata = member(args, 'metadata');
      const changes: Record<string, string | null> = {};
      for (const [key, value] of Object.entries(metadata)) {
        string(key, 'metadata', 1, 255);
        changes[key] = value === null ? null : key === AZ_KEY ? zone(value, `metadata/${key}`) : string(value, `metadata/${key}`, 0, 255);
      }
      const current = await aggregates.get(request.params.id);
      return { aggregate: renderAggregate(await aggregates.setMetadata(request.params.id, changes, 'set_metadata', await withInstances(current)), version) };
    }
    noExtraKeys(args, action, ['host']);
    if (!('host' in args)) throw invalidInput(action, args, "'host' is a required property");
    const host = string(args.host, 'host', 1, 255);
    if (action === 'add_host') {
      const known = (await hosts.get(host)) !== undefined;
      return { aggregate: renderAggregate(await aggregates.addHost(request.params.id, host, known, known && (await hasInstances(host))), version) };
    }
    return { aggregate: renderAggregate(await aggregates.removeHost(request.params.id, host, await hasInstances(host)), version) };
  });
}
