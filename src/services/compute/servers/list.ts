import { authorize, badRequest, type Caller, type ComputeContext } from '../context.js';
import type { Instance } from '../instances/model.js';
import { apiStatus } from '../instances/states.js';
import type { InstanceRecords } from '../store/instances.js';
import { queryValue } from '../validate.js';
import type { Microversion } from '../microversion.js';

export interface ListedServers {
  instances: Instance[];
  /** The marker of the next page, when the page is full. */
  nextMarker?: string;
}

const TRUTHY = new Set(['', '1', 'true', 'yes', 'on', 't', 'y']);

/** Every status Nova's API can show (its state map), the values the status filter takes from 2.38. */
const NOVA_STATUSES = new Set([
  'ACTIVE', 'BUILD', 'DELETED', 'ERROR', 'HARD_REBOOT', 'MIGRATING', 'PASSWORD', 'PAUSED', 'REBOOT', 'REBUILD', 'RESCUE',
  'RESIZE', 'REVERT_RESIZE', 'SHELVED', 'SHELVED_OFFLOADED', 'SHUTOFF', 'SOFT_DELETED', 'SUSPENDED', 'UNKNOWN', 'VERIFY_RESIZE',
]);

/**
 * GET /servers and /servers/detail: the caller's project (all projects for an admin asking
 * all_tenants), filtered as Nova filters (name is a regex, status is the API status), newest
 * first, paged by limit and marker.
 */
export async function listServers(ctx: ComputeContext, records: InstanceRecords, caller: Caller, query: unknown, detail: boolean, version: Microversion): Promise<ListedServers> {
  authorize(ctx, caller, detail ? 'os_compute_api:servers:detail' : 'os_compute_api:servers:index');
  const q = (key: string) => queryValue(query, key);
  const allTenantsRaw = q('all_tenants');
  const allTenants = allTenantsRaw !== undefined && TRUTHY.has(allTenantsRaw.toLowerCase());
  if (allTenants) authorize(ctx, caller, detail ? 'os_compute_api:servers:detail:get_all_tenants' : 'os_compute_api:servers:index:get_all_tenants');
  const projectFilter = allTenants ? (caller.isAdmin ? q('project_id') ?? q('tenant_id') : undefined) : caller.projectId;
  const deletedRaw = q('deleted');
  const wantDeleted = caller.isAdmin && deletedRaw !== undefined && TRUTHY.has(deletedRaw.toLowerCase());
  const since = changesSince(q('changes-since') ?? q('changes_since'));
  // changes-since also lists deleted instances, so a poller sees deletions.
  const withDeleted = wantDeleted || since !== undefined;
  let instances = await records.list({ ...(projectFilter ? { projectId: projectFilter } : {}), ...(withDeleted ? {} : { deleted: false }) });
  if (wantDeleted) instances = instances.filter((i) => i.deleted);
  if (since !== undefined) instances = instances.filter((i) => Date.parse(i.updatedAt) >= since);

  const name = q('name');
  if (name !== undefined) {
    let pattern: RegExp;
    try {
      pattern = new RegExp(name);
    } catch {
      throw badRequest(`Invalid regular expression in the name filter: ${name}`);
    }
    instances = instances.filter((i) => pattern.test(i.name));
  }
  const status = q('status');
  if (status !== undefined) {
    // From 2.38 a status Nova does not know is a 400 (before, it matched nothing).
    if (version.atLeast('2.38') && !NOVA_STATUSES.has(status.toUpperCase())) throw badRequest(`Invalid status value`);
    instances = instances.filter((i) => apiStatus(i.vmState, i.taskState) === status.toUpperCase());
  }
  const image = q('image');
  if (image !== undefined) instances = instances.filter((i) => i.imageRef === image.split('/').pop());
  const flavor = q('flavor');
  if (flavor !== undefined) instances = instances.filter((i) => i.flavor.id === flavor.split('/').pop());
  const reservation = q('reservation_id');
  if (reservation !== undefined) instances = instances.filter((i) => i.reservationId === reservation);
  // Tag filters (2.26): all of / any of / none of all / none of any, comma-separated.
  const tagSets = (key: string) => q(key)?.split(',').filter(Boolean);
  const allTags = tagSets('tags');
  if (allTags) instances = instances.filter((i) => allTags.every((t) => i.tags.includes(t)));
  const anyTags = tagSets('tags-any');
  if (anyTags) instances = instances.filter((i) => anyTags.some((t) => i.tags.includes(t)));
  const notAll = tagSets('not-tags');
  if (notAll) instances = instances.filter((i) => !notAll.every((t) => i.tags.includes(t)));
  const notAny = tagSets('not-tags-any');
  if (notAny) instances = instances.filter((i) => !notAny.some((t) => i.tags.includes(t)));
  if (caller.isAdmin) {
    const host = q('host');
    if (host !== undefined) instances = instances.filter((i) => i.host === host);
  }
  const ip = q('ip');
  if (ip !== undefined && ctx.network) {
    let pattern: RegExp;
    try {
      pattern = new RegExp(ip);
    } catch {
      throw badRequest(`Invalid regular expression in the ip filter: ${ip}`);
    }
    const matching: Instance[] = [];
    for (const instance of instances) {
      const addresses = await ctx.network.addresses(instance);
      if (addresses.some((a) => pattern.test(a.address))) matching.push(instance);
    }
    instances = matching;
  }

  const marker = q('marker');
  if (marker !== undefined) {
    let at = instances.findIndex((i) => i.id === marker);
    if (at >= 0) instances = instances.slice(at + 1);
    else {
      // Nova finds the marker among deleted instances too (Horizon pages on from a server just
      // deleted) and goes on from where it sorts; only an instance in the listed scope counts.
      const found = await records.get(marker);
      if (!found || (projectFilter !== undefined && found.projectId !== projectFilter)) throw badRequest(`marker [${marker}] not found`);
      at = instances.findIndex((i) => sortsAfter(i, found));
      instances = at < 0 ? [] : instances.slice(at);
    }
  }
  const limitRaw = q('limit');
  if (limitRaw !== undefined) {
    // The route's query schema let through digits only.
    const limit = Number(limitRaw);
    if (instances.length > limit) {
      const page = instances.slice(0, limit);
      return { instances: page, ...(page.length > 0 ? { nextMarker: page[page.length - 1]?.id as string } : {}) };
    }
  }
  return { instances };
}

/** True when `a` comes after `b` in the listing's order: newest first, then id descending. */
function sortsAfter(a: Instance, b: Instance): boolean {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt;
  return a.id < b.id;
}

/** The changes-since time in ms; Nova's schema wants ISO 8601, so '2011/01/01' is refused though JavaScript parses it. */
function changesSince(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/i.test(value);
  const at = iso ? Date.parse(value) : NaN;
  if (Number.isNaN(at)) throw badRequest(`Invalid filter field: changes-since. Value ${value} is not a valid date-time.`);
  return at;
}
