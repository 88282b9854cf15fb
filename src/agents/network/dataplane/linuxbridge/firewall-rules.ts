import type { HostState, PortState, SecurityGroupState } from '../../../../contracts/network-agent.js';
import {
  assertId,
  FirewallInputError,
  linkLocalOf,
  parseAddress,
  parseMac,
  parsePortRange,
  parsePrefix,
  parseProtocol,
  protocolToken,
  type Family,
} from './firewall-input.js';
import { cloudPrefix, tapName } from '../../../../contracts/host-devices.js';
import { PREFIX } from './names.js';

/**
 * Security groups as iptables rules, the way Neutron's iptables hybrid firewall lays them out
 * on a linuxbridge host (br_netfilter sends bridged frames through the host's FORWARD chain,
 * and `physdev` tells which tap a frame enters or leaves by):
 *
 * Every chain and set carries the cloud's id (`kumo-<cloud id>-...`, written `kumo-` below), so
 * clouds sharing a host each keep their own, and each cloud's jump from FORWARD and INPUT
 * stands among the other clouds' at the top (a frame none of a cloud's taps sees falls through).
 *
 *   FORWARD -> kumo-forward: a frame to or from a filtered port's tap -> kumo-sg-chain;
 *              a frame to or from an unfiltered port (port security off, network:* ports) -> ACCEPT
 *   kumo-sg-chain: leaving toward tap X -> kumo-iX (ingress of X); entering from tap X -> kumo-oX
 *              (egress of X); then ACCEPT. A frame between two filtered ports runs both chains.
 *   INPUT -> kumo-input: a packet from a filtered port to the host itself (an address on a
 *              bridge) -> kumo-oX, so egress rules and anti-spoofing hold toward the host too.
 *   kumo-iX:   established/related back, DHCP replies (and NDP/RA, DHCPv6 for IPv6) in, invalid
 *              dropped, then one RETURN per ingress rule, then kumo-sg-fallback (DROP).
 *   kumo-oX:   DHCP discovery (from 0.0.0.0) out, then kumo-sX (anti-spoofing: only the port's
 *              MAC with its addresses and allowed address pairs return), no DHCP or RA server,
 *              established back, invalid dropped, egress rules, fallback.
 *
 * Rules are written exactly as `iptables-save` prints them, so comparing the two tells whether
 * anything needs doing. Everything here is pure: input checks throw before a tool runs.
 */

/** The chains and sets of one cloud (at most 28 characters for a chain, 31 for a set). */
export class FirewallNames {
  /** The built-in chains we hook, each with one jump, at the top, to a chain of ours. */
  readonly hooks: { FORWARD: string; INPUT: string };
  readonly top: string;
  readonly sg: string;
  readonly fallback: string;
  /** The filter-table chains this firewall owns (and may flush or delete). */
  readonly ownedChain: RegExp;
  /** The ipsets this firewall owns: remote-group members per family, and their swap twins. */
  readonly ownedSet: RegExp;
  /** Any cloud's hook targets: the only rules that may stand above our jump. */
  static readonly ANY_HOOK_TARGET = /^-j kumo-[0-9a-f]{6}-(forward|input)$/;
  private readonly base: string;

  constructor(readonly cloudId: string) {
    this.base = cloudPrefix(cloudId);
    this.hooks = { FORWARD: `${this.base}forward`, INPUT: `${this.base}input` };
    this.top = this.hooks.FORWARD;
    this.sg = `${this.base}sg-chain`;
    this.fallback = `${this.base}sg-fallback`;
    this.ownedChain = new RegExp(`^${this.base}(forward|input|sg-chain|sg-fallback|[ios][A-Za-z0-9-]{11})$`);
    this.ownedSet = new RegExp(`^${this.base}t?[46]-[A-Za-z0-9-]{1,16}$`);
  }

  ingress(portId: string): string {
    return `${this.base}i${portKey(portId)}`;
  }
  egress(portId: string): string {
    return `${this.base}o${portKey(portId)}`;
  }
  spoof(portId: string): string {
    return `${this.base}s${portKey(portId)}`;
  }
  set(family: Family, groupId: string): string {
    return `${this.base}${family}-${groupId.slice(0, 16)}`;
  }
  /** The set a new membership is built in before it is swapped with the live one. */
  swapTwin(setName: string): string {
    return `${this.base}t${setName.slice(this.base.length)}`;
  }
}

export interface IpSetPlan {
  family: Family;
  /** Canonical member addresses, sorted. */
  members: string[];
}

export interface FirewallPlan {
  /** Per family, our chains in the filter table and their rules (`-A chain` left off), in order. */
  chains: Record<Family, Map<string, string[]>>;
  sets: Map<string, IpSetPlan>;
}

/** The 11 characters of a port's tap name after `tap`, which name its chains too. */
const portKey = (portId: string) => tapName(portId).slice(PREFIX.tap.length);

/** Neutron filters every port with port security on except its own (DHCP, router) ports. */
const isFiltered = (port: PortState) => port.portSecurityEnabled && !port.deviceOwner.startsWith('network:');

const ESTABLISHED = '-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN';
const INVALID = '-m conntrack --ctstate INVALID -j DROP';
const physdev = (direction: 'in' | 'out', tap: string, target: string) => `-m physdev --physdev-${direction} ${tap} --physdev-is-bridged -j ${target}`;
const udp = (sport: number, dport: number, target: string) => `-p udp -m udp --sport ${sport} --dport ${dport} -j ${target}`;
const icmp6 = (type: number, target: string, prefix = '') => `${prefix}-p ipv6-icmp -m icmp6 --icmpv6-type ${type} -j ${target}`;

/** A group's rules, checked, ready to render. */
interface CheckedGroup {
  id: string;
  stateful: boolean;
  members: Record<Family, string[]>;
  rules: Array<{ direction: 'ingress' | 'egress'; family: Family; spec: string; remoteGroup: string | null }>;
}

export function planFirewall(state: HostState, names: FirewallNames): FirewallPlan {
  const groups = new Map<string, CheckedGroup>();
  for (const group of state.securityGroups) groups.set(assertId(group.id, 'security group'), checkGroup(group, names));
  const ports = [...state.ports].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const keys = new Set<string>();
  for (const port of ports) {
    const key = portKey(port.id);
    if (keys.has(key)) throw new FirewallInputError(`two ports share the name prefix ${key}`);
    keys.add(key);
  }
  const filtered = ports.filter(isFiltered);
  const unfiltered = ports.filter((p) => !isFiltered(p));
  const sets = new Map<string, IpSetPlan>();
  const setOwners = new Map<string, string>();
  const chains = {} as Record<Family, Map<string, string[]>>;
  for (const family of [4, 6] as const) {
    const table = new Map<string, string[]>();
    chains[family] = table;
    if (ports.length === 0) continue;
    const top: string[] = [];
    const sg: string[] = [];
    const input: string[] = [];
    table.set(names.top, top);
    table.set(names.hooks.INPUT, input);
    table.set(names.sg, sg);
    table.set(names.fallback, ['-j DROP']);
    for (const port of filtered) {
      const tap = tapName(port.id);
      top.push(physdev('out', tap, names.sg), physdev('in', tap, names.sg));
      sg.push(physdev('out', tap, names.ingress(port.id)), physdev('in', tap, names.egress(port.id)));
      // Delivered locally, a frame is not "being bridged": no --physdev-is-bridged here.
      input.push(`-m physdev --physdev-in ${tap} -j ${names.egress(port.id)}`);
      const own = port.securityGroupIds.map((id) => groups.get(assertId(id, `port ${port.id} security group`)));
      const present = own.filter((g): g is CheckedGroup => g !== undefined);
      // No group (or none known) means nothing is allowed, statefully, as in Neutron.
      const stateful = present.length === 0 || present.some((g) => g.stateful);
      const rules = (direction: 'ingress' | 'egress') =>
        present.flatMap((g) =>
          g.rules
            .filter((r) => r.direction === direction && r.family === family)
            .map((r) => {
              if (r.remoteGroup !== null) {
                const name = names.set(family, r.remoteGroup);
                const owner = setOwners.get(name);
                if (owner !== undefined && owner !== r.remoteGroup) throw new FirewallInputError(`security groups ${owner} and ${r.remoteGroup} share the ipset name ${name}`);
                setOwners.set(name, r.remoteGroup);
                // A remote group the state does not describe has no known members: it matches nothing.
                sets.set(name, { family, members: groups.get(r.remoteGroup)?.members[family] ?? [] });
              }
              return r.spec;
            }),
        );
      table.set(names.ingress(port.id), unique(ingress(family, stateful, rules('ingress'), names.fallback)));
      table.set(names.egress(port.id), unique(egress(family, stateful, names.spoof(port.id), rules('egress'), names.fallback)));
      table.set(names.spoof(port.id), unique(antiSpoofing(port, family)));
    }
    for (const port of unfiltered) {
      const tap = tapName(port.id);
      top.push(physdev('out', tap, 'ACCEPT'), physdev('in', tap, 'ACCEPT'));
    }
    sg.push('-j ACCEPT');
  }
  return { chains, sets };
}

function ingress(family: Family, stateful: boolean, rules: string[], fallback: string): string[] {
  const chain: string[] = [];
  if (stateful) chain.push(ESTABLISHED);
  if (family === 4) chain.push(udp(67, 68, 'RETURN'));
  else {
    // MLD queries, router advertisements, neighbour solicitations and advertisements.
    for (const type of [130, 134, 135, 136]) chain.push(icmp6(type, 'RETURN'));
    chain.push(udp(547, 546, 'RETURN'));
  }
  if (stateful) chain.push(INVALID);
  chain.push(...rules, `-j ${fallback}`);
  return chain;
}

function egress(family: Family, stateful: boolean, spoof: string, rules: string[], fallback: string): string[] {
  const chain: string[] = [];
  if (family === 4) {
    // DHCP discovery leaves before the guest has an address.
    chain.push(`-s 0.0.0.0/32 -d 255.255.255.255/32 ${udp(68, 67, 'RETURN')}`);
    chain.push(`-j ${spoof}`);
    chain.push(udp(68, 67, 'RETURN'), udp(67, 68, 'DROP'));
  } else {
    // MLD reports and duplicate-address detection leave from the unspecified address.
    for (const type of [131, 135, 143]) chain.push(icmp6(type, 'RETURN', '-s ::/128 -d ff02::/16 '));
    chain.push(`-j ${spoof}`);
    chain.push(icmp6(134, 'DROP'), '-p ipv6-icmp -j RETURN', udp(546, 547, 'RETURN'), udp(547, 546, 'DROP'));
  }
  if (stateful) chain.push(ESTABLISHED, INVALID);
  chain.push(...rules, `-j ${fallback}`);
  return chain;
}

/** Only the port's MAC with its own addresses, and its allowed address pairs, may send. */
function antiSpoofing(port: PortState, family: Family): string[] {
  const what = `port ${port.id}`;
  const mac = parseMac(port.macAddress, what);
  const chain: string[] = [];
  const allow = (source: string, length: number, sourceMac: string) =>
    chain.push(`${length === 0 ? '' : `-s ${source}/${length} `}-m mac --mac-source ${sourceMac} -j RETURN`);
  if (family === 6) allow(linkLocalOf(mac), 128, mac);
  for (const fixed of port.fixedIps) {
    const { family: f, address } = parseAddress(fixed.ipAddress, `${what} fixed IP`);
    if (f === family) allow(address, family === 4 ? 32 : 128, mac);
  }
  for (const pair of port.allowedAddressPairs) {
    const prefix = parsePrefix(pair.ipAddress, `${what} allowed address pair`);
    const pairMac = pair.macAddress ? parseMac(pair.macAddress, `${what} allowed address pair`) : mac;
    if (prefix.family === family) allow(prefix.network, prefix.length, pairMac);
  }
  chain.push('-j DROP');
  return chain;
}

function checkGroup(group: SecurityGroupState, names: FirewallNames): CheckedGroup {
  const members: Record<Family, string[]> = { 4: [], 6: [] };
  for (const ip of group.memberIps) {
    const { family, address } = parseAddress(ip, `security group ${group.id} member`);
    members[family].push(address);
  }
  members[4] = [...new Set(members[4])].sort();
  members[6] = [...new Set(members[6])].sort();
  return {
    id: group.id,
    stateful: group.stateful !== false,
    members,
    rules: group.rules.map((rule, index) => {
      const what = `security group ${group.id} rule ${index}`;
      if (rule.direction !== 'ingress' && rule.direction !== 'egress') throw new FirewallInputError(`${what}: direction ${JSON.stringify(rule.direction)}`);
      if (rule.ethertype !== 'IPv4' && rule.ethertype !== 'IPv6') throw new FirewallInputError(`${what}: ethertype ${JSON.stringify(rule.ethertype)}`);
      const family: Family = rule.ethertype === 'IPv4' ? 4 : 6;
      const protocol = parseProtocol(rule.protocol, family, what);
      const ports = parsePortRange(protocol, rule.portRangeMin ?? null, rule.portRangeMax ?? null, what);
      const remoteGroup = rule.remoteGroupId === null || rule.remoteGroupId === undefined ? null : assertId(rule.remoteGroupId, `${what} remote group`);
      const hasPrefix = rule.remoteIpPrefix !== null && rule.remoteIpPrefix !== undefined;
      if (hasPrefix && remoteGroup !== null) throw new FirewallInputError(`${what}: both remote_ip_prefix and remote_group_id`);
      const prefix = hasPrefix ? parsePrefix(rule.remoteIpPrefix, what) : null;
      if (prefix && prefix.family !== family) throw new FirewallInputError(`${what}: ${String(rule.remoteIpPrefix)} is not ${rule.ethertype}`);
      const peer = rule.direction === 'ingress' ? { flag: '-s', set: 'src' } : { flag: '-d', set: 'dst' };
      const parts: string[] = [];
      if (prefix && prefix.length > 0) parts.push(`${peer.flag} ${prefix.network}/${prefix.length}`);
      if (protocol !== null) parts.push(`-p ${protocolToken(protocol)}`);
      if (remoteGroup !== null) parts.push(`-m set --match-set ${names.set(family, remoteGroup)} ${peer.set}`);
      if (ports.kind === 'ports') {
        const range = ports.min === ports.max ? String(ports.min) : `${ports.min}:${ports.max}`;
        // UDP-Lite has no match of its own; multiport covers it.
        parts.push(protocol === 136 ? `-m multiport --dports ${range}` : `-m ${protocol === 33 ? 'dccp' : protocolToken(protocol as number)} --dport ${range}`);
      } else if (ports.kind === 'icmp') {
        const type = ports.code === null ? String(ports.type) : `${ports.type}/${ports.code}`;
        parts.push(family === 4 ? `-m icmp --icmp-type ${type}` : `-m icmp6 --icmpv6-type ${type}`);
      }
      parts.push('-j RETURN');
      return { direction: rule.direction, family, spec: parts.join(' '), remoteGroup };
    }),
  };
}

function unique(rules: string[]): string[] {
  return [...new Set(rules)];
}
