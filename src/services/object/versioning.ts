import type { ObjectContext } from './context.js';
import { newTimestamp } from './context.js';
import { parseMetadata } from './metadata.js';
import type { ObjectContainerRow, ObjectObjectRow } from './tables.js';

/**
 * Swift's object versioning (versioned_writes): with X-Versions-Location ("stack" mode) an
 * overwritten version moves to the versions container and a DELETE brings the newest one back;
 * with X-History-Location ("history" mode) overwrites and DELETEs both keep the old version there.
 */
export function versioningOf(container: ObjectContainerRow | undefined): { mode: 'stack' | 'history'; location: string } | undefined {
  if (!container) return undefined;
  const meta = parseMetadata(container.metadata);
  if (meta['x-versions-location']) return { mode: 'stack', location: meta['x-versions-location'] };
  if (meta['x-history-location']) return { mode: 'history', location: meta['x-history-location'] };
  return undefined;
}

/** `<3 hex digits of the name's byte length><name>/`: where a name's versions sort, oldest first. */
export function versionPrefix(name: string): string {
  return `${Buffer.byteLength(name).toString(16).padStart(3, '0')}${name}/`;
}

/** Copies a stored version (its bytes and its record) to another name; quotas do not apply, as in Swift's own copies. */
async function copyRow(ctx: ObjectContext, row: ObjectObjectRow, container: string, name: string): Promise<boolean> {
  const written = await ctx.files.write(ctx.files.read(row.file), Number.MAX_SAFE_INTEGER);
  try {
    const old = await ctx.records.putObject({ ...row, container, name, file: written.key, created_at: row.created_at }, () => undefined);
    if (old) await ctx.files.remove(old.file);
    return true;
  } catch {
    await ctx.files.remove(written.key);
    return false;
  }
}

/** Before an overwrite (or a history-mode DELETE): the current version goes to the versions container. */
export async function archiveCurrent(ctx: ObjectContext, account: string, container: ObjectContainerRow | undefined, name: string): Promise<void> {
  const versioning = versioningOf(container);
  if (!versioning) return;
  const current = await ctx.records.object(account, (container as ObjectContainerRow).name, name);
  if (!current || (current.delete_at !== null && current.delete_at <= Date.now() / 1000)) return;
  if (!(await ctx.records.container(account, versioning.location))) return;
  await copyRow(ctx, current, versioning.location, `${versionPrefix(name)}${current.created_at}`);
}

/** After a stack-mode DELETE: the newest archived version becomes the object again. */
export async function restorePrevious(ctx: ObjectContext, account: string, container: ObjectContainerRow, name: string): Promise<boolean> {
  const versioning = versioningOf(container);
  if (versioning?.mode !== 'stack') return false;
  const prefix = versionPrefix(name);
  const [latest] = await ctx.records.objects(account, versioning.location, { from: prefix, before: `${prefix}\u{10FFFF}`, reverse: true, limit: 1 });
  if (!latest) return false;
  if (!(await copyRow(ctx, { ...latest, created_at: newTimestamp() }, container.name, name))) return false;
  const gone = await ctx.records.deleteObject(account, versioning.location, latest.name);
  if (gone) await ctx.files.remove(gone.file);
  return true;
}
