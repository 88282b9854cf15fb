import type { Kysely } from 'kysely';
import { ApiError } from '../../core/http/errors.js';
import type { VolumeTables } from './tables.js';

/** Cinder's default quotas (cinder.conf's quota_* options). */
export const QUOTA_DEFAULTS: Record<string, number> = {
  volumes: 10,
  snapshots: 10,
  gigabytes: 1000,
  backups: 10,
  backup_gigabytes: 1000,
  groups: 10,
  per_volume_gigabytes: -1,
};

export const QUOTA_RESOURCES = Object.keys(QUOTA_DEFAULTS);

export async function quotaLimits(db: Kysely<VolumeTables>, projectId: string): Promise<Record<string, number>> {
  const limits = { ...QUOTA_DEFAULTS };
  const rows = await db.selectFrom('volume_quota').selectAll().where('project_id', '=', projectId).execute();
  for (const row of rows) limits[row.resource] = row.hard_limit;
  return limits;
}

export async function quotaUsage(db: Kysely<VolumeTables>, projectId: string): Promise<Record<string, number>> {
  const volumes = await db
    .selectFrom('volume_volume')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.coalesce(eb.fn.sum<number>('size'), eb.lit(0)).as('gb')])
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
  const snapshots = await db
    .selectFrom('volume_snapshot')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.coalesce(eb.fn.sum<number>('size'), eb.lit(0)).as('gb')])
    .where('project_id', '=', projectId)
    .executeTakeFirstOrThrow();
  const groups = await db.selectFrom('volume_group').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirstOrThrow();
  return {
    volumes: Number(volumes.n),
    snapshots: Number(snapshots.n),
    gigabytes: Number(volumes.gb) + Number(snapshots.gb),
    backups: 0,
    backup_gigabytes: 0,
    groups: Number(groups.n),
    per_volume_gigabytes: 0,
  };
}

/**
 * Refuses what would take the project over a limit, with Cinder's 413 (VolumeLimitExceeded /
 * VolumeSizeExceedsAvailableQuota). Called inside the transaction that inserts the volume,
 * so two creates at once see each other (SQLite serialises; PostgreSQL takes a row lock below).
 */
export async function checkQuota(db: Kysely<VolumeTables>, projectId: string, wanted: { volumes?: number; snapshots?: number; gigabytes?: number; groups?: number }): Promise<void> {
  const limits = await quotaLimits(db, projectId);
  const used = await quotaUsage(db, projectId);
  if (wanted.gigabytes !== undefined && limits.per_volume_gigabytes! >= 0 && (wanted.volumes ?? 0) > 0 && wanted.gigabytes > limits.per_volume_gigabytes!) {
    throw new ApiError(400, `Volume size ${wanted.gigabytes}G exceeded the per-volume quota of ${limits.per_volume_gigabytes}G.`);
  }
  if (wanted.volumes && limits.volumes! >= 0 && used.volumes! + wanted.volumes > limits.volumes!) {
    throw new ApiError(413, `VolumeLimitExceeded: Maximum number of volumes allowed (${limits.volumes}) exceeded for quota 'volumes'.`);
  }
  if (wanted.snapshots && limits.snapshots! >= 0 && used.snapshots! + wanted.snapshots > limits.snapshots!) {
    throw new ApiError(413, `SnapshotLimitExceeded: Maximum number of snapshots allowed (${limits.snapshots}) exceeded for quota 'snapshots'.`);
  }
  if (wanted.groups && limits.groups! >= 0 && used.groups! + wanted.groups > limits.groups!) {
    throw new ApiError(413, `GroupLimitExceeded: Maximum number of groups allowed (${limits.groups}) exceeded for quota 'groups'.`);
  }
  if (wanted.gigabytes && limits.gigabytes! >= 0 && used.gigabytes! + wanted.gigabytes > limits.gigabytes!) {
    throw new ApiError(
      413,
      `VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes quota. Requested ${wanted.gigabytes}G, quota is ${limits.gigabytes}G and ${used.gigabytes}G has been consumed.`,
    );
  }
}

export async function setQuota(db: Kysely<VolumeTables>, projectId: string, resource: string, hardLimit: number): Promise<void> {
  await db
    .insertInto('volume_quota')
    .values({ project_id: projectId, resource, hard_limit: hardLimit })
    .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet({ hard_limit: hardLimit }))
    .execute();
}

export async function resetQuotas(db: Kysely<VolumeTables>, projectId: string): Promise<void> {
  await db.deleteFrom('volume_quota').where('project_id', '=', projectId).execute();
}
