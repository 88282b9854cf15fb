import type { ObjectContext } from './context.js';

export interface AuditResult {
  checked: number;
  quarantined: number;
}

/**
 * Swift's object auditor: reads every stored object back and compares its md5 with the ETag
 * recorded at PUT. A file that no longer matches (or is gone) is moved to `quarantined/` and its
 * object removed from the listings, so a GET answers 404 rather than serving damaged bytes (with
 * one copy there is no replica to restore it from). SLO manifests are checked as JSON only.
 */
export async function auditObjects(ctx: ObjectContext, batch = 200): Promise<AuditResult> {
  const result: AuditResult = { checked: 0, quarantined: 0 };
  let cursor: { account: string; container: string; name: string } | undefined;
  for (;;) {
    const rows = await ctx.records.objectsAfter(cursor, batch);
    for (const row of rows) {
      cursor = { account: row.account, container: row.container, name: row.name };
      let intact: boolean;
      if (row.slo) {
        try {
          JSON.parse((await ctx.files.readAll(row.file)).toString('utf8'));
          intact = true;
        } catch {
          intact = false;
        }
      } else {
        intact = (await ctx.files.md5Of(row.file)) === row.etag;
      }
      result.checked += 1;
      if (intact) continue;
      // Only the version audited: a newer one written meanwhile is not touched.
      const gone = await ctx.records.deleteObject(row.account, row.container, row.name, row.file);
      if (!gone) continue;
      await ctx.files.quarantine(row.file);
      result.quarantined += 1;
      ctx.log.warn({ account: row.account, container: row.container, object: row.name, file: row.file }, 'object auditor: damaged object quarantined');
    }
    if (rows.length < batch) return result;
  }
}
