import type { Kysely } from 'kysely';
import type { Database } from '../../core/db/database.js';
import type { ObjectAccountRow, ObjectContainerRow, ObjectObjectRow, ObjectTables } from './tables.js';

/** One page of a listing walk: names strictly after `after` and before `before`, in byte order. */
export interface NameRange {
  after?: string;
  before?: string;
  /** Only names at or above this (a prefix's start). */
  from?: string;
  reverse: boolean;
  limit: number;
}

/** PostgreSQL hands bigints back as strings. */
const num = (value: number | string | bigint): number => Number(value);

function containerOf(row: ObjectContainerRow): ObjectContainerRow {
  return { ...row, object_count: num(row.object_count), bytes_used: num(row.bytes_used) };
}

function objectOf(row: ObjectObjectRow): ObjectObjectRow {
  return { ...row, size: num(row.size), slo: num(row.slo), delete_at: row.delete_at === null ? null : num(row.delete_at) };
}

/** Thrown inside a write's transaction to roll it back with a reason the service turns into HTTP. */
export class WriteRefused extends Error {
  constructor(readonly reason: 'no-container' | 'quota' | 'not-empty' | 'exists') {
    super(reason);
  }
}

/** SQL of accounts, containers and objects (no HTTP, no rules beyond keeping counts exact). */
export class ObjectRecords {
  private readonly db: Kysely<ObjectTables>;

  constructor(readonly database: Database) {
    this.db = database.tables<ObjectTables>();
  }

  async account(account: string): Promise<ObjectAccountRow | undefined> {
    return this.db.selectFrom('object_account').selectAll().where('account', '=', account).executeTakeFirst();
  }

  async saveAccount(row: ObjectAccountRow): Promise<void> {
    await this.db
      .insertInto('object_account')
      .values(row)
      .onConflict((oc) => oc.column('account').doUpdateSet({ metadata: row.metadata }))
      .execute();
  }

  async accountTotals(account: string): Promise<{ containers: number; objects: number; bytes: number }> {
    const row = await this.db
      .selectFrom('object_container')
      .select((eb) => [eb.fn.countAll<number>().as('containers'), eb.fn.sum<number>('object_count').as('objects'), eb.fn.sum<number>('bytes_used').as('bytes')])
      .where('account', '=', account)
      .executeTakeFirst();
    return { containers: num(row?.containers ?? 0), objects: num(row?.objects ?? 0), bytes: num(row?.bytes ?? 0) };
  }

  async container(account: string, name: string): Promise<ObjectContainerRow | undefined> {
    const row = await this.db.selectFrom('object_container').selectAll().where('account', '=', account).where('name', '=', name).executeTakeFirst();
    return row ? containerOf(row) : undefined;
  }

  async containers(account: string, range: NameRange): Promise<ObjectContainerRow[]> {
    let q = this.db.selectFrom('object_container').selectAll().where('account', '=', account);
    if (range.after !== undefined) q = q.where('name', '>', range.after);
    if (range.before !== undefined) q = q.where('name', '<', range.before);
    if (range.from !== undefined) q = q.where('name', '>=', range.from);
    const rows = await q.orderBy('name', range.reverse ? 'desc' : 'asc').limit(range.limit).execute();
    return rows.map(containerOf);
  }

  /** Creates the container, or (when it exists) replaces its metadata; true when it was created. */
  async putContainer(row: ObjectContainerRow): Promise<boolean> {
    return this.database.transaction(async (tx) => {
      const db = tx.tables<ObjectTables>();
      const existing = await db.selectFrom('object_container').select('name').where('account', '=', row.account).where('name', '=', row.name).executeTakeFirst();
      if (existing) {
        await db.updateTable('object_container').set({ metadata: row.metadata }).where('account', '=', row.account).where('name', '=', row.name).execute();
        return false;
      }
      await db.insertInto('object_container').values(row).execute();
      return true;
    });
  }

  async setContainerMetadata(account: string, name: string, metadata: string): Promise<void> {
    await this.db.updateTable('object_container').set({ metadata }).where('account', '=', account).where('name', '=', name).execute();
  }

  /** Deletes an empty container; throws WriteRefused('not-empty') otherwise. False when there was none. */
  async deleteContainer(account: string, name: string): Promise<boolean> {
    return this.database.transaction(async (tx) => {
      const db = tx.tables<ObjectTables>();
      const row = await this.lockContainer(tx, account, name);
      if (!row) return false;
      if (num(row.object_count) > 0) throw new WriteRefused('not-empty');
      await db.deleteFrom('object_container').where('account', '=', account).where('name', '=', name).execute();
      return true;
    });
  }

  async object(account: string, container: string, name: string): Promise<ObjectObjectRow | undefined> {
    const row = await this.db
      .selectFrom('object_object')
      .selectAll()
      .where('account', '=', account)
      .where('container', '=', container)
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? objectOf(row) : undefined;
  }

  async objects(account: string, container: string, range: NameRange): Promise<ObjectObjectRow[]> {
    let q = this.db.selectFrom('object_object').selectAll().where('account', '=', account).where('container', '=', container);
    if (range.after !== undefined) q = q.where('name', '>', range.after);
    if (range.before !== undefined) q = q.where('name', '<', range.before);
    if (range.from !== undefined) q = q.where('name', '>=', range.from);
    const rows = await q.orderBy('name', range.reverse ? 'desc' : 'asc').limit(range.limit).execute();
    return rows.map(objectOf);
  }

  /**
   * Makes `row` the object's current version and keeps the container's counts exact: the
   * container row is locked first, so concurrent writers of one container take turns.
   * `allow` sees the container (after the change's deltas) and may refuse with WriteRefused.
   * Resolves to the version replaced, whose file the caller removes.
   */
  async putObject(
    row: ObjectObjectRow,
    allow: (
      container: ObjectContainerRow,
      delta: { objects: number; bytes: number },
      replaced: ObjectObjectRow | undefined,
      /** Reads inside the transaction (SQLite has one connection: a read outside would wait for it). */
      inTransaction: ObjectRecords,
    ) => Promise<void> | void,
  ): Promise<ObjectObjectRow | undefined> {
    return this.database.transaction(async (tx) => {
      const db = tx.tables<ObjectTables>();
      const container = await this.lockContainer(tx, row.account, row.container);
      if (!container) throw new WriteRefused('no-container');
      const oldRow = await db
        .selectFrom('object_object')
        .selectAll()
        .where('account', '=', row.account)
        .where('container', '=', row.container)
        .where('name', '=', row.name)
        .executeTakeFirst();
      const old = oldRow ? objectOf(oldRow) : undefined;
      const delta = { objects: old ? 0 : 1, bytes: row.size - (old?.size ?? 0) };
      await allow(containerOf(container), delta, old, new ObjectRecords(tx));
      if (old) {
        await db
          .updateTable('object_object')
          .set({ size: row.size, etag: row.etag, content_type: row.content_type, created_at: row.created_at, metadata: row.metadata, file: row.file, slo: row.slo, delete_at: row.delete_at })
          .where('account', '=', row.account)
          .where('container', '=', row.container)
          .where('name', '=', row.name)
          .execute();
      } else {
        await db.insertInto('object_object').values(row).execute();
      }
      await db
        .updateTable('object_container')
        .set((eb) => ({ object_count: eb('object_count', '+', delta.objects), bytes_used: eb('bytes_used', '+', delta.bytes), updated_at: row.created_at }))
        .where('account', '=', row.account)
        .where('name', '=', row.container)
        .execute();
      return old;
    });
  }

  /** POST: new metadata (and content type, expiry) for the version there is; false when there is none. */
  async updateObject(account: string, container: string, name: string, set: Pick<ObjectObjectRow, 'metadata' | 'content_type' | 'delete_at' | 'created_at'>): Promise<boolean> {
    const result = await this.db
      .updateTable('object_object')
      .set(set)
      .where('account', '=', account)
      .where('container', '=', container)
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Deletes the object (only the version `onlyFile` names, when given: the expirer must not delete
   * a newer version written meanwhile). Resolves to the deleted row, whose file the caller removes.
   */
  async deleteObject(account: string, container: string, name: string, onlyFile?: string): Promise<ObjectObjectRow | undefined> {
    return this.database.transaction(async (tx) => {
      const db = tx.tables<ObjectTables>();
      const locked = await this.lockContainer(tx, account, container);
      if (!locked) return undefined;
      const oldRow = await db
        .selectFrom('object_object')
        .selectAll()
        .where('account', '=', account)
        .where('container', '=', container)
        .where('name', '=', name)
        .executeTakeFirst();
      if (!oldRow || (onlyFile !== undefined && oldRow.file !== onlyFile)) return undefined;
      const old = objectOf(oldRow);
      await db.deleteFrom('object_object').where('account', '=', account).where('container', '=', container).where('name', '=', name).execute();
      await db
        .updateTable('object_container')
        .set((eb) => ({ object_count: eb('object_count', '-', 1), bytes_used: eb('bytes_used', '-', old.size) }))
        .where('account', '=', account)
        .where('name', '=', container)
        .execute();
      return old;
    });
  }

  /** Every object in key order (account, container, name), after `cursor`: the auditor's walk. */
  async objectsAfter(cursor: { account: string; container: string; name: string } | undefined, limit: number): Promise<ObjectObjectRow[]> {
    let q = this.db.selectFrom('object_object').selectAll();
    if (cursor) {
      q = q.where((eb) =>
        eb.or([
          eb('account', '>', cursor.account),
          eb.and([eb('account', '=', cursor.account), eb('container', '>', cursor.container)]),
          eb.and([eb('account', '=', cursor.account), eb('container', '=', cursor.container), eb('name', '>', cursor.name)]),
        ]),
      );
    }
    const rows = await q.orderBy('account').orderBy('container').orderBy('name').limit(limit).execute();
    return rows.map(objectOf);
  }

  /** Objects whose X-Delete-At has passed, oldest first. */
  async expired(nowSeconds: number, limit: number): Promise<ObjectObjectRow[]> {
    const rows = await this.db.selectFrom('object_object').selectAll().where('delete_at', '<=', nowSeconds).orderBy('delete_at').limit(limit).execute();
    return rows.map(objectOf);
  }

  private async lockContainer(tx: Database, account: string, name: string): Promise<ObjectContainerRow | undefined> {
    let q = tx.tables<ObjectTables>().selectFrom('object_container').selectAll().where('account', '=', account).where('name', '=', name);
    if (tx.kind === 'postgres') q = q.forUpdate();
    return q.executeTakeFirst();
  }
}
