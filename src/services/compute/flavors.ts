import { randomUUID } from 'node:crypto';
import { badRequest, conflict, notFound, nowIso, type Caller, type ComputeContext } from './context.js';
import { FlavorRecords } from './store/flavors.js';
import type { FlavorRow } from './tables.js';

/** A flavor as the rest of compute uses it (and as instances keep a copy of it, in JSON). */
export interface Flavor {
  id: string;
  name: string;
  vcpus: number;
  memoryMb: number;
  rootGb: number;
  ephemeralGb: number;
  swapMb: number;
  rxtxFactor: number;
  isPublic: boolean;
  disabled: boolean;
  extraSpecs: Record<string, string>;
  description: string | null;
}

export function flavorFromRow(row: FlavorRow, extraSpecs: Record<string, string> = {}): Flavor {
  return {
    id: row.id,
    name: row.name,
    vcpus: row.vcpus,
    memoryMb: row.memory_mb,
    rootGb: row.root_gb,
    ephemeralGb: row.ephemeral_gb,
    swapMb: row.swap,
    rxtxFactor: Number(row.rxtx_factor),
    isPublic: row.is_public === 1,
    disabled: row.disabled === 1,
    extraSpecs,
    description: row.description,
  };
}

export const flavorNotFound = (id: string) => notFound(`Flavor ${id} could not be found.`);

/** Whether the caller may see this flavor: public, admin, or on its access list. */
async function visibleTo(ctx: ComputeContext, caller: Caller, row: FlavorRow): Promise<boolean> {
  if (caller.isAdmin || row.is_public === 1) return true;
  return new FlavorRecords(ctx.db).hasAccess(row.id, caller.projectId);
}

/** The flavor row the caller can see, or Nova's 404. */
export async function visibleFlavorRow(ctx: ComputeContext, caller: Caller, id: string): Promise<FlavorRow> {
  const row = await new FlavorRecords(ctx.db).get(id);
  if (!row || !(await visibleTo(ctx, caller, row))) throw flavorNotFound(id);
  return row;
}

export async function extraSpecsOf(ctx: ComputeContext, flavorId: string): Promise<Record<string, string>> {
  return new FlavorRecords(ctx.db).extraSpecs(flavorId);
}

/**
 * The flavor a boot asks for, by id or by a link ending in the id. Nova answers a flavor
 * that is missing, hidden from the caller or disabled with the same 400.
 */
export async function findFlavorForBoot(ctx: ComputeContext, caller: Caller, flavorRef: string): Promise<Flavor> {
  const invalid = () => badRequest('Invalid flavorRef provided.');
  if (typeof flavorRef !== 'string' || flavorRef === '') throw invalid();
  const path = flavorRef.split(/[?#]/, 1)[0] ?? '';
  const id = decodeURIComponent(path.split('/').pop() ?? '');
  if (id === '' || id.length > 255) throw invalid();
  let row: FlavorRow;
  try {
    row = await visibleFlavorRow(ctx, caller, id);
  } catch {
    throw invalid();
  }
  if (row.disabled === 1) throw invalid();
  return flavorFromRow(row, await extraSpecsOf(ctx, row.id));
}

/** `self` under the versioned API and the unversioned `bookmark`, as Nova links resources. */
export function resourceLinks(baseUrl: string, collection: string, id: string): Array<{ href: string; rel: string }> {
  const bookmarkBase = baseUrl.replace(/\/v2(\.1)?$/, '');
  return [
    { href: `${baseUrl}/${collection}/${id}`, rel: 'self' },
    { href: `${bookmarkBase}/${collection}/${id}`, rel: 'bookmark' },
  ];
}

/** The flavor inside a server body before microversion 2.47. */
export function renderFlavorForServer(flavor: Flavor, baseUrl: string): { id: string; links: Array<{ href: string; rel: string }> } {
  return { id: flavor.id, links: [resourceLinks(baseUrl, 'flavors', flavor.id)[1] as { href: string; rel: string }] };
}

export function renderFlavorBrief(row: FlavorRow, baseUrl: string): Record<string, unknown> {
  return { id: row.id, name: row.name, links: resourceLinks(baseUrl, 'flavors', row.id) };
}

export function renderFlavor(row: FlavorRow, baseUrl: string): Record<string, unknown> {
  return {
    id: row.id,
    name: row.name,
    ram: row.memory_mb,
    disk: row.root_gb,
    vcpus: row.vcpus,
    swap: row.swap === 0 ? '' : row.swap,
    'OS-FLV-EXT-DATA:ephemeral': row.ephemeral_gb,
    'OS-FLV-DISABLED:disabled': row.disabled === 1,
    rxtx_factor: Number(row.rxtx_factor),
    'os-flavor-access:is_public': row.is_public === 1,
    links: resourceLinks(baseUrl, 'flavors', row.id),
  };
}

/** What a flavor create names; the id is generated when it is left out. */
export type NewFlavor = Pick<Flavor, 'name' | 'vcpus' | 'memoryMb' | 'rootGb' | 'ephemeralGb' | 'swapMb' | 'rxtxFactor' | 'isPublic'> & { id?: string };

export async function createFlavor(ctx: ComputeContext, input: NewFlavor): Promise<FlavorRow> {
  const row: FlavorRow = {
    id: input.id ?? randomUUID(),
    name: input.name,
    vcpus: input.vcpus,
    memory_mb: input.memoryMb,
    root_gb: input.rootGb,
    ephemeral_gb: input.ephemeralGb,
    swap: input.swapMb,
    rxtx_factor: input.rxtxFactor,
    is_public: input.isPublic ? 1 : 0,
    disabled: 0,
    description: null,
    created_at: nowIso(),
  };
  const clash = await new FlavorRecords(ctx.db).insert(row);
  if (clash === 'name') throw conflict(`Flavor with name ${row.name} already exists.`);
  if (clash === 'id') throw conflict(`Flavor with ID ${row.id} already exists.`);
  return row;
}

export async function deleteFlavor(ctx: ComputeContext, id: string): Promise<void> {
  if (!(await new FlavorRecords(ctx.db).delete(id))) throw flavorNotFound(id);
}

/** DevStack's flavors: [id, name, MB of RAM, GB of disk, vCPUs]. */
const DEFAULT_FLAVORS: ReadonlyArray<readonly [string, string, number, number, number]> = [
  ['1', 'm1.tiny', 512, 1, 1],
  ['2', 'm1.small', 2048, 20, 1],
  ['3', 'm1.medium', 4096, 40, 2],
  ['4', 'm1.large', 8192, 80, 4],
  ['5', 'm1.xlarge', 16384, 160, 8],
  ['42', 'm1.nano', 128, 1, 1],
  ['84', 'm1.micro', 192, 1, 1],
];

/**
 * Seeds DevStack's flavors into a cloud that has none yet. Once any flavor exists this does
 * nothing, so flavors an admin deleted stay deleted; one multi-row insert that skips
 * conflicts keeps two processes starting at once from failing or seeding half a set.
 */
export async function ensureDefaultFlavors(ctx: ComputeContext): Promise<void> {
  const flavors = new FlavorRecords(ctx.db);
  if (await flavors.any()) return;
  const created = nowIso();
  const rows: FlavorRow[] = DEFAULT_FLAVORS.map(([id, name, ram, disk, vcpus]) => ({
    id,
    name,
    vcpus,
    memory_mb: ram,
    root_gb: disk,
    ephemeral_gb: 0,
    swap: 0,
    rxtx_factor: 1,
    is_public: 1,
    disabled: 0,
    description: null,
    created_at: created,
  }));
  await flavors.insertMissing(rows);
}
