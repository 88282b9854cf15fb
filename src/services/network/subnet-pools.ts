import type { Json } from '../../core/http/body.js';
import { authorize, authorizeAttributes, NeutronError, notFound, type Caller, type NetworkContext } from './context.js';
import { bool, int, invalidInput, newResource, now, str, uuidOf } from './common.js';
import { standardRow, visibleAddressScope } from './address-scopes.js';
import { fromBig, parseCidr, type ParsedCidr } from './ipam.js';
import { requestedProject } from './routers.js';
import type { SubnetPoolRow } from './tables.js';
import { checkQuota } from './quotas.js';

/**
 * Neutron's subnet pools (subnet_allocation): prefixes a project's subnets are carved from
 * by size (`prefixlen`) instead of by CIDR; one pool per IP version may be the default
 * (`use_default_subnetpool`); `default_quota` caps the addresses one project takes from it.
 */

const parsePrefixes = (row: SubnetPoolRow): string[] => {
  try {
    const value: unknown = JSON.parse(row.prefixes);
    return Array.isArray(value) ? (value as string[]) : [];
  } catch {
    return [];
  }
};

export function renderSubnetPool(row: SubnetPoolRow, tags: string[] = []): Json {
  return {
    id: row.id,
    name: row.name,
    project_id: row.project_id,
    tenant_id: row.project_id,
    description: row.description,
    ip_version: row.ip_version,
    prefixes: parsePrefixes(row),
    default_prefixlen: row.default_prefixlen,
    min_prefixlen: row.min_prefixlen,
    max_prefixlen: row.max_prefixlen,
    shared: row.shared === 1,
    is_default: row.is_default === 1,
    address_scope_id: row.address_scope_id,
    default_quota: row.default_quota,
    tags,
    created_at: row.created_at,
    updated_at: row.updated_at,
    revision_number: row.revision_number,
  };
}

export async function visibleSubnetPool(ctx: NetworkContext, caller: Caller, id: string): Promise<SubnetPoolRow> {
  const row = await ctx.pools.getPool(id);
  if (!row || !(caller.isAdmin || row.project_id === caller.projectId || row.shared === 1)) throw notFound('SubnetPool', id);
  return row;
}

export async function listSubnetPools(ctx: NetworkContext, caller: Caller): Promise<SubnetPoolRow[]> {
  return ctx.pools.listPools(caller.isAdmin ? {} : { visibleTo: caller.projectId });
}

/** Canonical, same-version, non-overlapping prefixes (Neutron merges overlaps; here they are refused). */
function readPrefixes(value: unknown): ParsedCidr[] {
  // The schema let through a non-empty list of strings.
  const parsed = (value as string[]).map((p) => parseCidr(p, { hostBits: true }));
  const version = parsed[0]?.version;
  if (parsed.some((p) => p.version !== version)) throw invalidInput('Illegal subnetpool prefixes: mixed IP versions.');
  const sorted = [...parsed].sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if ((sorted[i] as ParsedCidr).first <= (sorted[i - 1] as ParsedCidr).last) throw invalidInput(`Illegal subnetpool prefixes: ${sorted[i]?.text} overlaps ${sorted[i - 1]?.text}.`);
  }
  return sorted;
}

interface Lengths {
  min: number;
  def: number;
  max: number;
}

function readLengths(body: Json, version: 4 | 6, current?: Lengths): Lengths {
  const bits = version === 4 ? 32 : 128;
  const min = int(body, 'min_prefixlen') ?? current?.min ?? (version === 4 ? 8 : 64);
  const max = int(body, 'max_prefixlen') ?? current?.max ?? bits;
  const def = int(body, 'default_prefixlen') ?? current?.def ?? min;
  for (const [key, v] of [['min_prefixlen', min], ['max_prefixlen', max], ['default_prefixlen', def]] as const) {
    if (v < 0 || v > bits) throw invalidInput(`Illegal prefix bounds: ${key}=${v}, it must be between 0 and ${bits}.`);
  }
  if (!(min <= def && def <= max)) throw invalidInput(`Illegal prefix bounds: min_prefixlen=${min}, default_prefixlen=${def}, max_prefixlen=${max}.`);
  // Neutron lets min_prefixlen be shorter than the pool's prefixes (openstacksdk's functional tests make
  // /24 pools with min 8): a request for more than a prefix holds fails at allocation instead.
  return { min: Math.max(min, 0), def, max };
}

async function readScope(ctx: NetworkContext, caller: Caller, value: unknown, version: number, projectId: string): Promise<string | null> {
  if (value === undefined || value === null) return null;
  const id = uuidOf(value);
  const scope = await visibleAddressScope(ctx, caller, id);
  // Neutron's IllegalSubnetPoolAssociationToAddressScope: another project's scope only when shared.
  if (!caller.isAdmin && scope.project_id !== projectId && scope.shared !== 1) throw notFound('AddressScope', id);
  if (scope.ip_version !== version) {
    throw invalidInput(`Illegal subnetpool association: subnetpool cannot be associated with address scope ${id} because subnetpool ip_version is not ${scope.ip_version}.`);
  }
  return id;
}

async function refuseSecondDefault(ctx: NetworkContext, version: number, exceptId?: string): Promise<void> {
  if ((await ctx.pools.listPools({ defaultFor: version })).some((p) => p.id !== exceptId)) {
    throw invalidInput(`A default subnetpool for this IP family has already been set. Only one default may exist per IP family`);
  }
}

/** default_quota: null lifts it. */
function readQuota(body: Json): number | null | undefined {
  return body.default_quota === null ? null : int(body, 'default_quota');
}

export async function createSubnetPool(ctx: NetworkContext, caller: Caller, body: Json): Promise<SubnetPoolRow> {
  const projectId = requestedProject(body, caller);
  const target = { project_id: projectId };
  authorize(ctx, caller, 'create_subnetpool', target);
  const flags = Object.fromEntries(['shared', 'is_default'].filter((k) => body[k] !== undefined && body[k] !== false).map((k) => [k, body[k]]));
  authorizeAttributes(ctx, caller, 'create_subnetpool', flags, target);
  const prefixes = readPrefixes(body.prefixes);
  const version = (prefixes[0] as ParsedCidr).version;
  const lengths = readLengths(body, version);
  await checkQuota(ctx, projectId, 'subnetpool');
  const isDefault = bool(body, 'is_default') ?? false;
  if (isDefault) await refuseSecondDefault(ctx, version);
  const row: SubnetPoolRow = {
    ...standardRow(newResource(body, projectId, 0)),
    ip_version: version,
    prefixes: JSON.stringify(prefixes.map((p) => p.text)),
    default_prefixlen: lengths.def,
    min_prefixlen: lengths.min,
    max_prefixlen: lengths.max,
    shared: bool(body, 'shared') ? 1 : 0,
    is_default: isDefault ? 1 : 0,
    address_scope_id: await readScope(ctx, caller, body.address_scope_id, version, projectId),
    default_quota: readQuota(body) ?? null,
  };
  await ctx.pools.createPool(row);
  return row;
}

export async function updateSubnetPool(ctx: NetworkContext, caller: Caller, id: string, body: Json): Promise<SubnetPoolRow> {
  const row = await visibleSubnetPool(ctx, caller, id);
  const target = { project_id: row.project_id };
  authorize(ctx, caller, 'update_subnetpool', target);
  if (!caller.isAdmin && row.project_id !== caller.projectId) throw notFound('SubnetPool', id);
  authorizeAttributes(ctx, caller, 'update_subnetpool', Object.fromEntries(['is_default'].filter((k) => body[k] !== undefined).map((k) => [k, body[k]])), target);
  const current = parsePrefixes(row).map((p) => parseCidr(p));
  let prefixes = current;
  if (body.prefixes !== undefined) {
    prefixes = readPrefixes(body.prefixes);
    if (prefixes[0]?.version !== row.ip_version) throw invalidInput('Illegal subnetpool prefixes: the IP version cannot change.');
    // Neutron: prefixes may grow, never shrink (subnets were carved from them).
    for (const old of current) {
      if (!prefixes.some((p) => p.first <= old.first && old.last <= p.last)) throw invalidInput(`Illegal update to prefixes: ${old.text} must stay in the pool's prefixes.`);
    }
  }
  const version = row.ip_version as 4 | 6;
  const lengths = readLengths(body, version, { min: row.min_prefixlen, def: row.default_prefixlen, max: row.max_prefixlen });
  const isDefault = bool(body, 'is_default') ?? row.is_default === 1;
  if (isDefault && row.is_default !== 1) await refuseSecondDefault(ctx, version, id);
  const quota = readQuota(body);
  const updated: SubnetPoolRow = {
    ...row,
    name: str(body, 'name') ?? row.name,
    description: str(body, 'description') ?? row.description,
    prefixes: JSON.stringify(prefixes.map((p) => p.text)),
    default_prefixlen: lengths.def,
    min_prefixlen: lengths.min,
    max_prefixlen: lengths.max,
    is_default: isDefault ? 1 : 0,
    address_scope_id: body.address_scope_id === undefined ? row.address_scope_id : await readScope(ctx, caller, body.address_scope_id, version, row.project_id),
    default_quota: quota === undefined ? row.default_quota : quota,
    updated_at: now(),
    revision_number: row.revision_number + 1,
  };
  if (!(await ctx.pools.updatePool(updated, row.revision_number))) {
    throw new NeutronError(409, 'Conflict', `Subnet pool ${id} was changed by a concurrent request; try again.`);
  }
  return updated;
}

export async function deleteSubnetPool(ctx: NetworkContext, caller: Caller, id: string): Promise<void> {
  const row = await visibleSubnetPool(ctx, caller, id);
  authorize(ctx, caller, 'delete_subnetpool', { project_id: row.project_id });
  if (!caller.isAdmin && row.project_id !== caller.projectId) throw notFound('SubnetPool', id);
  if ((await ctx.records.listSubnets({ subnetpoolId: id })).length > 0) {
    throw new NeutronError(409, 'SubnetPoolInUse', `Subnet pool ${id} cannot be deleted while it is in use: there are subnets allocated from it.`);
  }
  await ctx.pools.deletePool(id);
}

/** The pool a subnet request names (`subnetpool_id`, or the default one), as its project may use it. */
export async function poolForSubnet(ctx: NetworkContext, caller: Caller, body: Json, ipVersion: number | undefined, projectId: string): Promise<SubnetPoolRow | undefined> {
  const useDefault = bool(body, 'use_default_subnetpool') ?? false;
  if (body.subnetpool_id !== undefined && body.subnetpool_id !== null) {
    if (useDefault) throw invalidInput('subnetpool_id and use_default_subnetpool cannot both be specified.');
    const pool = await visibleSubnetPool(ctx, caller, uuidOf(body.subnetpool_id));
    // An admin may create for another project; the pool must still be that project's or shared.
    if (pool.shared !== 1 && pool.project_id !== projectId) throw notFound('SubnetPool', pool.id);
    return pool;
  }
  if (!useDefault) return undefined;
  const version = ipVersion ?? 4;
  const pool = (await ctx.pools.listPools({ defaultFor: version })).find((p) => p.shared === 1 || p.project_id === projectId);
  if (!pool) throw invalidInput(`No default subnetpool found for IPv${version}`);
  return pool;
}

const size = (version: number, prefixlen: number) => 1n << BigInt((version === 4 ? 32 : 128) - prefixlen);

/**
 * Carves a CIDR for a new subnet from the pool: the one asked for (it must lie in the pool
 * and overlap none of the pool's subnets), or the first free block of `prefixlen`. Refuses
 * what would take the project past the pool's quota (addresses for IPv4, /64s for IPv6).
 */
export async function allocateFromPool(ctx: NetworkContext, pool: SubnetPoolRow, projectId: string, cidrText: string | undefined, prefixlenValue: number | undefined): Promise<ParsedCidr> {
  const prefixes = parsePrefixes(pool).map((p) => parseCidr(p));
  const taken = (await ctx.records.listSubnets({ subnetpoolId: pool.id })).map((s) => ({ cidr: parseCidr(s.cidr), projectId: s.projectId }));
  let prefixlen = prefixlenValue ?? (cidrText ? undefined : pool.default_prefixlen);
  let chosen: ParsedCidr | undefined;
  if (cidrText) {
    chosen = parseCidr(cidrText, { hostBits: true });
    if (prefixlen !== undefined && prefixlen !== chosen.prefix) throw invalidInput('cidr and prefixlen must not be supplied together.');
    prefixlen = chosen.prefix;
    const c = chosen;
    if (c.version !== pool.ip_version || !prefixes.some((p) => p.first <= c.first && c.last <= p.last)) {
      throw new NeutronError(400, 'InvalidInput', `Invalid input for operation: Cidr ${c.text} is not within the subnet pool ${pool.id}'s prefixes.`);
    }
    if (taken.some((t) => t.cidr.first <= c.last && c.first <= t.cidr.last)) {
      throw new NeutronError(409, 'SubnetAllocationError', `Failed to allocate subnet: the requested subnet ${c.text} overlaps a subnet of pool ${pool.id}.`);
    }
  }
  if (prefixlen === undefined || prefixlen < pool.min_prefixlen || prefixlen > pool.max_prefixlen) {
    throw invalidInput(`Unable to allocate subnet with prefix length ${String(prefixlen)}, minimum allowed prefix is ${pool.min_prefixlen}, maximum allowed prefix is ${pool.max_prefixlen}.`);
  }
  if (pool.default_quota !== null) {
    const unit = pool.ip_version === 4 ? 32 : 64;
    const weight = (len: number) => (len > unit ? 1n : 1n << BigInt(unit - len));
    const used = taken.filter((t) => t.projectId === projectId).reduce((sum, t) => sum + weight(t.cidr.prefix), 0n);
    if (used + weight(prefixlen) > BigInt(pool.default_quota)) {
      throw new NeutronError(409, 'SubnetPoolQuotaExceeded', 'Per-tenant subnet pool prefix quota exceeded.');
    }
  }
  if (chosen) return chosen;
  const block = size(pool.ip_version, prefixlen);
  for (const prefix of prefixes) {
    if (prefix.prefix > prefixlen) continue;
    for (let start = prefix.first; start + block - 1n <= prefix.last; ) {
      const end = start + block - 1n;
      const clash = taken.find((t) => t.cidr.first <= end && start <= t.cidr.last);
      if (!clash) {
        const version = pool.ip_version as 4 | 6;
        return parseCidr(`${fromBig(start, version)}/${prefixlen}`);
      }
      // Past the clashing subnet, aligned to the block size.
      const next = clash.cidr.last + 1n;
      start = ((next + block - 1n) / block) * block;
    }
  }
  throw new NeutronError(409, 'SubnetAllocationError', `Failed to allocate subnet: Insufficient prefix space to allocate subnet size /${prefixlen}.`);
}
