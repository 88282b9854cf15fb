import { randomUUID } from 'node:crypto';
import type { CreateTableBuilder, Kysely } from 'kysely';
import type { MigrationSet } from '../../core/db/migrations.js';

type Table = CreateTableBuilder<string, never>;

/** The columns every Neutron resource has. */
function common(table: Table): Table {
  return table
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('name', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('description', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0));
}

async function initial(db: Kysely<unknown>): Promise<void> {
  const s = db.schema;
  await common(s.createTable('network_network'))
    .addColumn('admin_state_up', 'integer', (c) => c.notNull())
    .addColumn('shared', 'integer', (c) => c.notNull())
    .addColumn('external', 'integer', (c) => c.notNull())
    .addColumn('mtu', 'integer', (c) => c.notNull())
    .addColumn('port_security_enabled', 'integer', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .execute();
  await s
    .createTable('network_segment')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('network_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('network_type', 'varchar(16)', (c) => c.notNull())
    .addColumn('physical_network', 'varchar(64)', (c) => c.notNull())
    .addColumn('segmentation_id', 'integer', (c) => c.notNull())
    .execute();
  // The database keeps ids from being handed out twice, even under concurrency: a vlan id per
  // physnet, a vni, a gre key; and, with id 0, a single flat network per physnet.
  await s
    .createIndex('network_segment_allocation')
    .on('network_segment')
    .columns(['network_type', 'physical_network', 'segmentation_id'])
    .unique()
    .where('network_type', '!=', 'local')
    .execute();
  await common(s.createTable('network_subnet'))
    .addColumn('network_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('ip_version', 'integer', (c) => c.notNull())
    .addColumn('cidr', 'varchar(64)', (c) => c.notNull())
    .addColumn('gateway_ip', 'varchar(64)')
    .addColumn('enable_dhcp', 'integer', (c) => c.notNull())
    .addColumn('ipv6_ra_mode', 'varchar(32)')
    .addColumn('ipv6_address_mode', 'varchar(32)')
    .addColumn('allocation_pools', 'text', (c) => c.notNull())
    .addColumn('dns_nameservers', 'text', (c) => c.notNull())
    .addColumn('host_routes', 'text', (c) => c.notNull())
    .execute();
  await common(s.createTable('network_port'))
    .addColumn('network_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('mac_address', 'varchar(32)', (c) => c.notNull().unique())
    .addColumn('admin_state_up', 'integer', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('device_owner', 'varchar(255)', (c) => c.notNull())
    .addColumn('device_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('binding_host_id', 'varchar(255)', (c) => c.notNull())
    .addColumn('binding_vif_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('binding_vnic_type', 'varchar(64)', (c) => c.notNull())
    .addColumn('binding_vif_details', 'text', (c) => c.notNull())
    .addColumn('binding_profile', 'text', (c) => c.notNull())
    .addColumn('port_security_enabled', 'integer', (c) => c.notNull())
    .addColumn('allowed_address_pairs', 'text', (c) => c.notNull())
    .execute();
  await s.createIndex('network_port_network').on('network_port').column('network_id').execute();
  await s.createIndex('network_port_device').on('network_port').column('device_id').execute();
  await s
    .createTable('network_ip_allocation')
    .addColumn('port_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('network_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('subnet_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('ip_address', 'varchar(64)', (c) => c.notNull())
    .addPrimaryKeyConstraint('network_ip_allocation_pk', ['subnet_id', 'ip_address'])
    .execute();
  await s.createIndex('network_ip_allocation_port').on('network_ip_allocation').column('port_id').execute();
  await s
    .createTable('network_port_security_group')
    .addColumn('port_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('security_group_id', 'varchar(36)', (c) => c.notNull())
    .addPrimaryKeyConstraint('network_port_security_group_pk', ['port_id', 'security_group_id'])
    .execute();
  await common(s.createTable('network_router'))
    .addColumn('admin_state_up', 'integer', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('gw_network_id', 'varchar(36)')
    .addColumn('gw_port_id', 'varchar(36)')
    .addColumn('enable_snat', 'integer', (c) => c.notNull())
    .addColumn('routes', 'text', (c) => c.notNull())
    .execute();
  await common(s.createTable('network_floatingip'))
    .addColumn('floating_network_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('floating_ip_address', 'varchar(64)', (c) => c.notNull())
    .addColumn('floating_port_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('port_id', 'varchar(36)')
    .addColumn('fixed_ip_address', 'varchar(64)')
    .addColumn('router_id', 'varchar(36)')
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .execute();
  await common(s.createTable('network_security_group'))
    .addColumn('stateful', 'integer', (c) => c.notNull())
    .execute();
  await s
    .createTable('network_security_group_rule')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('security_group_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('direction', 'varchar(8)', (c) => c.notNull())
    .addColumn('ethertype', 'varchar(8)', (c) => c.notNull())
    .addColumn('protocol', 'varchar(40)')
    .addColumn('port_range_min', 'integer')
    .addColumn('port_range_max', 'integer')
    .addColumn('remote_ip_prefix', 'varchar(64)')
    .addColumn('remote_group_id', 'varchar(36)')
    .addColumn('description', 'varchar(255)', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .addColumn('revision_number', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await s.createIndex('network_sg_rule_group').on('network_security_group_rule').column('security_group_id').execute();
  await s
    .createTable('network_tag')
    .addColumn('resource_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('tag', 'varchar(255)', (c) => c.notNull())
    .addPrimaryKeyConstraint('network_tag_pk', ['resource_id', 'tag'])
    .execute();
  await s
    .createTable('network_quota')
    .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('resource', 'varchar(64)', (c) => c.notNull())
    .addColumn('hard_limit', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('network_quota_pk', ['project_id', 'resource'])
    .execute();
}

/**
 * One floating IP per fixed address and external network (Neutron's FloatingIPPortAlreadyAssociated),
 * kept by the database so two concurrent associations cannot both win. Unassociated rows have
 * NULL port and address, which unique indexes never compare equal on SQLite or PostgreSQL.
 */
async function floatingIpAssociation(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('network_floatingip_association')
    .on('network_floatingip')
    .columns(['floating_network_id', 'port_id', 'fixed_ip_address'])
    .unique()
    .execute();
}

/**
 * Which group is each project's `default` (Neutron's default_security_group table). Its primary
 * key lets the database, not a read-then-write, decide which of two racing first requests wins.
 */
async function defaultSecurityGroup(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('network_default_security_group')
    .addColumn('project_id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('security_group_id', 'varchar(36)', (c) => c.notNull())
    .execute();
}

/** Network agents and their tunnel endpoints, which l2population hands to the other hosts. */
async function agents(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('network_agent')
    .addColumn('host', 'varchar(255)', (c) => c.primaryKey())
    .addColumn('tunnel_ip', 'varchar(64)')
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();
}

/**
 * Agents as Neutron's agents extension shows them: an id, what they are, their state reports
 * (configurations: what the host can realise, how its last reconcile went) and heartbeat.
 * Rows from before have no report yet: they get an id now and the rest with their next report.
 */
async function agentReports(db: Kysely<unknown>): Promise<void> {
  const table = () => db.schema.alterTable('network_agent');
  await table().addColumn('id', 'varchar(36)').execute();
  await table().addColumn('agent_type', 'varchar(255)', (c) => c.notNull().defaultTo('')).execute();
  await table().addColumn('agent_binary', 'varchar(255)', (c) => c.notNull().defaultTo('')).execute();
  await table().addColumn('topic', 'varchar(255)', (c) => c.notNull().defaultTo('')).execute();
  await table().addColumn('description', 'varchar(255)').execute();
  await table().addColumn('admin_state_up', 'integer', (c) => c.notNull().defaultTo(1)).execute();
  await table().addColumn('configurations', 'text', (c) => c.notNull().defaultTo('{}')).execute();
  await table().addColumn('created_at', 'varchar(40)').execute();
  await table().addColumn('started_at', 'varchar(40)').execute();
  await table().addColumn('heartbeat_at', 'varchar(40)').execute();
  const agents = db as Kysely<{ network_agent: { host: string; id: string | null } }>;
  for (const row of await agents.selectFrom('network_agent').select('host').execute()) {
    await agents.updateTable('network_agent').set({ id: randomUUID() }).where('host', '=', row.host).execute();
  }
  await db.schema.createIndex('network_agent_id').on('network_agent').column('id').unique().execute();
}

/** One-time start-up work done on this database (DevStack's default networks), so it is never done twice. */
async function bootstrapRecords(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('network_bootstrap')
    .addColumn('name', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('state', 'varchar(16)', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('updated_at', 'varchar(40)', (c) => c.notNull())
    .execute();
}

/** A router's dvr and l3-ha flags (Neutron's router_extra_attributes). */
async function routerFlags(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('network_router').addColumn('distributed', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('network_router').addColumn('ha', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}

/** Per-port DHCP options (extra_dhcp_opt). */
async function extraDhcpOpts(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('network_port').addColumn('extra_dhcp_opts', 'text', (c) => c.notNull().defaultTo('[]')).execute();
}

/**
 * Address scopes, subnet pools and RBAC entries. A network's `shared` and `router:external`
 * flags become wildcard entries (what Neutron keeps them as), so existing ones get theirs.
 * Two subnets of one pool never get the same CIDR (the unique index, for racing allocations).
 */
async function poolsScopesRbac(db: Kysely<unknown>): Promise<void> {
  const s = db.schema;
  await common(s.createTable('network_address_scope'))
    .addColumn('ip_version', 'integer', (c) => c.notNull())
    .addColumn('shared', 'integer', (c) => c.notNull())
    .execute();
  await common(s.createTable('network_subnetpool'))
    .addColumn('ip_version', 'integer', (c) => c.notNull())
    .addColumn('prefixes', 'text', (c) => c.notNull())
    .addColumn('default_prefixlen', 'integer', (c) => c.notNull())
    .addColumn('min_prefixlen', 'integer', (c) => c.notNull())
    .addColumn('max_prefixlen', 'integer', (c) => c.notNull())
    .addColumn('shared', 'integer', (c) => c.notNull())
    .addColumn('is_default', 'integer', (c) => c.notNull())
    .addColumn('address_scope_id', 'varchar(36)')
    .addColumn('default_quota', 'integer')
    .execute();
  await s.alterTable('network_subnet').addColumn('subnetpool_id', 'varchar(36)').execute();
  await s.createIndex('network_subnet_pool_cidr').on('network_subnet').columns(['subnetpool_id', 'cidr']).unique().execute();
  await s
    .createTable('network_rbac')
    .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
    .addColumn('project_id', 'varchar(64)', (c) => c.notNull())
    .addColumn('object_type', 'varchar(32)', (c) => c.notNull())
    .addColumn('object_id', 'varchar(36)', (c) => c.notNull())
    .addColumn('action', 'varchar(32)', (c) => c.notNull())
    .addColumn('target_project', 'varchar(255)', (c) => c.notNull())
    .addColumn('created_at', 'varchar(40)', (c) => c.notNull())
    .execute();
  await s.createIndex('network_rbac_entry').on('network_rbac').columns(['object_type', 'object_id', 'action', 'target_project']).unique().execute();
  await s.createIndex('network_rbac_target').on('network_rbac').column('target_project').execute();
  const nets = db as Kysely<{
    network_network: { id: string; project_id: string; shared: number; external: number; created_at: string };
    network_rbac: { id: string; project_id: string; object_type: string; object_id: string; action: string; target_project: string; created_at: string };
  }>;
  for (const n of await nets.selectFrom('network_network').selectAll().where((eb) => eb.or([eb('shared', '=', 1), eb('external', '=', 1)])).execute()) {
    for (const action of [...(n.shared ? ['access_as_shared'] : []), ...(n.external ? ['access_as_external'] : [])]) {
      await nets.insertInto('network_rbac').values({ id: randomUUID(), project_id: n.project_id, object_type: 'network', object_id: n.id, action, target_project: '*', created_at: n.created_at }).execute();
    }
  }
}

export const networkMigrations: MigrationSet = {
  'network-0001-initial': { up: initial },
  'network-0002-floatingip-association': { up: floatingIpAssociation },
  'network-0003-default-security-group': { up: defaultSecurityGroup },
  'network-0004-agents': { up: agents },
  'network-0005-agent-reports': { up: agentReports },
  'network-0006-bootstrap-records': { up: bootstrapRecords },
  'network-0007-router-flags': { up: routerFlags },
  'network-0008-extra-dhcp-opts': { up: extraDhcpOpts },
  'network-0009-pools-scopes-rbac': { up: poolsScopesRbac },
};
