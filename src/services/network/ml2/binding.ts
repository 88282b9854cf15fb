import { hostAgent, type HostAgent } from '../agents.js';
import type { NetworkContext } from '../context.js';
import type { Network, Port } from '../model.js';
import type { Segment } from './driver.js';

export type PortBinding = Pick<Port, 'bindingHostId' | 'bindingVifType' | 'bindingVifDetails' | 'status'>;

export const VIF_TYPE_UNBOUND = 'unbound';
export const VIF_TYPE_BINDING_FAILED = 'binding_failed';
/** What the Linux bridge mechanism driver binds: a tap on a bridge. */
const SUPPORTED_VNIC_TYPES = ['normal'];

/**
 * Binds a port to a host (Neutron ML2's agent-based mechanism driver): the host's network agent
 * must be alive and able to realise the network's segment, as its reports say: `flat` and
 * `vlan` on a physnet it has mapped, `vxlan` and `gre` with a tunnel endpoint. Otherwise the
 * binding fails (`binding:vif_type` `binding_failed`, as Neutron), the reason goes to the log,
 * and Nova, seeing it, fails the build. As in Neutron, an agent's admin_state_up does not enter
 * into it (that setting schedules DHCP and L3 agents, not L2 bindings). The Linux bridge
 * driver binds only `normal` vNICs (tap devices), as Neutron's linuxbridge driver: a port
 * asking for SR-IOV, macvtap or the like on a host fails to bind.
 */
export async function bindPort(ctx: NetworkContext, network: Network, hostId: string, portId: string, vnicType = 'normal'): Promise<PortBinding> {
  if (!hostId) return { bindingHostId: '', bindingVifType: VIF_TYPE_UNBOUND, bindingVifDetails: {}, status: 'DOWN' };
  const refusal = SUPPORTED_VNIC_TYPES.includes(vnicType)
    ? whyUnbindable(network.segment, hostId, await hostAgent(ctx, hostId))
    : `no mechanism driver on host ${hostId} supports vnic_type ${vnicType} (the Linux bridge driver binds ${SUPPORTED_VNIC_TYPES.join(', ')})`;
  if (refusal) {
    ctx.log.warn({ portId, networkId: network.id, host: hostId, reason: refusal }, `Failed to bind port ${portId} on host ${hostId}: ${refusal}`);
    return { bindingHostId: hostId, bindingVifType: VIF_TYPE_BINDING_FAILED, bindingVifDetails: {}, status: 'DOWN' };
  }
  return { bindingHostId: hostId, bindingVifType: 'bridge', bindingVifDetails: { port_filter: true, connectivity: 'l2' }, status: 'ACTIVE' };
}

/** Why the agent cannot bind the segment, or undefined when it can. */
export function whyUnbindable(segment: Segment, host: string, agent: HostAgent | undefined): string | undefined {
  if (!agent) return `no network agent has reported from host ${host}`;
  if (!agent.alive) return `the network agent on host ${host} is not alive (last report ${agent.heartbeatAt ?? 'never'})`;
  const config = agent.configurations;
  const type = segment.networkType;
  if (!(config.network_types ?? []).includes(type)) {
    const overlay = type === 'vxlan' || type === 'gre';
    return overlay && !config.tunneling_ip
      ? `the network agent on host ${host} has no tunnel address for ${type} networks`
      : `the network agent on host ${host} cannot realise ${type} networks`;
  }
  if ((type === 'flat' || type === 'vlan') && !(segment.physicalNetwork && config.interface_mappings?.[segment.physicalNetwork])) {
    return `physical network ${segment.physicalNetwork ?? '(none)'} is not mapped to an interface on host ${host}`;
  }
  return undefined;
}
