import type { ImageContext } from './context.js';
import { isAbandoned } from './transfers.js';

export interface RecoveryReport {
  /** Images put back to queued (or, for a cut-off import with its staged data intact, to uploading). */
  reset: string[];
  /** Unfinished writes removed from the stores. */
  discarded: string[];
}

/**
 * Run at start: data transfers that no process is running any more (a crash or a kill cut
 * them off) leave their images as Glance leaves a failed upload, queued with nothing
 * stored, and their partial files are removed. Transfers another live process on the same
 * data directory is running are left alone (see transfers.ts).
 */
export async function recoverInterruptedTransfers(ctx: ImageContext): Promise<RecoveryReport> {
  const report: RecoveryReport = { reset: [], discarded: [] };
  for (const { image, lease } of await ctx.records.inTransfer()) {
    if (!isAbandoned(lease, image.id)) continue;
    const stagedBytes = await ctx.staging.size(image.id);
    let moved: boolean;
    if (image.status === 'uploading' && stagedBytes !== undefined) {
      // Staged completely (waiting for its import, or cut off just before saying so): it stays staged.
      if (lease === null && image.size === stagedBytes) continue;
      moved = await ctx.records.transition(image.id, ['uploading'], 'uploading', { size: stagedBytes, transfer_lease: null });
    } else if (image.status === 'importing' && stagedBytes !== undefined) {
      await ctx.store.delete(image.id);
      moved = await ctx.records.transition(image.id, ['importing'], 'uploading', { size: stagedBytes, transfer_lease: null });
    } else {
      await ctx.store.delete(image.id);
      await ctx.staging.delete(image.id);
      moved = await ctx.records.transition(image.id, [image.status], 'queued', { size: null, transfer_lease: null });
    }
    if (moved) report.reset.push(image.id);
  }
  for (const store of [ctx.store, ctx.staging]) {
    for (const key of await store.unfinished()) {
      const lease = await ctx.records.leaseOf(key);
      if (lease !== undefined && lease !== null && !isAbandoned(lease, key)) continue;
      await store.discardUnfinished(key);
      report.discarded.push(`${store.id}/${key}`);
    }
  }
  if (report.reset.length > 0 || report.discarded.length > 0) {
    ctx.log.warn(report, 'image data transfers cut off by a previous stop were undone');
  }
  return report;
}
