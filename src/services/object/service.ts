import { join } from 'node:path';
import type { TokenValidator } from '../../core/auth/context.js';
import type { KumoConfig } from '../../core/config.js';
import type { Database } from '../../core/db/database.js';
import type { Logger } from '../../core/log.js';
import type { ObjectContext } from './context.js';
import { ObjectFiles } from './files.js';
import { expireObjects } from './objects.js';
import { ObjectRecords } from './store.js';

export function createObjectContext(config: KumoConfig, database: Database, tokens: TokenValidator, log: Logger): ObjectContext {
  return {
    records: new ObjectRecords(database),
    files: new ObjectFiles(join(config.dataDir, 'objects')),
    tokens,
    log: log.child({ service: 'object' }),
    expirerIntervalMs: 10_000,
  };
}

/**
 * Starts the service's background work: first the sweep of writes a crash interrupted, then the
 * expirer. Resolves to its stop.
 */
export async function startObjectService(ctx: ObjectContext): Promise<() => Promise<void>> {
  const swept = await ctx.files.sweep();
  if (swept > 0) ctx.log.info({ files: swept }, 'removed the partial files of interrupted object uploads');
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = expireObjects(ctx).catch((err: unknown) => ctx.log.warn({ err }, 'object expirer pass failed'));
  }, ctx.expirerIntervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
