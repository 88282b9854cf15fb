import { Migrator, type Migration, type MigrationProvider } from 'kysely';
import type { Database } from './database.js';

/**
 * One migration history for the whole cloud. Each service contributes migrations named
 * `<service>-NNNN-<what>`; order between services does not matter, order within one does.
 */
export type MigrationSet = Record<string, Migration>;

class StaticProvider implements MigrationProvider {
  constructor(private readonly migrations: MigrationSet) {}
  async getMigrations(): Promise<MigrationSet> {
    return this.migrations;
  }
}

export async function migrateToLatest(database: Database, sets: MigrationSet[]): Promise<string[]> {
  const all: MigrationSet = {};
  for (const set of sets) {
    for (const [name, migration] of Object.entries(set)) {
      if (all[name]) throw new Error(`migration ${name} is defined twice`);
      all[name] = migration;
    }
  }
  const migrator = new Migrator({
    db: database.tables<object>(),
    provider: new StaticProvider(all),
    allowUnorderedMigrations: true,
    // Without it Kysely takes a kysely_migration table in any schema for ours, and a fresh
    // schema next to another one (test runs side by side) never gets its own.
    ...(database.schema !== undefined ? { migrationTableSchema: database.schema } : {}),
  });
  const { error, results } = await database.withSchemaLock(() => migrator.migrateToLatest());
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
