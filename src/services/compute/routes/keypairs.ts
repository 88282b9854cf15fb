import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authorize, badRequest, callerFrom, type ComputeContext } from '../context.js';
import {
  createKeypair,
  deleteKeypair,
  getKeypair,
  listKeypairs,
  parseKeypairRequest,
  type KeypairBody,
  renderKeypairCreated,
  renderKeypairDetail,
  renderKeypairSummary,
} from '../keypairs.js';
import { queryValue } from '../validate.js';
import { createKeypair as createKeypairBody, listKeypairsQuery } from '../schemas/keypairs.js';
import { bodyByVersion, queryByVersion } from '../schemas/validation.js';

type NameParams = { name: string };

/** /os-keypairs: from 2.2 they have a type, from 2.10 an admin may name another user. */
export function keypairRoutes(app: FastifyInstance, ctx: ComputeContext): void {
  /** The user whose key pairs the request is about, once the caller is allowed to act for them. */
  const owner = (request: FastifyRequest, action: string, wanted?: string) => {
    const caller = callerFrom(request);
    const fromQuery = request.computeVersion.atLeast('2.10') ? queryValue(request.query, 'user_id') : undefined;
    const userId = wanted ?? fromQuery ?? caller.userId;
    authorize(ctx, caller, `os_compute_api:os-keypairs:${action}`, { user_id: userId });
    return { caller, userId };
  };
  const typed = (request: FastifyRequest) => request.computeVersion.atLeast('2.2');

  app.get('/os-keypairs', queryByVersion({ '2.35': listKeypairsQuery }), async (request) => {
    const { userId } = owner(request, 'index');
    let rows = await listKeypairs(ctx, userId);
    // From 2.35 the list pages with limit and marker (a keypair name).
    let next: string | undefined;
    const limitRaw = queryValue(request.query, 'limit');
    const marker = queryValue(request.query, 'marker');
    if (request.computeVersion.atLeast('2.35')) {
      if (marker !== undefined) {
        const at = rows.findIndex((r) => r.name === marker);
        if (at < 0) throw badRequest(`Marker ${marker} could not be found.`);
        rows = rows.slice(at + 1);
      }
      if (limitRaw !== undefined) {
        // The route's query schema let through digits only.
        const limit = Number(limitRaw);
        if (rows.length > limit) {
          rows = rows.slice(0, limit);
          next = rows.at(-1)?.name;
        }
      }
    }
    return {
      keypairs: rows.map((row) => ({ keypair: renderKeypairSummary(row, typed(request)) })),
      ...(next !== undefined ? { keypairs_links: [{ rel: 'next', href: `${ctx.config.publicUrl}/compute/v2.1/os-keypairs?limit=${limitRaw}&marker=${encodeURIComponent(next)}` }] } : {}),
    };
  });

  app.get<{ Params: NameParams }>('/os-keypairs/:name', async (request) => {
    const { userId } = owner(request, 'show');
    return { keypair: renderKeypairDetail(await getKeypair(ctx, userId, request.params.name), typed(request)) };
  });

  app.post<{ Body: KeypairBody }>('/os-keypairs', bodyByVersion(createKeypairBody), async (request, reply) => {
    const parsed = parseKeypairRequest(request.body);
    const { caller, userId } = owner(request, 'create', parsed.userId);
    const created = await createKeypair(ctx, caller.projectId, userId, parsed);
    return reply.code(typed(request) ? 201 : 200).send({ keypair: renderKeypairCreated(created, typed(request)) });
  });

  app.delete<{ Params: NameParams }>('/os-keypairs/:name', async (request, reply) => {
    const { userId } = owner(request, 'delete');
    await deleteKeypair(ctx, userId, request.params.name);
    return reply.code(typed(request) ? 204 : 202).send();
  });
}
