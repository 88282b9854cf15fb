import { isObject } from '../../core/http/body.js';
import { ApiError, badRequest } from '../../core/http/errors.js';
import type { IdentityContext } from './context.js';
import { notFoundError } from './errors.js';
import type { DomainConfig } from './store/domain-configs.js';

/** Domain-specific configuration (Keystone's domain config API): its options, their defaults and its rules. */

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

const missing = (what: string, domainId: string) => new ApiError(404, `Could not find ${what} in domain configuration for domain ${domainId}.`);

async function loadDomain(ctx: IdentityContext, id: string): Promise<void> {
  if (!(await ctx.stores.resources.getDomain(id))) throw notFoundError('domain', id);
}

async function load(ctx: IdentityContext, domainId: string): Promise<DomainConfig> {
  await loadDomain(ctx, domainId);
  const config = await ctx.stores.domainConfigs.get(domainId);
  if (!config || Object.keys(config).length === 0) throw missing('any', domainId);
  return config;
}

async function loadGroup(ctx: IdentityContext, domainId: string, group: string): Promise<DomainConfig> {
  assertGroup(group);
  const config = await load(ctx, domainId);
  if (!config[group]) throw missing(group, domainId);
  return config;
}

async function loadOption(ctx: IdentityContext, domainId: string, group: string, option: string): Promise<DomainConfig> {
  assertOption(group, option);
  const config = await loadGroup(ctx, domainId, group);
  // A sensitive option is never shown, so to a reader it is simply not there.
  if (!(option in (config[group] ?? {})) || SENSITIVE[group]?.includes(option)) throw missing(option, domainId);
  return config;
}

async function save(ctx: IdentityContext, domainId: string, config: DomainConfig): Promise<void> {
  await ctx.stores.domainConfigs.put(domainId, config);
  ctx.changed();
}

/** Every option's default. */
export function defaultConfig(): DomainConfig {
  return DEFAULTS;
}

/** One group's defaults. */
export function defaultGroup(group: string): DomainConfig {
  assertGroup(group);
  return { [group]: DEFAULTS[group] } as DomainConfig;
}

/** One option's default; a sensitive option has none to show. */
export function defaultOption(group: string, option: string): Record<string, unknown> {
  assertOption(group, option);
  if (SENSITIVE[group]?.includes(option)) throw invalid(`option ${option} in group ${group} has no default to show`);
  return { [option]: DEFAULTS[group]?.[option] ?? null };
}

/** PUT: the domain's whole configuration replaced; `created` when it had none. */
export async function replaceDomainConfig(ctx: IdentityContext, domainId: string, body: unknown): Promise<{ config: DomainConfig; created: boolean }> {
  const config = validConfig(configBody(body));
  await loadDomain(ctx, domainId);
  const existed = (await ctx.stores.domainConfigs.get(domainId)) !== undefined;
  await save(ctx, domainId, config);
  return { config: visible(config), created: !existed };
}

export async function showDomainConfig(ctx: IdentityContext, domainId: string): Promise<DomainConfig> {
  return visible(await load(ctx, domainId));
}

/** PATCH: the named groups' options merged into the stored ones. */
export async function updateDomainConfig(ctx: IdentityContext, domainId: string, body: unknown): Promise<DomainConfig> {
  const changes = validConfig(configBody(body));
  const config = await load(ctx, domainId);
  for (const [group, options] of Object.entries(changes)) config[group] = { ...config[group], ...options };
  await save(ctx, domainId, config);
  return visible(config);
}

export async function deleteDomainConfig(ctx: IdentityContext, domainId: string): Promise<void> {
  await load(ctx, domainId);
  await ctx.stores.domainConfigs.delete(domainId);
  ctx.changed();
}

export async function showConfigGroup(ctx: IdentityContext, domainId: string, group: string): Promise<DomainConfig> {
  const shown = visible(await loadGroup(ctx, domainId, group))[group];
  if (!shown) throw missing(group, domainId);
  return { [group]: shown };
}

export async function updateConfigGroup(ctx: IdentityContext, domainId: string, group: string, body: unknown): Promise<DomainConfig> {
  assertGroup(group);
  const changes = validConfig(configBody(body), group);
  const config = await loadGroup(ctx, domainId, group);
  config[group] = { ...config[group], ...changes[group] };
  await save(ctx, domainId, config);
  return visible(config);
}

export async function deleteConfigGroup(ctx: IdentityContext, domainId: string, group: string): Promise<void> {
  const config = await loadGroup(ctx, domainId, group);
  delete config[group];
  await save(ctx, domainId, config);
}

export async function showConfigOption(ctx: IdentityContext, domainId: string, group: string, option: string): Promise<Record<string, unknown>> {
  const config = await loadOption(ctx, domainId, group, option);
  return { [option]: config[group]?.[option] };
}

export async function updateConfigOption(ctx: IdentityContext, domainId: string, group: string, option: string, body: unknown): Promise<DomainConfig> {
  assertOption(group, option);
  const changes = configBody(body);
  if (!isObject(changes) || Object.keys(changes).length !== 1 || !(option in changes)) {
    throw invalid(`trying to update option ${option} in group ${group}, so only that option must be specified`);
  }
  const config = await loadOption(ctx, domainId, group, option);
  config[group] = { ...config[group], [option]: changes[option] };
  await save(ctx, domainId, config);
  return visible(config);
}

export async function deleteConfigOption(ctx: IdentityContext, domainId: string, group: string, option: string): Promise<void> {
  const config = await loadOption(ctx, domainId, group, option);
  const { [option]: _removed, ...rest } = config[group] ?? {};
  // A group without options is no group: Keystone forgets it.
  if (Object.keys(rest).length === 0) delete config[group];
  else config[group] = rest;
  await save(ctx, domainId, config);
}
