import { sql, type Kysely } from 'kysely';
import type { ComputeTables } from '../tables.js';

/** What a project holds, as counted in the database (key pairs for one user). */
export interface Counts {
  instances: number;
  cores: number;
  ram: number;
  key_pairs: number;
  server_groups: number;
}

/** Stored quota limits and the counts quotas are checked against (SQL only; the rules live in quotas.ts). */
export class QuotaRecords {
  constructor(private readonly db: Kysely<ComputeTables>) {}

  /** Stored limits of a project or quota class, by resource. */
  async limitsOf(owner: string): Promise<Record<string, number>> {
    const rows = await this.db.selectFrom('compute_quota').select(['resource', 'hard_limit']).where('project_id', '=', owner).execute();
    return Object.fromEntries(rows.map((r) => [r.resource, Number(r.hard_limit)]));
  }

  /** Sets each limit, all in one transaction. */
  async setLimits(owner: string, limits: Record<string, number>): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      for (const [resource, hardLimit] of Object.entries(limits)) {
        await tx
          .insertInto('compute_quota')
          .values({ project_id: owner, resource, hard_limit: hardLimit })
          .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet({ hard_limit: hardLimit }))
          .execute();
      }
    });
  }

  async deleteLimits(owner: string): Promise<void> {
    await this.db.deleteFrom('compute_quota').where('project_id', '=', owner).execute();
  }

  /** Live instances (with their cores and RAM, summed from the instance rows) and server groups of the project; key pairs of the user, if one is named. */
  async counts(projectId: string, userId?: string): Promise<Counts> {
    const instances = await this.db
      .selectFrom('compute_instance')
      .select((eb) => [
        eb.fn.countAll<number>().as('n'),
        eb.fn.coalesce(eb.fn.sum<number>('vcpus'), eb.lit(0)).as('cores'),
        eb.fn.coalesce(eb.fn.sum<number>('memory_mb'), eb.lit(0)).as('ram'),
      ])
      .where('project_id', '=', projectId)
      .where('deleted', '=', 0)
      .executeTakeFirstOrThrow();
    const keyPairs = userId
      ? await this.db.selectFrom('compute_keypair').select(sql<number>`count(*)`.as('n')).where('user_id', '=', userId).executeTakeFirstOrThrow()
      : { n: 0 };
    const groups = await this.db
      .selectFrom('compute_server_group')
      .select(sql<number>`count(*)`.as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow();
    return {
      instances: Number(instances.n),
      cores: Number(instances.cores),
      ram: Number(instances.ram),
      key_pairs: Number(keyPairs.n),
      server_groups: Number(groups.n),
    };
  }
}
