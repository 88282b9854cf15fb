import { randomUUID } from 'node:crypto';
import { ApiError } from '../../core/http/errors.js';
import { authorize, nowIso, type Caller, type VolumeContext } from './context.js';
import type { QosSpecsRow } from './tables.js';
import { findType } from './types.js';

const CONSUMERS = ['front-end', 'back-end', 'both'];

export const qosSpecsOf = (row: QosSpecsRow): Record<string, string> => JSON.parse(row.specs) as Record<string, string>;

/** The keys a request sets, as strings (Cinder stores every value as text); `consumer` is not a key but the row's field. */
function checkKeys(body: Record<string, unknown>): { consumer?: string; specs: Record<string, string> } {
  const specs: Record<string, string> = {};
  let consumer: string | undefined;
  for (const [key, value] of Object.entries(body)) {
    if (key === 'name') continue;
    if (key.length === 0 || key.length > 255) throw new ApiError(400, `Invalid input received: QoS spec key '${key}' must be 1 to 255 characters.`);
    if (value === null || typeof value === 'object') throw new ApiError(400, `Invalid input received: the value of QoS spec ${key} must be a string or a number.`);
    if (key === 'consumer') {
      consumer = String(value);
      if (!CONSUMERS.includes(consumer)) throw new ApiError(400, `Invalid input received: Valid consumer of QoS specs are: ${CONSUMERS.join(', ')}`);
    } else specs[key] = String(value);
  }
  return { ...(consumer !== undefined ? { consumer } : {}), specs };
}

/**
 * Cinder's QoS specs: named sets of limits (read/write IOPS, bytes per second) for the
 * hypervisor (front-end), the backend (back-end) or both, associated with volume types. Kumo
 * keeps and shows them; its file backend applies none of them (as a Cinder backend without
 * QoS support), and compute does not yet hand front-end limits to QEMU.
 */
export class QosSpecs {
  constructor(private readonly ctx: VolumeContext) {}

  async list(caller: Caller): Promise<QosSpecsRow[]> {
    authorize(this.ctx, caller, 'volume_extension:qos_specs_manage:get_all');
    return this.ctx.db.selectFrom('volume_qos_specs').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').execute();
  }

  async find(caller: Caller, id: string, action = 'volume_extension:qos_specs_manage:get'): Promise<QosSpecsRow> {
    authorize(this.ctx, caller, action);
    const row = await this.ctx.db.selectFrom('volume_qos_specs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new ApiError(404, `QoS Specs ${id} could not be found.`);
    return row;
  }

  async create(caller: Caller, body: Record<string, unknown>): Promise<QosSpecsRow> {
    authorize(this.ctx, caller, 'volume_extension:qos_specs_manage:create');
    const name = typeof body.name === 'string' ? body.name.trim() : '';
    if (name.length === 0 || name.length > 255) throw new ApiError(400, 'Invalid input received: Please specify a name for QoS specs.');
    const { consumer, specs } = checkKeys(body);
    const row: QosSpecsRow = { id: randomUUID(), name, consumer: consumer ?? 'back-end', specs: JSON.stringify(specs), created_at: nowIso() };
    try {
      await this.ctx.db.insertInto('volume_qos_specs').values(row).execute();
    } catch (error) {
      if (this.ctx.database.isUniqueViolation(error)) throw new ApiError(409, `QoS Specs ${name} already exists.`);
      throw error;
    }
    return row;
  }

  /** Sets keys (and the consumer); answers what was asked, as Cinder does. */
  async update(caller: Caller, id: string, body: Record<string, unknown>): Promise<Record<string, string>> {
    const row = await this.find(caller, id, 'volume_extension:qos_specs_manage:update');
    const { consumer, specs } = checkKeys(body);
    const merged = { ...qosSpecsOf(row), ...specs };
    await this.ctx.db
      .updateTable('volume_qos_specs')
      .set({ specs: JSON.stringify(merged), ...(consumer !== undefined ? { consumer } : {}) })
      .where('id', '=', id)
      .execute();
    return Object.fromEntries(Object.entries(body).map(([key, value]) => [key, String(value)]));
  }

  async deleteKeys(caller: Caller, id: string, keys: string[]): Promise<void> {
    const row = await this.find(caller, id, 'volume_extension:qos_specs_manage:delete');
    const specs = qosSpecsOf(row);
    for (const key of keys) {
      if (!(key in specs)) throw new ApiError(404, `QoS spec ${key} cannot be found.`);
      delete specs[key];
    }
    await this.ctx.db.updateTable('volume_qos_specs').set({ specs: JSON.stringify(specs) }).where('id', '=', id).execute();
  }

  /** Refused while a type uses the specs, unless `force`, which lets the types go first. */
  async delete(caller: Caller, id: string, force: boolean): Promise<void> {
    await this.find(caller, id, 'volume_extension:qos_specs_manage:delete');
    await this.ctx.database.transaction(async (trx) => {
      const db = trx.tables<import('./tables.js').VolumeTables>();
      const used = await db.selectFrom('volume_type').select('id').where('qos_specs_id', '=', id).executeTakeFirst();
      if (used && !force) throw new ApiError(400, `QoS Specs ${id} is still associated with entities.`);
      await db.updateTable('volume_type').set({ qos_specs_id: null }).where('qos_specs_id', '=', id).execute();
      await db.deleteFrom('volume_qos_specs').where('id', '=', id).execute();
    });
  }

  async associations(caller: Caller, id: string): Promise<Array<{ association_type: string; name: string; id: string }>> {
    await this.find(caller, id, 'volume_extension:qos_specs_manage:get');
    const types = await this.ctx.db.selectFrom('volume_type').select(['id', 'name']).where('qos_specs_id', '=', id).orderBy('name').execute();
    return types.map((type) => ({ association_type: 'volume_type', name: type.name, id: type.id }));
  }

  /** A type takes at most one set of specs: another one already there is a 400, as Cinder's. */
  async associate(caller: Caller, id: string, typeId: string | undefined): Promise<void> {
    await this.find(caller, id, 'volume_extension:qos_specs_manage:update');
    if (!typeId) throw new ApiError(400, 'Volume Type id must not be None.');
    const type = await findType(this.ctx, caller, typeId);
    if (type.qos_specs_id === id) return;
    if (type.qos_specs_id !== null) throw new ApiError(400, `Type ${type.id} is already associated with another qos specs: ${type.qos_specs_id}`);
    await this.ctx.db.updateTable('volume_type').set({ qos_specs_id: id }).where('id', '=', type.id).where('qos_specs_id', 'is', null).execute();
  }

  async disassociate(caller: Caller, id: string, typeId: string | undefined): Promise<void> {
    await this.find(caller, id, 'volume_extension:qos_specs_manage:update');
    if (!typeId) throw new ApiError(400, 'Volume Type id must not be None.');
    const type = await findType(this.ctx, caller, typeId);
    await this.ctx.db.updateTable('volume_type').set({ qos_specs_id: null }).where('id', '=', type.id).where('qos_specs_id', '=', id).execute();
  }

  async disassociateAll(caller: Caller, id: string): Promise<void> {
    await this.find(caller, id, 'volume_extension:qos_specs_manage:update');
    await this.ctx.db.updateTable('volume_type').set({ qos_specs_id: null }).where('qos_specs_id', '=', id).execute();
  }
}
