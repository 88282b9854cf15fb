import { CommandRunner } from '../core/host/commands.js';
import { addressHolder } from '../agents/network/host-network.js';
import type { Cloud } from '../cloud.js';

const CONTINUED = '            ';

/**
 * The banner's account of the network a first user gets: the tunnel address chosen, DevStack's
 * networks (made now, before, or not), where `public`'s gateway lives and whether guests reach
 * beyond the host.
 */
export async function networkBannerLines(cloud: Cloud, tunnel: string | undefined): Promise<string[]> {
  const lines: string[] = [];
  if (tunnel) lines.push(`${CONTINUED}tunnel address ${tunnel}`);
  const seeds = cloud.defaultNetworks;
  const bridge = cloud.dataplane.name === 'linuxbridge' ? cloud.publicBridge : undefined;
  if (seeds.state === 'off') {
    lines.push(`${CONTINUED}default networks: none (--no-default-networks or KUMO_DEFAULT_NETWORKS=0)`);
  } else if (seeds.state === 'skipped') {
    lines.push(`${CONTINUED}default networks: not made (${seeds.note ?? 'skipped'})`);
  } else {
    const when = seeds.state === 'made' ? 'made now' : 'made on the first start';
    const gateway = seeds.public?.gatewayIp;
    let where = '';
    if (bridge && gateway) {
      const holder = await addressHolder(new CommandRunner({ hostNamespace: cloud.config.dataplane.hostNamespace }), gateway, bridge.bridge);
      where = holder
        ? `; ${gateway} is already on ${holder} (another cloud?), so it stays off this cloud's bridge ${bridge.bridge}`
        : `; gateway ${gateway} on host bridge ${bridge.bridge}, so this host reaches floating IPs`;
    }
    lines.push(`${CONTINUED}public ${seeds.public?.cidr ?? '?'} (external, physnet public${where})`);
    lines.push(`${CONTINUED}demo: private ${seeds.private?.cidr ?? '?'} and router1 to public (${when})`);
    if (seeds.note) lines.push(`${CONTINUED}${seeds.note}`);
  }
  if (bridge) {
    lines.push(
      bridge.uplink
        ? `${CONTINUED}outbound: guests' traffic leaves this host through ${bridge.uplink}, NATed`
        : `${CONTINUED}outbound: guests' traffic stays on this host (name an uplink with --public-interface IFACE)`,
    );
  }
  return lines;
}

/** The seeds' flow, for "Try it" once the default networks exist. */
export function firstBootLines(cloud: Cloud): string[] {
  const seeds = cloud.defaultNetworks;
  if (seeds.state !== 'made' && seeds.state !== 'present') return [];
  return [
    '  openstack --os-cloud kumo-demo server create --image kumo-tiny --flavor m1.nano --network private --wait vm1',
    '  openstack --os-cloud kumo-demo floating ip create public            # prints the address, say FIP',
    '  openstack --os-cloud kumo-demo server add floating ip vm1 FIP',
    // With noop nothing carries packets: the records are all there is to see.
    ...(cloud.dataplane.name === 'linuxbridge' ? ['  ping FIP'] : []),
  ];
}
