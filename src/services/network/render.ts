import type { Json } from '../../core/http/body.js';
import type { Caller } from './context.js';
import { parseCidr } from './ipam.js';
import type { FloatingIp, Network, Port, Router, Subnet } from './model.js';
import type { RouterInterfaceInfo } from './routers.js';
import type { SecurityGroupRow, SecurityGroupRuleRow } from './tables.js';

const standard = (x: { projectId: string; description: string; tags: string[]; createdAt: string; updatedAt: string; revisionNumber: number }) => ({
  tenant_id: x.projectId,
  project_id: x.projectId,
  description: x.description,
  tags: x.tags,
  created_at: x.createdAt,
  updated_at: x.updatedAt,
  revision_number: x.revisionNumber,
});

export function renderNetwork(n: Network, subnetIds: string[], caller: Caller): Json {
  return {
    id: n.id,
    name: n.name,
    ...standard(n),
    admin_state_up: n.adminStateUp,
    status: n.status,
    subnets: subnetIds,
    shared: n.shared,
    'router:external': n.external,
    mtu: n.mtu,
    port_security_enabled: n.portSecurityEnabled,
    availability_zone_hints: [],
    availability_zones: ['nova'],
    ipv4_address_scope: null,
    ipv6_address_scope: null,
    is_default: false,
    l2_adjacency: true,
    ...(caller.isAdmin
      ? {
          'provider:network_type': n.segment.networkType,
          'provider:physical_network': n.segment.physicalNetwork,
          'provider:segmentation_id': n.segment.segmentationId,
        }
      : {}),
  };
}

export function renderSubnet(s: Subnet): Json {
  return {
    id: s.id,
    name: s.name,
    ...standard(s),
    network_id: s.networkId,
    ip_version: s.ipVersion,
    cidr: s.cidr,
    gateway_ip: s.gatewayIp,
    enable_dhcp: s.enableDhcp,
    ipv6_ra_mode: s.ipv6RaMode,
    ipv6_address_mode: s.ipv6AddressMode,
    allocation_pools: s.allocationPools,
    dns_nameservers: s.dnsNameservers,
    host_routes: s.hostRoutes,
    subnetpool_id: s.subnetpoolId,
    service_types: [],
    segment_id: null,
  };
}

export function renderPort(p: Port, caller: Caller): Json {
  return {
    id: p.id,
    name: p.name,
    ...standard(p),
    network_id: p.networkId,
    mac_address: p.macAddress,
    admin_state_up: p.adminStateUp,
    status: p.status,
    device_id: p.deviceId,
    device_owner: p.deviceOwner,
    fixed_ips: p.fixedIps.map((f) => ({ subnet_id: f.subnetId, ip_address: f.ipAddress })),
    allowed_address_pairs: p.allowedAddressPairs.map((a) => ({ ip_address: a.ipAddress, mac_address: a.macAddress || p.macAddress })),
    extra_dhcp_opts: p.extraDhcpOpts.map((o) => ({ opt_name: o.optName, opt_value: o.optValue, ip_version: o.ipVersion })),
    security_groups: p.securityGroups,
    port_security_enabled: p.portSecurityEnabled,
    'binding:vnic_type': p.bindingVnicType,
    ...(caller.isAdmin
      ? {
          'binding:host_id': p.bindingHostId,
          'binding:vif_type': p.bindingVifType,
          'binding:vif_details': p.bindingVifDetails,
          'binding:profile': p.bindingProfile,
        }
      : {}),
  };
}

export function renderRule(r: SecurityGroupRuleRow): Json {
  return {
    id: r.id,
    tenant_id: r.project_id,
    project_id: r.project_id,
    security_group_id: r.security_group_id,
    direction: r.direction,
    ethertype: r.ethertype,
    protocol: r.protocol,
    port_range_min: r.port_range_min,
    port_range_max: r.port_range_max,
    remote_ip_prefix: r.remote_ip_prefix,
    remote_group_id: r.remote_group_id,
    remote_address_group_id: null,
    normalized_cidr: r.remote_ip_prefix === null ? null : parseCidr(r.remote_ip_prefix, { hostBits: true }).text,
    description: r.description,
    created_at: r.created_at,
    updated_at: r.updated_at,
    revision_number: r.revision_number,
  };
}

export function renderSecurityGroup(g: SecurityGroupRow, rules: SecurityGroupRuleRow[], tags: string[] = []): Json {
  return {
    id: g.id,
    name: g.name,
    tenant_id: g.project_id,
    project_id: g.project_id,
    description: g.description,
    stateful: g.stateful === 1,
    shared: false,
    security_group_rules: rules.map(renderRule),
    tags,
    created_at: g.created_at,
    updated_at: g.updated_at,
    revision_number: g.revision_number,
  };
}

/** A router; `gatewayPort` is its gateway port when it has one (for external_fixed_ips). */
export function renderRouter(r: Router, gatewayPort: Port | undefined, caller: Caller): Json {
  return {
    id: r.id,
    name: r.name,
    ...standard(r),
    admin_state_up: r.adminStateUp,
    status: r.status,
    external_gateway_info: r.gatewayNetworkId
      ? {
          network_id: r.gatewayNetworkId,
          enable_snat: r.enableSnat,
          external_fixed_ips: (gatewayPort?.fixedIps ?? []).map((f) => ({ subnet_id: f.subnetId, ip_address: f.ipAddress })),
        }
      : null,
    routes: r.routes.map((route) => ({ destination: route.destination, nexthop: route.nexthop })),
    // get_router:distributed and get_router:ha are admin_only in Neutron's policy.
    ...(caller.isAdmin ? { distributed: r.distributed, ha: r.ha } : {}),
  };
}

/** The answer to add_router_interface / remove_router_interface (not wrapped in a key, as Neutron's). */
export function renderRouterInterface(i: RouterInterfaceInfo): Json {
  return {
    id: i.routerId,
    tenant_id: i.projectId,
    project_id: i.projectId,
    port_id: i.portId,
    subnet_id: i.subnetIds[0] ?? null,
    subnet_ids: i.subnetIds,
    network_id: i.networkId,
  };
}

/** A floating IP; `port` is its associated internal port, for fip-port-details. */
export function renderFloatingIp(f: FloatingIp, port: Port | undefined): Json {
  return {
    id: f.id,
    ...standard(f),
    floating_ip_address: f.floatingIpAddress,
    floating_network_id: f.floatingNetworkId,
    router_id: f.routerId,
    port_id: f.portId,
    fixed_ip_address: f.fixedIpAddress,
    status: f.status,
    port_details: port
      ? {
          name: port.name,
          network_id: port.networkId,
          mac_address: port.macAddress,
          admin_state_up: port.adminStateUp,
          status: port.status,
          device_id: port.deviceId,
          device_owner: port.deviceOwner,
        }
      : null,
  };
}
