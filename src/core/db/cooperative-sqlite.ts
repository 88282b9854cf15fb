import type SQLite from 'better-sqlite3';
import { SqliteDialect, SqliteDriver, type CompiledQuery, type DatabaseConnection, type Driver, type QueryResult } from 'kysely';
import { pace } from '../cooperative.js';

/**
 * SQLite through better-sqlite3, whose calls are synchronous: a SELECT of ten thousand rows,
 * or a thousand small statements chained by awaits (which never leave the turn), would hold
 * the event loop for their whole length. Here every statement, and a read between its rows,
 * hands the loop back once the turn's time slice is spent (see core/cooperative.ts). Kysely's
 * one-connection mutex still keeps every other statement off the connection until a read is
 * done, as better-sqlite3 requires while a statement is being iterated.
 */
export class CooperativeSqliteDialect extends SqliteDialect {
  constructor(private readonly sqlite: SQLite.Database) {
    super({ database: sqlite });
  }

  override createDriver(): Driver {
    return new CooperativeSqliteDriver(this.sqlite);
  }
}

class CooperativeSqliteDriver extends SqliteDriver {
  constructor(private readonly sqlite: SQLite.Database) {
    super({ database: sqlite });
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    // The parent's connection, taken for its mutex; statements run on the wrapper below.
    return new CooperativeConnection(this.sqlite, await super.acquireConnection());
  }
}

class CooperativeConnection implements DatabaseConnection {
  constructor(
    private readonly sqlite: SQLite.Database,
    private readonly inner: DatabaseConnection,
  ) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const before = pace();
    if (before) await before;
    const statement = this.sqlite.prepare(compiled.sql);
    const parameters = compiled.parameters as unknown[];
    if (statement.reader) {
      const rows: R[] = [];
      for (const row of statement.iterate(parameters)) {
        rows.push(row as R);
        const pause = pace();
        if (pause) await pause;
      }
      return { rows };
    }
    const { changes, lastInsertRowid } = statement.run(parameters);
    return {
      numAffectedRows: BigInt(changes),
      insertId: BigInt(lastInsertRowid),
      rows: [],
    };
  }

  streamQuery<R>(compiled: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(compiled, chunkSize);
  }
}
