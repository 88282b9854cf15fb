import { badRequest, conflict, notFound, type Caller, type ComputeContext } from './context.js';
import { extraSpecsOf, visibleFlavorRow } from './flavors.js';
import { FlavorRecords } from './store/flavors.js';
import { invalidInput, member, noExtraKeys, pyRepr, requireKeys, string, type Body } from './validate.js';

/** Flavor extra specs and the access lists of private flavors. */

const SPEC_KEY = /^[a-zA-Z0-9-_:. ]{1,255}$/;

/** Values may be strings, numbers or booleans (stored as Python would print them), up to 255 characters. */
function specs(value: unknown, path: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidInput(path, value, `${pyRepr(value)} is not of type 'object'`);
  }
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(value as Body)) {
    if (!SPEC_KEY.test(key)) throw invalidInput(path, value, `Additional properties are not allowed ('${key}' was unexpected)`);
    let text: string;
    if (typeof raw === 'string') text = raw;
    else if (typeof raw === 'number' && Number.isFinite(raw)) text = String(raw);
    else if (typeof raw === 'boolean') text = raw ? 'True' : 'False';
    else throw invalidInput(`${path}/${key}`, raw, `${pyRepr(raw)} is not of type 'string', 'number', 'boolean'`);
    if (text.length > 255) throw invalidInput(`${path}/${key}`, raw, `${pyRepr(raw)} is too long`);
    out[key] = text;
  }
  return out;
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

export async function createExtraSpecs(ctx: ComputeContext, caller: Caller, flavorId: string, body: unknown): Promise<Record<string, string>> {
  const values = specs(member(body, 'extra_specs'), 'extra_specs');
  noExtraKeys(body as Body, '', ['extra_specs']);
  const row = await visibleFlavorRow(ctx, caller, flavorId);
  await upsertSpecs(ctx, row.id, values);
  return values;
}

export async function updateExtraSpec(ctx: ComputeContext, caller: Caller, flavorId: string, key: string, body: unknown): Promise<Record<string, string>> {
  const values = specs(body, '');
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

function tenantOf(body: Body, action: string): string {
  const inner = member(body, action);
  requireKeys(inner, action, ['tenant']);
  noExtraKeys(inner, action, ['tenant']);
  return string(inner.tenant, `${action}/tenant`, 1, 255);
}

export async function addTenantAccess(ctx: ComputeContext, caller: Caller, flavorId: string, body: Body, publicRefused: boolean): Promise<FlavorAccess[]> {
  const tenant = tenantOf(body, 'addTenantAccess');
  const row = await visibleFlavorRow(ctx, caller, flavorId);
  if (row.is_public === 1 && publicRefused) throw conflict('Can not add access to a public flavor.');
  if (!(await new FlavorRecords(ctx.db).grant(row.id, tenant))) {
    throw conflict(`Flavor access already exists for flavor ${flavorId} and project ${tenant} combination.`);
  }
  return accessOf(ctx, row.id);
}

export async function removeTenantAccess(ctx: ComputeContext, caller: Caller, flavorId: string, body: Body): Promise<FlavorAccess[]> {
  const tenant = tenantOf(body, 'removeTenantAccess');
  const row = await visibleFlavorRow(ctx, caller, flavorId);
  if (!(await new FlavorRecords(ctx.db).revoke(row.id, tenant))) throw notFound(`Flavor access not found for ${flavorId} / ${tenant} combination.`);
  return accessOf(ctx, row.id);
}

async function accessOf(ctx: ComputeContext, flavorId: string): Promise<FlavorAccess[]> {
  return (await new FlavorRecords(ctx.db).accessOf(flavorId)).map((project) => ({ flavor_id: flavorId, tenant_id: project }));
}
