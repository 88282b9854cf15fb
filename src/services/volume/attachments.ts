import { randomUUID } from 'node:crypto';
import {
  VOLUME_AGENT_TOPIC,
  agentServerOf,
  VolumeAgentMethods,
  type ConnectionInfo,
  type InitializeConnectionArgs,
  type TerminateConnectionArgs,
  type VolumeConnector,
} from '../../contracts/volume.js';
import { ApiError } from '../../core/http/errors.js';
import { authorize, nowIso, type Caller, type VolumeContext } from './context.js';
import type { AttachmentRow, VolumeRow } from './tables.js';
import type { Volumes } from './volumes.js';

/** Attachments still holding their volume (Cinder counts everything not detached). */
const LIVE = ['reserved', 'attaching', 'attached', 'detaching', 'error_attaching'];

/**
 * Cinder's attachments (3.27+) and the legacy attach actions, both over one table: an
 * attachment reserves the volume, its connector initialises the backend connection, and
 * complete marks it in use. A volume holds one live attachment unless its type allows
 * multiattach; the reservation is a conditional status change, so two attachers at once
 * cannot both take it.
 */
export class Attachments {
  constructor(
    private readonly ctx: VolumeContext,
    private readonly volumes: Volumes,
  ) {}

  async find(caller: Caller, id: string, action = 'volume:get'): Promise<AttachmentRow> {
    const row = await this.ctx.db.selectFrom('volume_attachment').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row || (!caller.isAdmin && row.project_id !== caller.projectId)) throw new ApiError(404, `Volume attachment ${id} could not be found.`);
    authorize(this.ctx, caller, action, { project_id: row.project_id });
    return row;
  }

  async list(caller: Caller, allTenants: boolean): Promise<AttachmentRow[]> {
    authorize(this.ctx, caller, 'volume:get_all', { project_id: caller.projectId });
    let q = this.ctx.db.selectFrom('volume_attachment').selectAll();
    if (!(caller.isAdmin && allTenants)) q = q.where('project_id', '=', caller.projectId);
    return q.orderBy('created_at', 'desc').execute();
  }

  async ofVolume(volumeId: string): Promise<AttachmentRow[]> {
    return this.ctx.db.selectFrom('volume_attachment').selectAll().where('volume_id', '=', volumeId).where('attach_status', 'in', LIVE).orderBy('created_at').execute();
  }

  /** Reserves the volume for `instanceId`: `available` (or in-use when multiattach) -> `reserved`. */
  async create(caller: Caller, req: { volumeId: string; instanceId: string | null; connector?: VolumeConnector | null; mode?: string }): Promise<AttachmentRow> {
    const volume = await this.volumes.find(caller, req.volumeId);
    authorize(this.ctx, caller, 'volume:attachment_create', { project_id: volume.project_id });
    const mode = req.mode ?? (volume.readonly === 1 ? 'ro' : 'rw');
    if (mode !== 'rw' && mode !== 'ro') throw new ApiError(400, `Invalid input received: Invalid attach mode ${mode}; use rw or ro.`);
    if (mode === 'rw' && volume.readonly === 1) throw new ApiError(400, `Invalid volume: Volume ${volume.id} is read-only; attach it with mode ro.`);
    const from = volume.multiattach === 1 ? ['available', 'in-use', 'reserved', 'attaching'] : ['available'];
    if (volume.multiattach === 1) authorize(this.ctx, caller, 'volume:multiattach', { project_id: volume.project_id });
    const live = await this.ofVolume(volume.id);
    if (volume.multiattach === 0 && live.length > 0) {
      throw new ApiError(400, `Invalid volume: Volume ${volume.id} status must be available or downloading to reserve, but the current status is ${volume.status}.`);
    }
    if (req.instanceId && live.some((a) => a.instance_uuid === req.instanceId)) throw new ApiError(400, `Invalid volume: Volume ${volume.id} is already attached to instance ${req.instanceId}.`);
    // The volume keeps in-use while another attachment of a multiattach volume is attached.
    const next = volume.status === 'in-use' ? 'in-use' : 'reserved';
    if (!(await this.volumes.transition(volume.id, from, next))) {
      throw new ApiError(400, `Invalid volume: Volume ${volume.id} status must be available to reserve, but the current status is ${volume.status}.`);
    }
    const row: AttachmentRow = {
      id: randomUUID(),
      volume_id: volume.id,
      project_id: volume.project_id,
      instance_uuid: req.instanceId,
      attached_host: null,
      mountpoint: null,
      attach_mode: mode,
      attach_status: 'reserved',
      connector: null,
      connection_info: null,
      attached_at: null,
      detached_at: null,
      created_at: nowIso(),
    };
    await this.ctx.db.insertInto('volume_attachment').values(row).execute();
    if (req.connector) return this.connect(volume, row, req.connector);
    return row;
  }

  async update(caller: Caller, id: string, connector: VolumeConnector): Promise<AttachmentRow> {
    const row = await this.find(caller, id, 'volume:attachment_update');
    if (!LIVE.includes(row.attach_status)) throw new ApiError(400, `Invalid attachment: attachment ${id} is ${row.attach_status}.`);
    const volume = await this.volumes.rowOf(row.volume_id);
    if (!volume) throw new ApiError(404, `Volume ${row.volume_id} could not be found.`);
    return this.connect(volume, row, connector);
  }

  /** Asks the volume's agent for a connection to `connector` and records it. */
  private async connect(volume: VolumeRow, row: AttachmentRow, connector: VolumeConnector): Promise<AttachmentRow> {
    if (typeof connector !== 'object' || connector === null || Array.isArray(connector)) throw new ApiError(400, 'Invalid input received: connector must be an object.');
    const info = await this.initializeConnection(volume, connector, row.attach_mode as 'rw' | 'ro');
    const next = {
      connector: JSON.stringify(connector),
      connection_info: JSON.stringify(info),
      attached_host: typeof connector.host === 'string' ? connector.host : null,
      mountpoint: typeof connector.mountpoint === 'string' ? connector.mountpoint : row.mountpoint,
      attach_status: row.attach_status === 'attached' ? 'attached' : 'attaching',
    };
    await this.ctx.db.updateTable('volume_attachment').set(next).where('id', '=', row.id).execute();
    await this.volumes.transition(volume.id, ['reserved'], 'attaching');
    return { ...row, ...next };
  }

  async initializeConnection(volume: VolumeRow, connector: VolumeConnector, accessMode: 'rw' | 'ro'): Promise<ConnectionInfo> {
    if (!volume.host) throw new ApiError(400, `Invalid volume: Volume ${volume.id} has no backend yet.`);
    try {
      const args: InitializeConnectionArgs = { volumeId: volume.id, connector, accessMode };
      return (await this.ctx.bus.call({ topic: VOLUME_AGENT_TOPIC, server: agentServerOf(volume.host) }, VolumeAgentMethods.initializeConnection, args, { timeoutMs: 30_000 })) as ConnectionInfo;
    } catch (error) {
      this.ctx.log.error({ err: error, volumeId: volume.id }, 'initialize_connection failed');
      throw new ApiError(500, `Bad or unexpected response from the storage volume backend API: Unable to fetch connection information from backend.`);
    }
  }

  private async terminate(volume: VolumeRow | undefined, row: AttachmentRow): Promise<void> {
    if (!volume?.host || !row.connector) return;
    const args: TerminateConnectionArgs = { volumeId: volume.id, connector: JSON.parse(row.connector) as VolumeConnector };
    await this.ctx.bus.call({ topic: VOLUME_AGENT_TOPIC, server: agentServerOf(volume.host) }, VolumeAgentMethods.terminateConnection, args, { timeoutMs: 30_000 }).catch((err: unknown) => {
      this.ctx.log.warn({ err, volumeId: volume.id }, 'terminate_connection failed; the attachment goes anyway');
    });
  }

  /** The attacher plugged it in: the attachment is attached and the volume in-use. */
  async complete(caller: Caller, id: string, mountpoint?: string): Promise<void> {
    const row = await this.find(caller, id, 'volume:attachment_complete');
    if (!row.connection_info && !mountpoint) throw new ApiError(400, `Invalid attachment: attachment ${id} has no connector yet.`);
    await this.ctx.db
      .updateTable('volume_attachment')
      .set({ attach_status: 'attached', attached_at: nowIso(), ...(mountpoint ? { mountpoint } : {}) })
      .where('id', '=', row.id)
      .execute();
    await this.volumes.transition(row.volume_id, ['reserved', 'attaching', 'in-use', 'detaching'], 'in-use');
  }

  /** Detaches: the connection is terminated, the attachment goes, the volume is available once its last does. */
  async delete(caller: Caller, id: string): Promise<string> {
    const row = await this.find(caller, id, 'volume:attachment_delete');
    const volume = await this.volumes.rowOf(row.volume_id);
    await this.terminate(volume, row);
    await this.ctx.db.deleteFrom('volume_attachment').where('id', '=', row.id).execute();
    const rest = await this.ofVolume(row.volume_id);
    const attached = rest.some((a) => a.attach_status === 'attached');
    const status = rest.length === 0 ? 'available' : attached ? 'in-use' : 'reserved';
    await this.volumes.transition(row.volume_id, ['reserved', 'attaching', 'in-use', 'detaching', 'error_attaching', 'error_detaching'], status);
    return status;
  }

  // ------------------------------------------------------------------ legacy actions

  async reserve(caller: Caller, volumeId: string): Promise<void> {
    const volume = await this.volumes.find(caller, volumeId, 'volume_extension:volume_actions:reserve');
    const from = volume.multiattach === 1 ? ['available', 'in-use'] : ['available'];
    if (!(await this.volumes.transition(volume.id, from, 'attaching'))) {
      throw new ApiError(400, `Invalid volume: Volume status must be available to reserve, but the status is ${volume.status}.`);
    }
  }

  async unreserve(caller: Caller, volumeId: string): Promise<void> {
    const volume = await this.volumes.find(caller, volumeId, 'volume_extension:volume_actions:unreserve');
    const live = await this.ofVolume(volume.id);
    await this.volumes.transition(volume.id, ['attaching', 'reserved'], live.some((a) => a.attach_status === 'attached') ? 'in-use' : 'available');
  }

  async legacyInitialize(caller: Caller, volumeId: string, connector: VolumeConnector): Promise<ConnectionInfo> {
    const volume = await this.volumes.find(caller, volumeId, 'volume_extension:volume_actions:initialize_connection');
    if (typeof connector !== 'object' || connector === null) throw new ApiError(400, 'Invalid input received: Must specify a connector.');
    return this.initializeConnection(volume, connector, volume.readonly === 1 ? 'ro' : 'rw');
  }

  async legacyTerminate(caller: Caller, volumeId: string, connector: VolumeConnector): Promise<void> {
    const volume = await this.volumes.find(caller, volumeId, 'volume_extension:volume_actions:terminate_connection');
    if (typeof connector !== 'object' || connector === null) throw new ApiError(400, 'Invalid input received: Must specify a connector.');
    if (volume.host) {
      await this.ctx.bus.call({ topic: VOLUME_AGENT_TOPIC, server: agentServerOf(volume.host) }, VolumeAgentMethods.terminateConnection, { volumeId: volume.id, connector } satisfies TerminateConnectionArgs);
    }
  }

  /** os-attach: records the attachment as attached (the legacy flow reserved the volume first). */
  async legacyAttach(caller: Caller, volumeId: string, body: { instance_uuid?: string; host_name?: string; mountpoint?: string; mode?: string }): Promise<void> {
    const volume = await this.volumes.find(caller, volumeId, 'volume_extension:volume_actions:attach');
    if (!body.mountpoint) throw new ApiError(400, 'Invalid input received: Must specify a mountpoint.');
    if (!body.instance_uuid && !body.host_name) throw new ApiError(400, 'Invalid request to attach volume to an invalid target.');
    const mode = body.mode ?? 'rw';
    if (mode !== 'rw' && mode !== 'ro') throw new ApiError(400, 'Invalid request to attach volume with an invalid mode. Attaching mode should be \'rw\' or \'ro\'.');
    if (!['attaching', 'reserved', ...(volume.multiattach === 1 ? ['in-use'] : [])].includes(volume.status)) {
      throw new ApiError(400, `Invalid volume: Volume status must be attaching or reserved to attach, but the status is ${volume.status}.`);
    }
    const now = nowIso();
    await this.ctx.db
      .insertInto('volume_attachment')
      .values({
        id: randomUUID(),
        volume_id: volume.id,
        project_id: volume.project_id,
        instance_uuid: body.instance_uuid ?? null,
        attached_host: body.host_name ?? null,
        mountpoint: body.mountpoint,
        attach_mode: mode,
        attach_status: 'attached',
        connector: null,
        connection_info: null,
        attached_at: now,
        detached_at: null,
        created_at: now,
      })
      .execute();
    await this.volumes.transition(volume.id, ['attaching', 'reserved', 'in-use'], 'in-use');
  }

  async beginDetaching(caller: Caller, volumeId: string): Promise<void> {
    const volume = await this.volumes.find(caller, volumeId, 'volume_extension:volume_actions:begin_detaching');
    if (!(await this.volumes.transition(volume.id, ['in-use'], 'detaching'))) throw new ApiError(400, `Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.`);
  }

  async rollDetaching(caller: Caller, volumeId: string): Promise<void> {
    const volume = await this.volumes.find(caller, volumeId, 'volume_extension:volume_actions:roll_detaching');
    await this.volumes.transition(volume.id, ['detaching'], 'in-use');
  }

  async legacyDetach(caller: Caller, volumeId: string, attachmentId?: string): Promise<void> {
    const volume = await this.volumes.find(caller, volumeId, 'volume_extension:volume_actions:detach');
    const live = await this.ofVolume(volume.id);
    const target = attachmentId ? live.find((a) => a.id === attachmentId) : live.length === 1 ? live[0] : undefined;
    if (!target) {
      if (live.length > 1) throw new ApiError(400, 'Invalid volume: Detach volume failed, because there are multiple attachments; name attachment_id.');
      throw new ApiError(400, `Invalid volume: Volume ${volume.id} is not attached${attachmentId ? ` through attachment ${attachmentId}` : ''}.`);
    }
    await this.terminate(volume, target);
    await this.ctx.db.deleteFrom('volume_attachment').where('id', '=', target.id).execute();
    const rest = live.filter((a) => a.id !== target.id);
    await this.volumes.transition(volume.id, ['in-use', 'detaching', 'attaching', 'reserved'], rest.length === 0 ? 'available' : 'in-use');
  }

  async forceDetach(caller: Caller, volumeId: string, attachmentId?: string): Promise<void> {
    const volume = await this.volumes.find(caller, volumeId);
    authorize(this.ctx, caller, 'volume_extension:volume_admin_actions:force_detach', { project_id: volume.project_id });
    const live = await this.ofVolume(volume.id);
    for (const a of live) {
      if (attachmentId && a.id !== attachmentId) continue;
      await this.terminate(volume, a);
      await this.ctx.db.deleteFrom('volume_attachment').where('id', '=', a.id).execute();
    }
    const rest = await this.ofVolume(volume.id);
    await this.volumes.setStatus(volume.id, rest.length === 0 ? 'available' : 'in-use');
  }
}
