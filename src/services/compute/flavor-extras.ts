import { badRequest, conflict, notFound, type Caller, type ComputeContext } from './context.js';
import { extraSpecsOf, visibleFlavorRow } from './flavors.js';
import { FlavorRecords } from './store/flavors.js';

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
  await new FlavorRecords(ctx.db).upsertExtraSpecs(flavorId, values);
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
  if (!(await new FlavorRecords(ctx.db).deleteExtraSpec(row.id, key))) throw notFound(`Flavor ${flavorId} has no extra specs with key ${key}.`);
}

export interface FlavorAccess {
  flavor_id: string;
  tenant_id: string;
}

export async function listFlavorAccess(ctx: ComputeContext, caller: Caller, flavorId: string): Promise<FlavorAccess[]> {
  const row = await visibleFlavorRow(ctx, caller, flavorId);
  if (row.is_public === 1) throw notFound('Access list not available for public flavors.');
  return accessOf(ctx, row.id);
}

export async function addTenantAccess(ctx: ComputeContext, caller: Caller, flavorId: string, tenant: string, publicRefused: boolean): Promise<FlavorAccess[]> {
  const row = await visibleFlavorRow(ctx, caller, flavorId);
  if (row.is_public === 1 && publicRefused) throw conflict('Can not add access to a public flavor.');
  if (!(await new FlavorRecords(ctx.db).grant(row.id, tenant))) {
    throw conflict(`Flavor access already exists for flavor ${flavorId} and project ${tenant} combination.`);
  }
  return accessOf(ctx, row.id);
}

export async function removeTenantAccess(ctx: ComputeContext, caller: Caller, flavorId: string, tenant: string): Promise<FlavorAccess[]> {
  const row = await visibleFlavorRow(ctx, caller, flavorId);
  if (!(await new FlavorRecords(ctx.db).revoke(row.id, tenant))) throw notFound(`Flavor access not found for ${flavorId} / ${tenant} combination.`);
  return accessOf(ctx, row.id);
}

async function accessOf(ctx: ComputeContext, flavorId: string): Promise<FlavorAccess[]> {
  return (await new FlavorRecords(ctx.db).accessOf(flavorId)).map((project) => ({ flavor_id: flavorId, tenant_id: project }));
}
