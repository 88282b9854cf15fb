import { instancePorts } from '../compute/instance-ports.js';
import type { InstanceRef } from '../compute/client.js';
import type { NetworkContext } from '../network/context.js';
import { DEVICE_OWNER_DHCP } from '../network/model.js';
import type { InstanceNetwork, InstanceNetworkSource, MetadataSubnet, MetadataVif } from './sources.js';

/**
 * Neutron in the same process, read as Nova reads it to build an instance's network info:
 * the instance's ports (its project's, with it as device), their subnets, the DHCP port on
 * each subnet, and the floating IPs on each fixed address.
 */
export class InProcessInstanceNetwork implements InstanceNetworkSource {
  constructor(private readonly ctx: NetworkContext) {}

  async forInstance(instance: InstanceRef): Promise<InstanceNetwork> {
    const { records, l3, groups } = this.ctx;
    const ports = await instancePorts(this.ctx, instance);
    if (ports.length === 0) return { vifs: [], securityGroups: [] };
    const networkIds = [...new Set(ports.map((p) => p.networkId))];
    const subnetIds = [...new Set(ports.flatMap((p) => p.fixedIps.map((f) => f.subnetId)))];
    const [networks, subnets, dhcpPorts, groupRows] = await Promise.all([
      records.listNetworks({ ids: networkIds }),
      records.listSubnets({ ids: subnetIds }),
      records.listPorts({ networkIds, deviceOwner: DEVICE_OWNER_DHCP }),
      groups.list({ ids: [...new Set(ports.flatMap((p) => p.securityGroups))] }),
    ]);
    const floatingIps = (await Promise.all(ports.map((p) => l3.listFloatingIps({ portId: p.id })))).flat();

    const subnetOf = (id: string): MetadataSubnet | undefined => {
      const s = subnets.find((x) => x.id === id);
      if (!s) return undefined;
      const dhcp = dhcpPorts.flatMap((p) => p.fixedIps).find((f) => f.subnetId === id);
      return {
        id: s.id,
        cidr: s.cidr,
        ipVersion: s.ipVersion,
        gatewayIp: s.gatewayIp,
        dnsNameservers: s.dnsNameservers,
        hostRoutes: s.hostRoutes,
        enableDhcp: s.enableDhcp,
        ipv6AddressMode: s.ipv6AddressMode,
        dhcpServer: dhcp?.ipAddress ?? null,
      };
    };

    const vifs = ports.map((port): MetadataVif => {
      const subnetIdsOfPort = [...new Set(port.fixedIps.map((f) => f.subnetId))];
      return {
        portId: port.id,
        macAddress: port.macAddress,
        vifType: port.bindingVifType,
        networkId: port.networkId,
        mtu: networks.find((n) => n.id === port.networkId)?.mtu ?? 0,
        fixedIps: port.fixedIps.map((f) => ({
          ...f,
          floatingIps: floatingIps.filter((fip) => fip.portId === port.id && fip.fixedIpAddress === f.ipAddress).map((fip) => fip.floatingIpAddress),
        })),
        subnets: subnetIdsOfPort.map(subnetOf).filter((s): s is MetadataSubnet => s !== undefined),
      };
    });
    return { vifs, securityGroups: groupRows.map((g) => g.name) };
  }
}
