import type { FastifyInstance } from 'fastify';
import { isObject } from '../../../core/http/body.js';
import { ApiError, badRequest } from '../../../core/http/errors.js';
import type { IdentityContext } from '../context.js';
import type { DomainConfig } from '../store/domain-configs.js';
import { authorize, notFoundError } from './common.js';

/** keystone.conf's defaults for the options a domain may override (keystone/resource/config_backends). */
const DEFAULTS: DomainConfig = {
  identity: { driver: 'sql', list_limit: null },
  ldap: {
    url: 'ldap://localhost',
    user: null,
    suffix: 'cn=example,cn=com',
    query_scope: 'one',
    page_size: 0,
    alias_dereferencing: 'default',
    debug_level: null,
    chase_referrals: null,
    user_tree_dn: null,
    user_filter: null,
    user_objectclass: 'inetOrgPerson',
    user_id_attribute: 'cn',
    user_name_attribute: 'sn',
    user_description_attribute: 'description',
    user_mail_attribute: 'mail',
    user_pass_attribute: 'userPassword',
    user_enabled_attribute: 'enabled',
    user_enabled_invert: false,
    user_enabled_mask: 0,
    user_enabled_default: 'True',
    user_attribute_ignore: ['default_project_id'],
    user_default_project_id_attribute: null,
    user_enabled_emulation: false,
    user_enabled_emulation_dn: null,
    user_enabled_emulation_use_group_config: false,
    user_additional_attribute_mapping: [],
    group_tree_dn: null,
    group_filter: null,
    group_objectclass: 'groupOfNames',
    group_id_attribute: 'cn',
    group_name_attribute: 'ou',
    group_member_attribute: 'member',
    group_members_are_ids: false,
    group_desc_attribute: 'description',
    group_attribute_ignore: [],
    group_additional_attribute_mapping: [],
    tls_cacertfile: null,
    tls_cacertdir: null,
    use_tls: false,
    tls_req_cert: 'demand',
    use_pool: true,
    pool_size: 10,
    pool_retry_max: 3,
    pool_retry_delay: 0.1,
    pool_connection_timeout: -1,
    pool_connection_lifetime: 600,
    use_auth_pool: true,
    auth_pool_size: 100,
    auth_pool_connection_lifetime: 60,
  },
};
/** Accepted and stored, but as Keystone never shown back (the LDAP bind password). */
const SENSITIVE: Record<string, readonly string[]> = { identity: [], ldap: ['password'] };

// Keystone's InvalidDomainConfig is a 403, and clients are written against Keystone.
const invalid = (reason: string) => new ApiError(403, `Invalid domain specific configuration: ${reason}.`);

function assertGroup(group: string): void {
  if (!(group in DEFAULTS)) throw invalid(`group ${group} is not supported for domain specific configurations`);
}

function assertOption(group: string, option: string): void {
  assertGroup(group);
  if (!(option in (DEFAULTS[group] ?? {})) && !SENSITIVE[group]?.includes(option)) {
    throw invalid(`option ${option} in group ${group} is not supported for domain specific configurations`);
  }
}

/** Checks a whole `{group: {option: value}}` document (or, with `group`, one group of it). */
function validConfig(value: unknown, group?: string): DomainConfig {
  if (!isObject(value) || Object.keys(value).length === 0) throw invalid('no options specified');
  const config: DomainConfig = {};
  for (const [name, options] of Object.entries(value)) {
    assertGroup(name);
    if (group !== undefined && name !== group) throw invalid(`trying to update group ${group}, so only that group must be specified`);
    // A wrong type is malformed input (Keystone's schema answers 400); unknown names are InvalidDomainConfig (403).
    if (!isObject(options)) throw badRequest(`Invalid input for field 'config/${name}': expected an object of options.`);
    if (Object.keys(options).length === 0) throw invalid(`group ${name} must be an object of options`);
    for (const option of Object.keys(options)) assertOption(name, option);
    config[name] = { ...options };
  }
  return config;
}

/** What callers see: the sensitive options removed, and groups left empty by that dropped. */
function visible(config: DomainConfig): DomainConfig {
  const out: DomainConfig = {};
  for (const [group, options] of Object.entries(config)) {
    const shown = Object.fromEntries(Object.entries(options).filter(([o]) => !SENSITIVE[group]?.includes(o)));
    if (Object.keys(shown).length > 0) out[group] = shown;
  }
  return out;
}

function configBody(body: unknown): unknown {
  if (!isObject(body)) throw badRequest('The request body must be a JSON object.');
  if (body.config === undefined) throw badRequest("Invalid input for field 'config': it is required.");
  return body.config;
}

export function domainConfigRoutes(app: FastifyInstance, ctx: IdentityContext): void {
  const store = ctx.stores.domainConfigs;
  const loadDomain = async (id: string): Promise<void> => {
    if (!(await ctx.stores.resources.getDomain(id))) throw notFoundError('domain', id);
  };
  const missing = (what: string, domainId: string) =>
    new ApiError(404, `Could not find ${what} in domain configuration for domain ${domainId}.`);
  const load = async (domainId: string): Promise<DomainConfig> => {
    await loadDomain(domainId);
    const config = await store.get(domainId);
    if (!config || Object.keys(config).length === 0) throw missing('any', domainId);
    return config;
  };
  const loadGroup = async (domainId: string, group: string): Promise<DomainConfig> => {
    assertGroup(group);
    const config = await load(domainId);
    if (!config[group]) throw missing(group, domainId);
    return config;
  };
  const loadOption = async (domainId: string, group: string, option: string): Promise<DomainConfig> => {
    assertOption(group, option);
    const config = await loadGroup(domainId, group);
    // A sensitive option is never shown, so to a reader it is simply not there.
    if (!(option in (config[group] ?? {})) || SENSITIVE[group]?.includes(option)) throw missing(option, domainId);
    return config;
  };
  type DomainParams = { Params: { id: string } };
  type GroupParams = { Params: { id: string; group: string } };
  type OptionParams = { Params: { id: string; group: string; option: string } };

  // Keystone puts `default` last for a group or an option: /config/{group}[/{option}]/default.
  app.get('/v3/domains/config/default', async (request) => {
    authorize(ctx, request, 'identity:get_domain_config_default');
    return { config: DEFAULTS };
  });
  app.get<{ Params: { group: string } }>('/v3/domains/config/:group/default', async (request) => {
    authorize(ctx, request, 'identity:get_domain_config_default');
    const { group } = request.params;
    assertGroup(group);
    return { config: { [group]: DEFAULTS[group] } };
  });
  app.get<{ Params: { group: string; option: string } }>('/v3/domains/config/:group/:option/default', async (request) => {
    authorize(ctx, request, 'identity:get_domain_config_default');
    const { group, option } = request.params;
    assertOption(group, option);
    if (SENSITIVE[group]?.includes(option)) throw invalid(`option ${option} in group ${group} has no default to show`);
    return { config: { [option]: DEFAULTS[group]?.[option] ?? null } };
  });

  app.put<DomainParams>('/v3/domains/:id/config', async (request, reply) => {
    authorize(ctx, request, 'identity:create_domain_config');
    const config = validConfig(configBody(request.body));
    await loadDomain(request.params.id);
    const existed = (await store.get(request.params.id)) !== undefined;
    await store.put(request.params.id, config);
    ctx.changed();
    // Keystone: 201 when the domain had no configuration, 200 when this replaced one.
    reply.code(existed ? 200 : 201);
    return { config: visible(config) };
  });
  app.get<DomainParams>('/v3/domains/:id/config', async (request) => {
    authorize(ctx, request, 'identity:get_domain_config');
    return { config: visible(await load(request.params.id)) };
  });
  app.patch<DomainParams>('/v3/domains/:id/config', async (request) => {
    authorize(ctx, request, 'identity:update_domain_config');
    const changes = validConfig(configBody(request.body));
    const config = await load(request.params.id);
    for (const [group, options] of Object.entries(changes)) config[group] = { ...config[group], ...options };
    await store.put(request.params.id, config);
    ctx.changed();
    return { config: visible(config) };
  });
  app.delete<DomainParams>('/v3/domains/:id/config', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_domain_config');
    await load(request.params.id);
    await store.delete(request.params.id);
    ctx.changed();
    reply.code(204).send();
  });

  app.get<GroupParams>('/v3/domains/:id/config/:group', async (request) => {
    authorize(ctx, request, 'identity:get_domain_config');
    const { id, group } = request.params;
    const shown = visible(await loadGroup(id, group))[group];
    if (!shown) throw missing(group, id);
    return { config: { [group]: shown } };
  });
  app.patch<GroupParams>('/v3/domains/:id/config/:group', async (request) => {
    authorize(ctx, request, 'identity:update_domain_config');
    const { id, group } = request.params;
    assertGroup(group);
    const changes = validConfig(configBody(request.body), group);
    const config = await loadGroup(id, group);
    config[group] = { ...config[group], ...changes[group] };
    await store.put(id, config);
    ctx.changed();
    return { config: visible(config) };
  });
  app.delete<GroupParams>('/v3/domains/:id/config/:group', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_domain_config');
    const { id, group } = request.params;
    const config = await loadGroup(id, group);
    delete config[group];
    await store.put(id, config);
    ctx.changed();
    reply.code(204).send();
  });

  app.get<OptionParams>('/v3/domains/:id/config/:group/:option', async (request) => {
    authorize(ctx, request, 'identity:get_domain_config');
    const { id, group, option } = request.params;
    const config = await loadOption(id, group, option);
    return { config: { [option]: config[group]?.[option] } };
  });
  app.patch<OptionParams>('/v3/domains/:id/config/:group/:option', async (request) => {
    authorize(ctx, request, 'identity:update_domain_config');
    const { id, group, option } = request.params;
    assertOption(group, option);
    const changes = configBody(request.body);
    if (!isObject(changes) || Object.keys(changes).length !== 1 || !(option in changes)) {
      throw invalid(`trying to update option ${option} in group ${group}, so only that option must be specified`);
    }
    const config = await loadOption(id, group, option);
    config[group] = { ...config[group], [option]: changes[option] };
    await store.put(id, config);
    ctx.changed();
    return { config: visible(config) };
  });
  app.delete<OptionParams>('/v3/domains/:id/config/:group/:option', async (request, reply) => {
    authorize(ctx, request, 'identity:delete_domain_config');
    const { id, group, option } = request.params;
    const config = await loadOption(id, group, option);
    const { [option]: _removed, ...rest } = config[group] ?? {};
    // A group without options is no group: Keystone forgets it.
    if (Object.keys(rest).length === 0) delete config[group];
    else config[group] = rest;
    await store.put(id, config);
    ctx.changed();
    reply.code(204).send();
  });
}
