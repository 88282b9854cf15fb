import type { Kysely } from 'kysely';
import { standardFromRow, standardToRow } from './rows.js';
import type { FloatingIp, HostRoute, Router } from './model.js';
import type { NetworkRecords } from './store.js';
import type { FloatingIpRow, NetworkTables, RouterRow } from './tables.js';

const parseRoutes = (text: string): HostRoute[] => {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? (value as HostRoute[]) : [];
  } catch {
    return [];
  }
};

/**
 * Routers and floating IPs (SQL only). A router's interfaces and gateway are ports, kept by
 * NetworkRecords; tags live in the shared tag table.
 */
export class L3Records {
  private readonly db: Kysely<NetworkTables>;

  constructor(private readonly records: NetworkRecords) {
    this.db = records.db;
  }

  // --- routers ---

  async createRouter(router: Router): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('network_router').values(routerRow(router)).execute();
      await this.records.writeTags(tx, router.id, router.tags);
    });
  }

  async getRouter(id: string): Promise<Router | undefined> {
    return (await this.listRouters({ ids: [id] }))[0];
  }

  async listRouters(filter: { ids?: string[]; projectId?: string; gatewayNetworkIds?: string[] } = {}): Promise<Router[]> {
    let q = this.db.selectFrom('network_router').selectAll();
    if (filter.ids) {
      if (filter.ids.length === 0) return [];
      q = q.where('id', 'in', filter.ids);
    }
    if (filter.gatewayNetworkIds) {
      if (filter.gatewayNetworkIds.length === 0) return [];
      q = q.where('gw_network_id', 'in', filter.gatewayNetworkIds);
    }
    if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
    const rows = await q.execute();
    const tags = await this.records.tagsOf(rows.map((r) => r.id));
    return rows.map((r) => ({
      ...standardFromRow(r, tags),
      adminStateUp: r.admin_state_up === 1,
      status: r.status,
      gatewayNetworkId: r.gw_network_id,
      gatewayPortId: r.gw_port_id,
      enableSnat: r.enable_snat === 1,
      routes: parseRoutes(r.routes),
      distributed: r.distributed === 1,
      ha: r.ha === 1,
    }));
  }

  /**
   * Writes the router if nobody changed it since `expectedRevision` was read; false when
   * someone did, so the caller can look again instead of overwriting a concurrent gateway.
   */
  async updateRouter(router: Router, expectedRevision: number): Promise<boolean> {
    const { id, ...row } = routerRow(router);
    const result = await this.db.updateTable('network_router').set(row).where('id', '=', id).where('revision_number', '=', expectedRevision).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async deleteRouter(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('network_tag').where('resource_id', '=', id).execute();
      await tx.deleteFrom('network_router').where('id', '=', id).execute();
    });
  }

  // --- floating IPs ---

  /** A unique index on (network, port, fixed address) refuses a second association of one fixed IP. */
  async createFloatingIp(fip: FloatingIp): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.insertInto('network_floatingip').values(floatingIpRow(fip)).execute();
      await this.records.writeTags(tx, fip.id, fip.tags);
    });
  }

  async getFloatingIp(id: string): Promise<FloatingIp | undefined> {
    return (await this.listFloatingIps({ ids: [id] }))[0];
  }

  async listFloatingIps(
    filter: { ids?: string[]; projectId?: string; routerId?: string; portId?: string; floatingNetworkId?: string } = {},
  ): Promise<FloatingIp[]> {
    let q = this.db.selectFrom('network_floatingip').selectAll();
    if (filter.ids) {
      if (filter.ids.length === 0) return [];
      q = q.where('id', 'in', filter.ids);
    }
    if (filter.projectId !== undefined) q = q.where('project_id', '=', filter.projectId);
    if (filter.routerId !== undefined) q = q.where('router_id', '=', filter.routerId);
    if (filter.portId !== undefined) q = q.where('port_id', '=', filter.portId);
    if (filter.floatingNetworkId !== undefined) q = q.where('floating_network_id', '=', filter.floatingNetworkId);
    const rows = await q.execute();
    const tags = await this.records.tagsOf(rows.map((r) => r.id));
    return rows.map((r) => ({
      ...standardFromRow(r, tags),
      floatingNetworkId: r.floating_network_id,
      floatingIpAddress: r.floating_ip_address,
      floatingPortId: r.floating_port_id,
      portId: r.port_id,
      fixedIpAddress: r.fixed_ip_address,
      routerId: r.router_id,
      status: r.status,
    }));
  }

  async updateFloatingIp(fip: FloatingIp): Promise<void> {
    const { id, ...row } = floatingIpRow(fip);
    await this.db.updateTable('network_floatingip').set(row).where('id', '=', id).execute();
  }

  async deleteFloatingIp(id: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('network_tag').where('resource_id', '=', id).execute();
      await tx.deleteFrom('network_floatingip').where('id', '=', id).execute();
    });
  }

  /** Floating IPs lose their association when the internal port goes away, as Neutron's do; returns those that did. */
  async disassociatePort(portId: string, updatedAt: string): Promise<FloatingIp[]> {
    const associated = await this.listFloatingIps({ portId });
    for (const fip of associated) {
      await this.db
        .updateTable('network_floatingip')
        .set({ port_id: null, fixed_ip_address: null, router_id: null, status: 'DOWN', updated_at: updatedAt, revision_number: fip.revisionNumber + 1 })
        .where('id', '=', fip.id)
        .execute();
    }
    return associated;
  }
}

function routerRow(r: Router): RouterRow {
  return {
    ...standardToRow(r),
    admin_state_up: r.adminStateUp ? 1 : 0,
    status: r.status,
    gw_network_id: r.gatewayNetworkId,
    gw_port_id: r.gatewayPortId,
    enable_snat: r.enableSnat ? 1 : 0,
    routes: JSON.stringify(r.routes),
    distributed: r.distributed ? 1 : 0,
    ha: r.ha ? 1 : 0,
  };
}

function floatingIpRow(f: FloatingIp): FloatingIpRow {
  return {
    ...standardToRow(f),
    floating_network_id: f.floatingNetworkId,
    floating_ip_address: f.floatingIpAddress,
    floating_port_id: f.floatingPortId,
    port_id: f.portId,
    fixed_ip_address: f.fixedIpAddress,
    router_id: f.routerId,
    status: f.status,
  };
}
