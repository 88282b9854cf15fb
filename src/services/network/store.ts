import type { Kysely, Transaction } from 'kysely';
import { standardFromRow, standardToRow } from './rows.js';
import { mapInTurns } from '../../core/cooperative.js';
import type { Database } from '../../core/db/database.js';
import type { Segment } from './ml2/driver.js';
import type { FixedIp, Network, Port, Subnet } from './model.js';
import type { NetworkRow, NetworkTables, PortRow, SegmentRow, SubnetRow } from './tables.js';
import type { QuotaTable } from './quotas.js';

type Db = Kysely<NetworkTables> | Transaction<NetworkTables>;

const json = (value: unknown) => JSON.stringify(value);
const parse = <T>(text: string, fallback: T): T => {
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

/** Networks, segments, subnets, ports, IP allocations, tags and quotas (SQL only). */
export class NetworkRecords {
  readonly db: Kysely<NetworkTables>;

  constructor(readonly database: Database) {
    this.db = database.tables<NetworkTables>();
  }

  // --- networks and segments ---

  /** (physnet, id) keys already used by a network type, for the type driver's candidates. */
  async usedSegments(networkType: string): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom('network_segment')
      .select(['physical_network', 'segmentation_id'])
      .where('network_type', '=', networkType)
      .execute();
    return new Set(rows.map((r) => `${r.physical_network}|${r.segmentation_id}`));
  }

  /** Network and segment in one transaction; a taken segment fails it with a unique violation. */
  async createNetwork(network: Network): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('network_network').values(networkRow(network)).execute();
      await tx.insertInto('network_segment').values(segmentRow(network.id, network.segment)).execute();
      await this.writeTags(tx, network.id, network.tags);
    });
  }

  async getNetwork(id: string): Promise<Network | undefined> {
    return (await this.listNetworks({ ids: [id] }))[0];
  }

  async listNetworks(filter: { ids?: string[]; visibleTo?: string } = {}): Promise<Network[]> {
    let q = this.db
      .selectFrom('network_network as n')
      .innerJoin('network_segment as s', 's.network_id', 'n.id')
      .selectAll('n')
      .select(['s.network_type', 's.physical_network', 's.segmentation_id']);
    if (filter.ids) {
      if (filter.ids.length === 0) return [];
      q = q.where('n.id', 'in', filter.ids);
    }
    if (filter.visibleTo !== undefined) {
      const project = filter.visibleTo;
      // Its own, and those an RBAC entry shares or makes external for it or for everyone.
      const granted = this.db
        .selectFrom('network_rbac')
        .select('object_id')
        .where('object_type', '=', 'network')
        .where('target_project', 'in', ['*', project]);
      q = q.where((eb) => eb.or([eb('n.project_id', '=', project), eb('n.shared', '=', 1), eb('n.id', 'in', granted)]));
    }
    const rows = await q.execute();
    const tags = await this.tagsOf(rows.map((r) => r.id));
    return mapInTurns(rows, (r) => ({
      ...standardFromRow(r, tags),
      adminStateUp: r.admin_state_up === 1,
      shared: r.shared === 1,
      external: r.external === 1,
      mtu: r.mtu,
      portSecurityEnabled: r.port_security_enabled === 1,
      status: r.status,
      segment: {
        networkType: r.network_type,
        physicalNetwork: r.physical_network === '' ? null : r.physical_network,
        segmentationId: r.segmentation_id === 0 ? null : r.segmentation_id,
      },
    }));
  }

  async updateNetwork(network: Network): Promise<void> {
    const { id, ...row } = networkRow(network);
    await this.db.updateTable('network_network').set(row).where('id', '=', id).execute();
  }

  async deleteNetwork(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('network_segment').where('network_id', '=', id).execute();
      await tx.deleteFrom('network_tag').where('resource_id', '=', id).execute();
      await tx.deleteFrom('network_network').where('id', '=', id).execute();
    });
  }

  // --- subnets ---

  async createSubnet(subnet: Subnet): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('network_subnet').values(subnetRow(subnet)).execute();
      await this.writeTags(tx, subnet.id, subnet.tags);
    });
  }

  async listSubnets(filter: { ids?: string[]; networkIds?: string[]; subnetpoolId?: string } = {}): Promise<Subnet[]> {
    let q = this.db.selectFrom('network_subnet').selectAll();
    if (filter.subnetpoolId !== undefined) q = q.where('subnetpool_id', '=', filter.subnetpoolId);
    if (filter.ids) {
      if (filter.ids.length === 0) return [];
      q = q.where('id', 'in', filter.ids);
    }
    if (filter.networkIds) {
      if (filter.networkIds.length === 0) return [];
      q = q.where('network_id', 'in', filter.networkIds);
    }
    const rows = await q.execute();
    const tags = await this.tagsOf(rows.map((r) => r.id));
    return mapInTurns(rows, (r) => ({
      ...standardFromRow(r, tags),
      networkId: r.network_id,
      ipVersion: r.ip_version === 6 ? 6 : 4,
      cidr: r.cidr,
      gatewayIp: r.gateway_ip,
      enableDhcp: r.enable_dhcp === 1,
      ipv6RaMode: r.ipv6_ra_mode,
      ipv6AddressMode: r.ipv6_address_mode,
      allocationPools: parse(r.allocation_pools, []),
      dnsNameservers: parse(r.dns_nameservers, []),
      hostRoutes: parse(r.host_routes, []),
      subnetpoolId: r.subnetpool_id,
    }));
  }

  async getSubnet(id: string): Promise<Subnet | undefined> {
    return (await this.listSubnets({ ids: [id] }))[0];
  }

  async updateSubnet(subnet: Subnet): Promise<void> {
    const { id, ...row } = subnetRow(subnet);
    await this.db.updateTable('network_subnet').set(row).where('id', '=', id).execute();
  }

  async deleteSubnet(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('network_tag').where('resource_id', '=', id).execute();
      await tx.deleteFrom('network_subnet').where('id', '=', id).execute();
    });
  }

  // --- ports and IP allocations ---

  /** Which of `candidates` are in use on a subnet. */
  async allocatedAmong(subnetId: string, candidates: string[]): Promise<Set<string>> {
    if (candidates.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('network_ip_allocation')
      .select('ip_address')
      .where('subnet_id', '=', subnetId)
      .where('ip_address', 'in', candidates)
      .execute();
    return new Set(rows.map((r) => r.ip_address));
  }

  /** Addresses in use on a subnet, for IPAM. */
  async allocatedAddresses(subnetId: string): Promise<Set<string>> {
    const rows = await this.db.selectFrom('network_ip_allocation').select('ip_address').where('subnet_id', '=', subnetId).execute();
    return new Set(rows.map((r) => r.ip_address));
  }

  /**
   * Port, its addresses and security groups in one transaction: an address someone else
   * took in the meantime fails the whole insert with a unique violation, and IPAM retries.
   */
  async createPort(port: Port): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('network_port').values(portRow(port)).execute();
      await this.writeAllocations(tx, port.id, port.networkId, port.fixedIps);
      await this.writeSecurityGroups(tx, port.id, port.securityGroups);
      await this.writeTags(tx, port.id, port.tags);
    });
  }

  async updatePort(port: Port, changed: { fixedIps: boolean; securityGroups: boolean }): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const { id, ...row } = portRow(port);
      await tx.updateTable('network_port').set(row).where('id', '=', id).execute();
      if (changed.fixedIps) {
        await tx.deleteFrom('network_ip_allocation').where('port_id', '=', port.id).execute();
        await this.writeAllocations(tx, port.id, port.networkId, port.fixedIps);
      }
      if (changed.securityGroups) {
        await tx.deleteFrom('network_port_security_group').where('port_id', '=', port.id).execute();
        await this.writeSecurityGroups(tx, port.id, port.securityGroups);
      }
    });
  }

  async deletePort(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('network_ip_allocation').where('port_id', '=', id).execute();
      await tx.deleteFrom('network_port_security_group').where('port_id', '=', id).execute();
      await tx.deleteFrom('network_tag').where('resource_id', '=', id).execute();
      await tx.deleteFrom('network_port').where('id', '=', id).execute();
    });
  }

  async getPort(id: string): Promise<Port | undefined> {
    return (await this.listPorts({ ids: [id] }))[0];
  }

  async listPorts(filter: { ids?: string[]; networkIds?: string[]; deviceId?: string; deviceOwner?: string; projectId?: string } = {}): Promise<Port[]> {
    let q = this.db.selectFrom('network_port').selectAll();
    if (filter.ids) {
      if (filter.ids.length === 0) return [];
      q = q.where('id', 'in', filter.ids);
    }
    if (filter.networkIds) {
      if (filter.networkIds.length === 0) return [];
      q = q.where('network_id', 'in', filter.networkIds);
    }
    if (filter.deviceId !== undefined) q = q.where('device_id', '=', filter.deviceId);
    if (filter.deviceOwner !== undefined) q = q.where('device_owner', '=', filter.deviceOwner);
    if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
    // In the order lists default to: sorting them again is then one cheap pass.
    const rows = await q.orderBy('id').execute();
    // Listing every port: read the side tables whole rather than 500 ids at a time.
    const everything = Object.values(filter).every((v) => v === undefined);
    const ids = everything ? undefined : rows.map((r) => r.id);
    const [tags, ips, groups] = await Promise.all([this.tagsOf(ids), this.allocationsOf(ids), this.securityGroupsOf(ids)]);
    return mapInTurns(rows, (r) => ({
      ...standardFromRow(r, tags),
      networkId: r.network_id,
      macAddress: r.mac_address,
      adminStateUp: r.admin_state_up === 1,
      status: r.status,
      deviceOwner: r.device_owner,
      deviceId: r.device_id,
      bindingHostId: r.binding_host_id,
      bindingVifType: r.binding_vif_type,
      bindingVnicType: r.binding_vnic_type,
      bindingVifDetails: parse(r.binding_vif_details, {}),
      bindingProfile: parse(r.binding_profile, {}),
      portSecurityEnabled: r.port_security_enabled === 1,
      allowedAddressPairs: parse(r.allowed_address_pairs, []),
      fixedIps: ips.get(r.id) ?? [],
      securityGroups: groups.get(r.id) ?? [],
      extraDhcpOpts: parse(r.extra_dhcp_opts, []),
    }));
  }

  /** Ports on these networks that hold `ipAddress` (canonical form) among their fixed IPs. */
  async portsWithAddress(networkIds: string[], ipAddress: string): Promise<Port[]> {
    if (networkIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('network_ip_allocation')
      .select('port_id')
      .where('network_id', 'in', networkIds)
      .where('ip_address', '=', ipAddress)
      .execute();
    return rows.length === 0 ? [] : this.listPorts({ ids: [...new Set(rows.map((r) => r.port_id))] });
  }

  /** Whether any port (on any network: the column is unique) has this MAC. */
  async macInUse(mac: string): Promise<boolean> {
    return (await this.db.selectFrom('network_port').select('id').where('mac_address', '=', mac).executeTakeFirst()) !== undefined;
  }

  async countPortsOnSubnet(subnetId: string, exceptOwners: string[] = []): Promise<number> {
    let q = this.db
      .selectFrom('network_ip_allocation as a')
      .innerJoin('network_port as p', 'p.id', 'a.port_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('a.subnet_id', '=', subnetId);
    if (exceptOwners.length > 0) q = q.where('p.device_owner', 'not in', exceptOwners);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  // --- quotas ---

  async count(table: QuotaTable, projectId: string): Promise<number> {
    const row = await this.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async quotaOverrides(projectId: string): Promise<Map<string, number>> {
    const rows = await this.db.selectFrom('network_quota').selectAll().where('project_id', '=', projectId).execute();
    return new Map(rows.map((r) => [r.resource, r.hard_limit]));
  }

  /** One statement, so that two concurrent updates of the same quota cannot collide on its key. */
  async setQuota(projectId: string, resource: string, limit: number): Promise<void> {
    await this.db
      .insertInto('network_quota')
      .values({ project_id: projectId, resource, hard_limit: limit })
      .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet({ hard_limit: limit }))
      .execute();
  }

  async deleteQuotas(projectId: string): Promise<void> {
    await this.db.deleteFrom('network_quota').where('project_id', '=', projectId).execute();
  }

  async projectsWithQuotas(): Promise<string[]> {
    const rows = await this.db.selectFrom('network_quota').select('project_id').distinct().execute();
    return rows.map((r) => r.project_id);
  }

  // --- shared helpers ---

  /** Tags of the given resources, or of every resource when `ids` is undefined. */
  async tagsOf(ids: string[] | undefined): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const chunk of chunks(ids)) {
      let q = this.db.selectFrom('network_tag').selectAll();
      if (chunk) q = q.where('resource_id', 'in', chunk);
      for (const r of await q.execute()) push(out, r.resource_id, r.tag);
    }
    return out;
  }

  /**
   * A new resource's tags. An update never writes them: it would put back the list it read
   * before a tag was added at the same moment; tags change only through the tag requests.
   */
  async writeTags(db: Db, resourceId: string, tags: string[]): Promise<void> {
    await db.deleteFrom('network_tag').where('resource_id', '=', resourceId).execute();
    if (tags.length > 0) await db.insertInto('network_tag').values(tags.map((tag) => ({ resource_id: resourceId, tag }))).execute();
  }

  /**
   * Replaces a resource's tags: drops those not in the list, adds the missing ones. Requests
   * at once never fail on each other (a tag another has just added is kept, not re-inserted;
   * all insert in the same order, so none waits on another in a cycle).
   */
  async replaceTags(resourceId: string, tags: string[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      let drop = tx.deleteFrom('network_tag').where('resource_id', '=', resourceId);
      if (tags.length > 0) drop = drop.where('tag', 'not in', tags);
      await drop.execute();
      if (tags.length === 0) return;
      await tx
        .insertInto('network_tag')
        .values([...tags].sort().map((tag) => ({ resource_id: resourceId, tag })))
        .onConflict((oc) => oc.columns(['resource_id', 'tag']).doNothing())
        .execute();
    });
  }

  /** Adds one tag; one the resource already has (another request's at the same moment) is no error. */
  async addTag(resourceId: string, tag: string): Promise<void> {
    await this.db
      .insertInto('network_tag')
      .values({ resource_id: resourceId, tag })
      .onConflict((oc) => oc.columns(['resource_id', 'tag']).doNothing())
      .execute();
  }

  /** Removes one tag; false when the resource did not have it. */
  async removeTag(resourceId: string, tag: string): Promise<boolean> {
    const result = await this.db.deleteFrom('network_tag').where('resource_id', '=', resourceId).where('tag', '=', tag).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  private async allocationsOf(portIds: string[] | undefined): Promise<Map<string, FixedIp[]>> {
    const out = new Map<string, FixedIp[]>();
    for (const chunk of chunks(portIds)) {
      let q = this.db.selectFrom('network_ip_allocation').selectAll();
      if (chunk) q = q.where('port_id', 'in', chunk);
      for (const r of await q.execute()) push(out, r.port_id, { subnetId: r.subnet_id, ipAddress: r.ip_address });
    }
    return out;
  }

  private async securityGroupsOf(portIds: string[] | undefined): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const chunk of chunks(portIds)) {
      let q = this.db.selectFrom('network_port_security_group').selectAll();
      if (chunk) q = q.where('port_id', 'in', chunk);
      for (const r of await q.execute()) push(out, r.port_id, r.security_group_id);
    }
    return out;
  }

  private async writeAllocations(db: Db, portId: string, networkId: string, ips: FixedIp[]): Promise<void> {
    if (ips.length === 0) return;
    await db
      .insertInto('network_ip_allocation')
      .values(ips.map((ip) => ({ port_id: portId, network_id: networkId, subnet_id: ip.subnetId, ip_address: ip.ipAddress })))
      .execute();
  }

  private async writeSecurityGroups(db: Db, portId: string, groups: string[]): Promise<void> {
    if (groups.length === 0) return;
    await db.insertInto('network_port_security_group').values(groups.map((g) => ({ port_id: portId, security_group_id: g }))).execute();
  }
}

function networkRow(n: Network): NetworkRow {
  return {
    ...standardToRow(n),
    admin_state_up: n.adminStateUp ? 1 : 0,
    shared: n.shared ? 1 : 0,
    external: n.external ? 1 : 0,
    mtu: n.mtu,
    port_security_enabled: n.portSecurityEnabled ? 1 : 0,
    status: n.status,
  };
}

function segmentRow(networkId: string, s: Segment): SegmentRow {
  return {
    id: networkId,
    network_id: networkId,
    network_type: s.networkType,
    physical_network: s.physicalNetwork ?? '',
    segmentation_id: s.segmentationId ?? 0,
  };
}

function subnetRow(s: Subnet): SubnetRow {
  return {
    ...standardToRow(s),
    network_id: s.networkId,
    ip_version: s.ipVersion,
    cidr: s.cidr,
    gateway_ip: s.gatewayIp,
    enable_dhcp: s.enableDhcp ? 1 : 0,
    ipv6_ra_mode: s.ipv6RaMode,
    ipv6_address_mode: s.ipv6AddressMode,
    allocation_pools: json(s.allocationPools),
    dns_nameservers: json(s.dnsNameservers),
    host_routes: json(s.hostRoutes),
    subnetpool_id: s.subnetpoolId,
  };
}

function portRow(p: Port): PortRow {
  return {
    ...standardToRow(p),
    network_id: p.networkId,
    mac_address: p.macAddress,
    admin_state_up: p.adminStateUp ? 1 : 0,
    status: p.status,
    device_owner: p.deviceOwner,
    device_id: p.deviceId,
    binding_host_id: p.bindingHostId,
    binding_vif_type: p.bindingVifType,
    binding_vnic_type: p.bindingVnicType,
    binding_vif_details: json(p.bindingVifDetails),
    binding_profile: json(p.bindingProfile),
    port_security_enabled: p.portSecurityEnabled ? 1 : 0,
    allowed_address_pairs: json(p.allowedAddressPairs),
    extra_dhcp_opts: json(p.extraDhcpOpts),
  };
}

/** `ids` in slices SQL engines accept in one IN list; `undefined` means one unrestricted query. */
function chunks(ids: string[] | undefined): Array<string[] | undefined> {
  if (ids === undefined) return [undefined];
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += 500) out.push(ids.slice(i, i + 500));
  return out;
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
