import type { Caller, NetworkContext } from './context.js';
import { NeutronError } from './context.js';
import type { Network, Subnet } from './model.js';
import { DEVICE_OWNER_ROUTER_INTERFACE } from './model.js';
import { createNetwork } from './networks.js';
import { createSubnetPool } from './subnet-pools.js';
import { addRouterInterface, createRouter } from './routers.js';
import { createRule, defaultSecurityGroup } from './security-groups.js';
import { createSubnet } from './subnets.js';

/**
 * DevStack's first-start topology: an external flat network `public` (physnet `public`,
 * 172.24.4.0/24 with its gateway on the host's bridge), demo's `private` (10.0.0.0/26) and
 * demo's `router1` joining them, so a first boot on `private` gets a floating IP from `public`
 * that the host can ping. Made once per database: a record says it was, so networks a user
 * deletes stay deleted, and a cloud that had networks before never gets them.
 */

const RECORD = 'default-networks';
export const PUBLIC_NETWORK = 'public';
export const PUBLIC_CIDR = '172.24.4.0/24';
export const PRIVATE_CIDR = '10.0.0.0/26';
/** DevStack's SUBNETPOOL_NAME_V4 and IPV4_ADDRS_SAFE_TO_USE. */
export const DEFAULT_POOL = 'shared-default-subnetpool-v4';
export const DEFAULT_POOL_PREFIX = '10.0.0.0/22';

export interface DefaultNetworksOptions {
  adminProjectId: string;
  demoProjectId: string;
  /** The physnet `public` is on (the all-in-one maps it to its host bridge). */
  physnet: string;
  /** Asked only when `public` is to be made: its range, and why it is not 172.24.4.0/24 if so. */
  publicRange: () => Promise<{ cidr: string; note?: string }>;
}

export interface DefaultNetworks {
  /** `made` now, `present` (made on an earlier start), `skipped` (the cloud had networks first), or `off` (not asked for). */
  state: 'made' | 'present' | 'skipped' | 'off';
  public?: { id: string; cidr: string; gatewayIp: string | null };
  private?: { id: string; cidr: string };
  router?: { id: string };
  /** Why `public` has another range, or why nothing was made. */
  note?: string;
}

type Details = Omit<DefaultNetworks, 'state'>;

/** Makes the topology on a fresh database (or finishes one an interrupted start began); otherwise says what was done before. */
export async function ensureDefaultNetworks(ctx: NetworkContext, enabled: boolean, options: DefaultNetworksOptions): Promise<DefaultNetworks> {
  const db = ctx.records.db;
  const record = await db.selectFrom('network_bootstrap').selectAll().where('name', '=', RECORD).executeTakeFirst();
  const details = record ? (JSON.parse(record.details) as Details) : {};
  if (record?.state === 'done') return { state: 'present', ...details };
  if (record?.state === 'skipped') return { state: 'skipped', ...details };
  if (!enabled) return { state: 'off' };
  if (!record) {
    const anyNetwork = await db.selectFrom('network_network').select('id').limit(1).executeTakeFirst();
    if (anyNetwork) {
      const note = 'this cloud had networks before default networks were made';
      await write(ctx, 'skipped', { note });
      return { state: 'skipped', note };
    }
    await write(ctx, 'started', {});
  }
  const made = await makeTopology(ctx, options);
  await write(ctx, 'done', made);
  return { state: 'made', ...made };
}

async function write(ctx: NetworkContext, state: string, details: Details): Promise<void> {
  const row = { state, details: JSON.stringify(details), updated_at: new Date().toISOString() };
  await ctx.records.db
    .insertInto('network_bootstrap')
    .values({ name: RECORD, ...row })
    .onConflict((oc) => oc.column('name').doUpdateSet(row))
    .execute();
}

/** Each piece is looked up by name first, so a start that was interrupted halfway finishes the job. */
async function makeTopology(ctx: NetworkContext, options: DefaultNetworksOptions): Promise<Details> {
  const admin = adminIn(options.adminProjectId);
  const demo = adminIn(options.demoProjectId);
  let note: string | undefined;

  const publicNet =
    (await named(ctx, PUBLIC_NETWORK, options.adminProjectId)) ??
    (await createNetwork(ctx, admin, {
      name: PUBLIC_NETWORK,
      'router:external': true,
      'provider:network_type': 'flat',
      'provider:physical_network': options.physnet,
    }));
  let publicSubnet = await subnetNamed(ctx, publicNet, 'public-subnet');
  if (!publicSubnet) {
    const range = await options.publicRange();
    note = range.note;
    publicSubnet = await createSubnet(ctx, admin, { network_id: publicNet.id, name: 'public-subnet', cidr: range.cidr, ip_version: 4, enable_dhcp: false });
  }

  const privateNet = (await named(ctx, 'private', options.demoProjectId)) ?? (await createNetwork(ctx, demo, { name: 'private' }));
  const privateSubnet =
    (await subnetNamed(ctx, privateNet, 'private-subnet')) ??
    (await createSubnet(ctx, demo, { network_id: privateNet.id, name: 'private-subnet', cidr: PRIVATE_CIDR, ip_version: 4 }));

  const existing = (await ctx.l3.listRouters({ projectId: options.demoProjectId })).find((r) => r.name === 'router1');
  const router = existing ?? (await createRouter(ctx, demo, { name: 'router1', external_gateway_info: { network_id: publicNet.id } }));
  const interfaces = await ctx.records.listPorts({ deviceId: router.id, deviceOwner: DEVICE_OWNER_ROUTER_INTERFACE });
  if (!interfaces.some((p) => p.fixedIps.some((f) => f.subnetId === privateSubnet.id))) {
    await addRouterInterface(ctx, demo, router.id, { subnet_id: privateSubnet.id });
  }

  // DevStack's shared default pool, which auto-allocated topologies and `use_default_subnetpool` carve from.
  if (!(await ctx.pools.listPools({ defaultFor: 4 })).length) {
    await createSubnetPool(ctx, admin, { name: DEFAULT_POOL, prefixes: [DEFAULT_POOL_PREFIX], default_prefixlen: 26, shared: true, is_default: true });
  }

  // The first thing a user does is ping the floating IP from the host: demo's default group lets ICMP in.
  const group = await defaultSecurityGroup(ctx, options.demoProjectId);
  await createRule(ctx, demo, { security_group_id: group, direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp', remote_ip_prefix: '0.0.0.0/0' }).catch(
    (error: unknown) => {
      if (!(error instanceof NeutronError && error.kind === 'SecurityGroupRuleExists')) throw error;
    },
  );
  return {
    public: { id: publicNet.id, cidr: publicSubnet.cidr, gatewayIp: publicSubnet.gatewayIp },
    private: { id: privateNet.id, cidr: privateSubnet.cidr },
    router: { id: router.id },
    ...(note ? { note } : {}),
  };
}

/** Acting inside a project with admin rights, as DevStack's scripts do with the admin and demo credentials. */
function adminIn(projectId: string): Caller {
  return { projectId, isAdmin: true, credentials: { user_id: 'kumo', project_id: projectId, roles: ['admin', 'member', 'reader'] } };
}

async function named(ctx: NetworkContext, name: string, projectId: string): Promise<Network | undefined> {
  return (await ctx.records.listNetworks({ visibleTo: projectId })).find((n) => n.name === name && n.projectId === projectId);
}

async function subnetNamed(ctx: NetworkContext, network: Network, name: string): Promise<Subnet | undefined> {
  return (await ctx.records.listSubnets({ networkIds: [network.id] })).find((s) => s.name === name);
}
