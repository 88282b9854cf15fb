import type { Kysely } from 'kysely';
import type { Database } from '../../../core/db/database.js';
import type { ComputeTables } from '../tables.js';

/**
 * Nova's metadata password (GET/POST openstack/latest/password): the guest posts it once,
 * usually encrypted with the instance's public key, and the owner reads it back.
 */
export class InstancePasswords {
  private readonly db: Kysely<ComputeTables>;

  constructor(private readonly database: Database) {
    this.db = database.tables<ComputeTables>();
  }

  async get(instanceId: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('compute_instance_password').select('password').where('instance_id', '=', instanceId).executeTakeFirst();
    return row?.password;
  }

  /** Stores the password unless one is already set; false when it was (Nova's 409). */
  async setOnce(instanceId: string, password: string): Promise<boolean> {
    try {
      await this.db.insertInto('compute_instance_password').values({ instance_id: instanceId, password, created_at: new Date().toISOString() }).execute();
      return true;
    } catch (error) {
      if (this.database.isUniqueViolation(error)) return false;
      throw error;
    }
  }
}
