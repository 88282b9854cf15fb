import type { FastifyInstance } from 'fastify';
import type { IdentityContext } from '../context.js';
import { ec2TokenAuthenticate, s3TokenAuthenticate } from '../ec2-tokens.js';
import { renderTokenBody } from '../render.js';

/** /v3/ec2tokens and /v3/s3tokens: public, as the signature is the proof; the rules are in ../ec2-tokens.ts. */
export function ec2TokenRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  app.post('/v3/ec2tokens', { config: { public: true } }, async (request, reply) => {
    const token = await ec2TokenAuthenticate(ctx, request.body);
    reply.header('x-subject-token', token.token);
    return renderTokenBody(token, await ctx.directory.catalog());
  });

  app.post('/v3/s3tokens', { config: { public: true } }, async (request, reply) => {
    const token = await s3TokenAuthenticate(ctx, request.body);
    reply.header('x-subject-token', token.token);
    return renderTokenBody(token, await ctx.directory.catalog());
  });
}
