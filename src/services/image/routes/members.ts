import type { FastifyInstance } from 'fastify';
import { callerFrom, type ImageContext } from '../context.js';
import { addMember, getMember, listMembers, removeMember, updateMember } from '../members.js';
import { renderMember } from '../render.js';

export function memberRoutes(app: FastifyInstance, ctx: ImageContext): void {
  app.get<{ Params: { id: string } }>('/v2/images/:id/members', async (request) => {
    const members = await listMembers(ctx, callerFrom(request), request.params.id);
    return { members: members.map(renderMember), schema: '/v2/schemas/members' };
  });
  app.post<{ Params: { id: string } }>('/v2/images/:id/members', async (request) => {
    return renderMember(await addMember(ctx, callerFrom(request), request.params.id, request.body));
  });
  app.get<{ Params: { id: string; member: string } }>('/v2/images/:id/members/:member', async (request) => {
    return renderMember(await getMember(ctx, callerFrom(request), request.params.id, request.params.member));
  });
  app.put<{ Params: { id: string; member: string } }>('/v2/images/:id/members/:member', async (request) => {
    return renderMember(await updateMember(ctx, callerFrom(request), request.params.id, request.params.member, request.body));
  });
  app.delete<{ Params: { id: string; member: string } }>('/v2/images/:id/members/:member', async (request, reply) => {
    await removeMember(ctx, callerFrom(request), request.params.id, request.params.member);
    reply.code(204).send();
  });
}
