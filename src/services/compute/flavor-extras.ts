import { badRequest, conflict, notFound, type Caller, type ComputeContext } from './context.js';
import { extraSpecsOf, visibleFlavorRow } from './flavors.js';

/** Flavor extra specs and the access lists of private flavors. */

/** Extra spec values as the schema (schemas/flavors.ts) lets them through. */
export type SpecValues = Record<string, string | number | boolean>;

/** The values as stored: strings, numbers and booleans as Python would print them. */
function specs(values: SpecValues): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([key, raw]) => [key, typeof raw === 'boolean' ? (raw ? 'True' : 'False') : String(raw)]));
}

export async function listExtraSpecs(ctx: ComputeContext, caller: Caller, flavorId: string): Promise<Record<string, string>> {
  const row = await visibleFlavorRow(ctx, caller, flavorId);
  return extraSpecsOf(ctx, row.id);
}

export async function showExtraSpec(ctx: ComputeContext, caller: Caller, flavorId: string, key: string): Promise<Record<string, string>> {
  const all = await listExtraSpecs(ctx, caller, flavorId);
  const value = all[key];
  if (value === undefined) throw notFound(`Flavor ${flavorId} has no extra specs with key ${key}.`);
  return { [key]: value };
}

async function upsertSpecs(ctx: ComputeContext, flavorId: string, values: Record<string, string>): Promise<void> {
  await ctx.db.transaction().execute(async (tx) => {
    for (const [key, value] of Object.entries(values)) {
      await tx
        .insertInto('compute_flavor_extra_spec')
        .values({ flavor_id: flavorId, key, value })
        .onConflict((oc) => oc.columns(['flavor_id', 'key']).doUpdateSet({ value }))
        .execute();
    }
  });
}

export async function createExtraSpecs(ctx: ComputeContext, caller: Caller, flavorId: string, body: { extra_specs: SpecValues }): Promise<Record<string, string>> {
  const values = specs(body.extra_specs);
  const row = await visibleFlavorRow(ctx, caller, flavorId);
  await upsertSpecs(ctx, row.id, values);
  return values;
}

export async function updateExtraSpec(ctx: ComputeContext, caller: Caller, flavorId: string, key: string, body: SpecValues): Promise<Record<string, string>> {
  const values = specs(body);
  const keys = Object.keys(values);
  if (keys.length > 1) throw badRequest('Request body contains too many items');
  if (keys[0] !== key) throw badRequest('Request body and URI mismatch');
  const row = await visibleFlavorRow(ctx, caller, flavorId);
  await upsertSpecs(ctx, row.id, values);
  return values;
}

export async function deleteExtraSpec(ctx: ComputeContext, caller: Caller, flavorId: string, key: string): Promise<void> {
  const row = await visibleFlavorRow(ctx, caller, flavorId);
  const deleted = await ctx.db.deleteFrom('compute_flavor_extra_spec').where('flavor_id', '=', row.id).where('key', '=', key).executeTakeFirst();
  if (Number(deleted.numDeletedRows) === 0) throw notFound(`Flavor ${flavorId} has no extra specs with key ${key}.`);
}

export interface FlavorAccess {
  flavor_id: string;
  tenant_id: string;
}

export async function listFlavorAccess(ctx: ComputeContext, caller: Caller, flavorId: string): Promise<FlavorAccess[]> {
  const row = await visibleFlavorRow(ctx, caller, flavorId);
  if (row.is_public === 1) throw notFound('Access list not available for public flavors.');
  const rows = await ctx.db.selectFrom('compute_flavor_access').select('project_id').where('flavor_id', '=', row.id).orderBy('project_id').execute();
  return rows.map((r) => ({ flavor_id: row.id, tenant_id: r.project_id }));
}

export async function addTenantAccess(ctx: ComputeContext, caller: Caller, flavorId: string, tenant: string, publicRefused: boolean): Promise<FlavorAccess[]> {
  const row = await visibleFlavorRow(ctx, caller, flavorId);
  if (row.is_public === 1 && publicRefused) throw conflict('Can not add access to a public flavor.');
  try {
    await ctx.db.insertInto('compute_flavor_access').values({ flavor_id: row.id, project_id: tenant }).execute();
  } catch (error) {
    if (!ctx.database.isUniqueViolation(error)) throw error;
    throw conflict(`Flavor access already exists for flavor ${flavorId} and project ${tenant} combination.`);
  }
  return accessOf(ctx, row.id);
}

export async function removeTenantAccess(ctx: ComputeContext, caller: Caller, flavorId: string, tenant: string): Promise<FlavorAccess[]> {
  const row = await visibleFlavorRow(ctx, caller, flavorId);
  const deleted = await ctx.db.deleteFrom('compute_flavor_access').where('flavor_id', '=', row.id).where('project_id', '=', tenant).executeTakeFirst();
  if (Number(deleted.numDeletedRows) === 0) throw notFound(`Flavor access not found for ${flavorId} / ${tenant} combination.`);
  return accessOf(ctx, row.id);
}

async function accessOf(ctx: ComputeContext, flavorId: string): Promise<FlavorAccess[]> {
  const rows = await ctx.db.selectFrom('compute_flavor_access').select('project_id').where('flavor_id', '=', flavorId).orderBy('project_id').execute();
  return rows.map((r) => ({ flavor_id: flavorId, tenant_id: r.project_id }));
}
