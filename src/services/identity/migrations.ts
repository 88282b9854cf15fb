import type { Kysely } from 'kysely';
import type { MigrationSet } from '../../core/db/migrations.js';

type Schema = Kysely<unknown>;

async function initial(db: Schema): Promise<void> {
  const text = 'text' as const;
  const int = 'integer' as const;
  await db.schema
    .createTable('identity_domain')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().unique())
    .addColumn('description', text, (c) => c.notNull().defaultTo(''))
    .addColumn('enabled', int, (c) => c.notNull())
    .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('identity_project')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('domain_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('parent_id', 'varchar(64)')
    .addColumn('description', text, (c) => c.notNull().defaultTo(''))
    .addColumn('enabled', int, (c) => c.notNull())
    .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addUniqueConstraint('identity_project_domain_name', ['domain_id', 'name'])
    .execute();
  await db.schema
    .createTable('identity_project_tag')
    .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addPrimaryKeyConstraint('identity_project_tag_pk', ['project_id', 'name'])
    .execute();
  await db.schema
    .createTable('identity_user')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('domain_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('enabled', int, (c) => c.notNull())
    .addColumn('password_hash', text)
    .addColumn('password_created_at', 'varchar(40)')
    .addColumn('password_expires_at', 'varchar(40)')
    .addColumn('default_project_id', 'varchar(64)')
    .addColumn('description', text, (c) => c.notNull().defaultTo(''))
    .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
    .addColumn('options', text, (c) => c.notNull().defaultTo('{}'))
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addUniqueConstraint('identity_user_domain_name', ['domain_id', 'name'])
    .execute();
  await db.schema
    .createTable('identity_group')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('domain_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('description', text, (c) => c.notNull().defaultTo(''))
    .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
    .addUniqueConstraint('identity_group_domain_name', ['domain_id', 'name'])
    .execute();
  await db.schema
    .createTable('identity_membership')
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('group_id', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('identity_membership_pk', ['user_id', 'group_id'])
    .execute();
  await db.schema
    .createTable('identity_role')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('domain_id', 'varchar(64)', (c) => c.notNull().defaultTo(''))
    .addColumn('description', text, (c) => c.notNull().defaultTo(''))
    .addColumn('options', text, (c) => c.notNull().defaultTo('{}'))
    .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
    .addUniqueConstraint('identity_role_name_domain', ['name', 'domain_id'])
    .execute();
  await db.schema
    .createTable('identity_implied_role')
    .addColumn('prior_role_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('implied_role_id', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('identity_implied_role_pk', ['prior_role_id', 'implied_role_id'])
    .execute();
  await db.schema
    .createTable('identity_assignment')
    .addColumn('type', 'varchar(16)', (c) => c.notNull())
    .addColumn('actor_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('target_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('role_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('inherited', int, (c) => c.notNull())
    .addPrimaryKeyConstraint('identity_assignment_pk', ['type', 'actor_id', 'target_id', 'role_id', 'inherited'])
    .execute();
  await db.schema.createIndex('identity_assignment_actor').on('identity_assignment').column('actor_id').execute();
  await db.schema
    .createTable('identity_region')
    .addColumn('id', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('description', text, (c) => c.notNull().defaultTo(''))
    .addColumn('parent_region_id', 'varchar(255)')
    .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema
    .createTable('identity_service')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('type', 'varchar(255)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('description', text, (c) => c.notNull().defaultTo(''))
    .addColumn('enabled', int, (c) => c.notNull())
    .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema
    .createTable('identity_endpoint')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('service_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('interface', 'varchar(8)', (c) => c.notNull())
    .addColumn('region_id', 'varchar(255)')
    .addColumn('url', text, (c) => c.notNull())
    .addColumn('enabled', int, (c) => c.notNull())
    .addColumn('extra', text, (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema
    .createTable('identity_application_credential')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(255)', (c) => c.notNull())
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('secret_hash', text, (c) => c.notNull())
    .addColumn('description', text, (c) => c.notNull().defaultTo(''))
    .addColumn('expires_at', 'varchar(40)')
    .addColumn('unrestricted', int, (c) => c.notNull())
    .addColumn('roles', text, (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addUniqueConstraint('identity_app_cred_user_name', ['user_id', 'name'])
    .execute();
  await db.schema
    .createTable('identity_revocation_event')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(64)')
    .addColumn('project_id', 'varchar(64)')
    .addColumn('domain_id', 'varchar(64)')
    .addColumn('audit_id', 'varchar(64)')
    .addColumn('issued_before', 'varchar(40)', (c) => c.notNull())
    .addColumn('revoked_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('identity_registered_limit')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('service_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('region_id', 'varchar(255)')
    .addColumn('resource_name', 'varchar(255)', (c) => c.notNull())
    .addColumn('default_limit', int, (c) => c.notNull())
    .addColumn('description', text, (c) => c.notNull().defaultTo(''))
    .execute();
  await db.schema
    .createTable('identity_limit')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('service_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('region_id', 'varchar(255)')
    .addColumn('resource_name', 'varchar(255)', (c) => c.notNull())
    .addColumn('resource_limit', int, (c) => c.notNull())
    .addColumn('description', text, (c) => c.notNull().defaultTo(''))
    .execute();
}

/** Keystone's [security_compliance]: failed-login tracking for lockout, and password history. */
async function securityCompliance(db: Schema): Promise<void> {
  await db.schema.alterTable('identity_user').addColumn('failed_auth_count', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('identity_user').addColumn('failed_auth_at', 'varchar(40)').execute();
  await db.schema
    .createTable('identity_password_history')
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('identity_password_history_user').on('identity_password_history').column('user_id').execute();
}

/**
 * Keystone's credentials (EC2 keys among them, so the id is derived from the access key),
 * the opaque policy blobs of /v3/policies, and per-domain configuration kept as one JSON
 * document per domain because it is only ever read and replaced whole or by group.
 */
async function credentialsPoliciesDomainConfig(db: Schema): Promise<void> {
  await db.schema
    .createTable('identity_credential')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('project_id', 'varchar(64)')
    .addColumn('type', 'varchar(255)', (c) => c.notNull())
    .addColumn('blob', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('identity_credential_user').on('identity_credential').column('user_id').execute();
  await db.schema
    .createTable('identity_policy')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('type', 'varchar(255)', (c) => c.notNull())
    .addColumn('blob', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('identity_domain_config')
    .addColumn('domain_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('config', 'text', (c) => c.notNull())
    .execute();
}

/**
 * Whether this database had its first-start accounts (admin, demo, their projects and grants):
 * a row every process of a deployment sees, so that none re-creates what an operator deleted.
 * A database an older version started already had them, so it is marked at once.
 */
async function bootstrapMarker(db: Schema): Promise<void> {
  await db.schema
    .createTable('identity_bootstrap')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('completed_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  const tables = db as unknown as Kysely<{ identity_domain: { id: string }; identity_bootstrap: { name: string; completed_at: string } }>;
  const started = await tables.selectFrom('identity_domain').select('id').limit(1).executeTakeFirst();
  if (started) {
    await tables.insertInto('identity_bootstrap').values({ name: FIRST_START, completed_at: new Date().toISOString() }).execute();
  }
}

/** OS-TRUST's trusts, with their delegated roles inline (read and written whole, as application credentials'). */
async function trusts(db: Schema): Promise<void> {
  await db.schema
    .createTable('identity_trust')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('trustor_user_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('trustee_user_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('project_id', 'varchar(64)')
    .addColumn('impersonation', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'varchar(40)')
    .addColumn('remaining_uses', 'integer')
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('allow_redelegation', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('redelegation_count', 'integer')
    .addColumn('redelegated_trust_id', 'varchar(64)')
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('deleted_at', 'varchar(40)')
    .execute();
  await db.schema.createIndex('identity_trust_trustor').on('identity_trust').column('trustor_user_id').execute();
  await db.schema.createIndex('identity_trust_trustee').on('identity_trust').column('trustee_user_id').execute();
}

/** Application credentials' access rules: each user's own, shared by the credentials that name them. */
async function accessRules(db: Schema): Promise<void> {
  await db.schema
    .createTable('identity_access_rule')
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('user_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('service', 'varchar(64)', (c) => c.notNull())
    .addColumn('path', 'varchar(255)', (c) => c.notNull())
    .addColumn('method', 'varchar(16)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addUniqueConstraint('identity_access_rule_unique', ['user_id', 'service', 'path', 'method'])
    .execute();
  await db.schema.alterTable('identity_application_credential').addColumn('access_rules', 'text').execute();
}

/** Policies keep the attributes a caller gives beside type and blob, as Keystone's policy table does. */
async function policyExtra(db: Schema): Promise<void> {
  await db.schema.alterTable('identity_policy').addColumn('extra', 'text', (c) => c.notNull().defaultTo('{}')).execute();
}

/** The `identity_bootstrap` row of the first start's accounts. */
export const FIRST_START = 'first-start';

export const identityMigrations: MigrationSet = {
  'identity-0001-initial': { up: initial },
  'identity-0002-security-compliance': { up: securityCompliance },
  'identity-0003-credentials-policies-domain-config': { up: credentialsPoliciesDomainConfig },
  'identity-0004-bootstrap-marker': { up: bootstrapMarker },
  'identity-0005-trusts': { up: trusts },
  'identity-0006-access-rules': { up: accessRules },
  'identity-0007-policy-extra': { up: policyExtra },
};
