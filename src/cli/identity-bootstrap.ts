import { join } from 'node:path';
import { MIGRATIONS } from '../cloud.js';
import { openBus } from '../core/bus/index.js';
import type { KumoConfig } from '../core/config.js';
import { preparePrivateDataDir } from '../core/data-dir.js';
import { openDatabase } from '../core/db/database.js';
import { migrateToLatest } from '../core/db/migrations.js';
import { createLogger } from '../core/log.js';
import { Enforcer } from '../core/policy/index.js';
import { bootstrapAdmin, generatePassword } from '../services/identity/bootstrap.js';
import { IdentityService } from '../services/identity/service.js';
import { adminClient, clientFilesUrl, identityUrl, readBootstrapCredentials, saveBootstrapCredentials, writeClientFiles } from './credentials-files.js';

/**
 * `kumo identity bootstrap` (keystone-manage bootstrap): restores the admin user of project
 * admin, with the admin role there and on the system, on the cloud's database. The password
 * (given, or random) goes into the data directory's client files, never onto the terminal.
 */
export async function identityBootstrap(config: KumoConfig, password: string | undefined): Promise<void> {
  preparePrivateDataDir(config.dataDir);
  const log = createLogger(config.logLevel);
  const database = await openDatabase(config.databaseUrl, config.databaseSchema ? { schema: config.databaseSchema } : {});
  try {
    await migrateToLatest(database, MIGRATIONS);
    const bus = await openBus(config.busUrl, { logger: log, ...(config.busNamespace ? { namespace: config.busNamespace } : {}) });
    try {
      const identity = new IdentityService(config, database, new Enforcer({}), bus, log);
      const secret = password ?? generatePassword();
      const result = await bootstrapAdmin(identity.context, { username: 'admin', projectName: 'admin', password: secret });
      await identity.announceChange();

      saveBootstrapCredentials(config.dataDir, { ...readBootstrapCredentials(config.dataDir), adminPassword: secret });
      writeClientFiles(config.dataDir, clientFilesUrl(config.dataDir) ?? identityUrl(config.publicUrl), config.region, [adminClient(secret)]);
      const user = result.userCreated ? 'created' : result.passwordChanged ? 'password reset (its earlier tokens are revoked)' : 'unchanged';
      const lines = [
        `Bootstrap admin ready: user admin (${result.userId}) has the admin role on project admin (${result.projectId}) and on the system.`,
        `  user:     ${user}`,
        `  password: in ${join(config.dataDir, 'admin-openrc.sh')}, the kumo-admin cloud of ${join(config.dataDir, 'clouds.yaml')}`,
        `            and ${join(config.dataDir, 'bootstrap-credentials.json')}`,
        ...result.warnings.map((w) => `  warning:  ${w}`),
      ];
      if (bus.kind === 'memory') {
        lines.push('  note:     a kumo up already running on this data directory keeps its caches (old tokens, grants) until it restarts');
      }
      process.stdout.write(lines.join('\n') + '\n');
    } finally {
      await bus.close();
    }
  } finally {
    await database.close();
  }
}
