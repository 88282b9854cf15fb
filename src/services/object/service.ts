import { join } from 'node:path';
import type { TokenValidator } from '../../core/auth/context.js';
import type { KumoConfig } from '../../core/config.js';
import type { Database } from '../../core/db/database.js';
import type { Logger } from '../../core/log.js';
import type { ObjectContext } from './context.js';
import { ObjectFiles } from './files.js';
import { auditObjects } from './auditor.js';
import { expireObjects } from './objects.js';
import { ObjectRecords } from './store.js';

export function createObjectContext(config: KumoConfig, database: Database, tokens: TokenValidator, log: Logger): ObjectContext {
  return {
    records: new ObjectRecords(database),
    files: new ObjectFiles(join(config.dataDir, 'objects')),
    tokens,
    log: log.child({ service: 'object' }),
    expirerIntervalMs: 10_000,
    auditorIntervalMs: 3_600_000,
  };
}

/**
 * Starts the service's background work: first the sweep of writes a crash interrupted, then the
 * expirer and (hourly) the auditor. Resolves to its stop.
 */
export async function startObjectService(ctx: ObjectContext): Promise<() => Promise<void>> {
  const swept = await ctx.files.sweep();
  if (swept > 0) ctx.log.info({ files: swept }, 'removed the partial files of interrupted object uploads');
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = expireObjects(ctx).catch((err: unknown) => ctx.log.warn({ err }, 'object expirer pass failed'));
  }, ctx.expirerIntervalMs);
  timer.unref();
  let auditing: Promise<unknown> = Promise.resolve();
  const auditor = setInterval(() => {
    auditing = auditObjects(ctx).catch((err: unknown) => ctx.log.warn({ err }, 'object auditor pass failed'));
  }, ctx.auditorIntervalMs);
  auditor.unref();
  return async () => {
    clearInterval(timer);
    clearInterval(auditor);
    await Promise.all([running, auditing]);
  };
}
