import type { FastifyInstance } from 'fastify';
import type { IdentityContext } from '../context.js';
import {
  defaultConfig,
  defaultGroup,
  defaultOption,
  deleteConfigGroup,
  deleteConfigOption,
  deleteDomainConfig,
  replaceDomainConfig,
  showConfigGroup,
  showConfigOption,
  showDomainConfig,
  updateConfigGroup,
  updateConfigOption,
  updateDomainConfig,
} from '../domain-configs.js';
import { authorize } from './common.js';

export function domainConfigRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  type DomainParams = { Params: { id: string } };
  type GroupParams = { Params: { id: string; group: string } };
  type OptionParams = { Params: { id: string; group: string; option: string } };

  // Keystone puts `default` last for a group or an option: /config/{group}[/{option}]/default.
  app.get('/v3/domains/config/default', async (request) => {
    authorize(ctx, request, 'identity:get_domain_config_default');
    return { config: defaultConfig() };
  });
  app.get<{ Params: { group: string } }>('/v3/domains/config/:group/default', async (request) => {
    authorize(ctx, request, 'identity:get_domain_config_default');
    return { config: defaultGroup(request.params.group) };
  });
  app.get<{ Params: { group: string; option: string } }>('/v3/domains/config/:group/:option/default', async (request) => {
    authorize(ctx, request, 'identity:get_domain_config_default');
    return { config: defaultOption(request.params.group, request.params.option) };
  });

  app.put<DomainParams>('/v3/domains/:id/config', async (request, reply) => {
    authorize(ctx, request, 'identity:create_domain_config');
    const { config, created } = await replaceDomainConfig(ctx, request.params.id, request.body);
    // Keystone: 201 when the domain had no configuration, 200 when this replaced one.
    reply.code(created ? 201 : 200);
    return { config };
  });
  app.get<DomainParams>('/v3/domains/:id/config', async (request) => {
    authorize(ctx, request, 'identity:get_domain_config');
    return { config: await showDomainConfig(ctx, request.params.id) };
  });
  app.patch<DomainParams>('/v3/domains/:id/config', async (request) => {
    authorize(ctx, request, 'identity:update_domain_config');
    return { config: await updateDomainConfig(ctx, request.params.id, request.body) };
  });
  app.delete<DomainParams>('/v3/domains/:id/config', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_domain_config');
    await deleteDomainConfig(ctx, request.params.id);
    reply.code(204).send();
  });

  app.get<GroupParams>('/v3/domains/:id/config/:group', async (request) => {
    authorize(ctx, request, 'identity:get_domain_config');
    return { config: await showConfigGroup(ctx, request.params.id, request.params.group) };
  });
  app.patch<GroupParams>('/v3/domains/:id/config/:group', async (request) => {
    authorize(ctx, request, 'identity:update_domain_config');
    return { config: await updateConfigGroup(ctx, request.params.id, request.params.group, request.body) };
  });
  app.delete<GroupParams>('/v3/domains/:id/config/:group', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_domain_config');
    await deleteConfigGroup(ctx, request.params.id, request.params.group);
    reply.code(204).send();
  });

  app.get<OptionParams>('/v3/domains/:id/config/:group/:option', async (request) => {
    authorize(ctx, request, 'identity:get_domain_config');
    const { id, group, option } = request.params;
    return { config: await showConfigOption(ctx, id, group, option) };
  });
  app.patch<OptionParams>('/v3/domains/:id/config/:group/:option', async (request) => {
    authorize(ctx, request, 'identity:update_domain_config');
    const { id, group, option } = request.params;
    return { config: await updateConfigOption(ctx, id, group, option, request.body) };
  });
  app.delete<OptionParams>('/v3/domains/:id/config/:group/:option', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_domain_config');
    const { id, group, option } = request.params;
    await deleteConfigOption(ctx, id, group, option);
    reply.code(204).send();
  });
}
