import { METADATA_ADDRESS, ROUTER_PROXY_PORT } from './metadata-proxy.js';

/** The inputs of a router's nat table, already validated and normalized (see router-plan.ts). */
export interface NatInputs {
  /** The qg- device, when the router has a gateway. */
  gatewayDevice?: string;
  /** Source address of the router's SNAT (its first IPv4 gateway address), when SNAT is on. */
  snatSource?: string;
  /** Internal IPv4 subnets (network/prefix) that leave through the gateway. */
  internalCidrs: string[];
  floatingIps: FloatingPair[];
  /** Redirect 169.254.169.254:80 from the internal legs to the namespace's metadata proxy. */
  metadata: boolean;
}

export interface FloatingPair {
  floatingIp: string;
  fixedIp: string;
}

const CHAINS = ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'] as const;

/**
 * The rules of a router namespace's nat table, in the exact form `iptables-save` prints them,
 * so the table read back can be compared line by line with what is wanted. The namespace is
 * the router's alone, so the table is owned whole and always written whole.
 *
 * Floating IPs come before the router's SNAT (a guest with one leaves as its floating IP),
 * and every SNAT is limited to `-o qg-…`, so traffic between internal subnets keeps its
 * source address.
 */
export function natRules(input: NatInputs): string[] {
  const rules: string[] = [];
  if (input.metadata) {
    rules.push(`-A PREROUTING -d ${METADATA_ADDRESS}/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports ${ROUTER_PROXY_PORT}`);
  }
  const qg = input.gatewayDevice;
  if (qg === undefined) return rules;
  for (const f of input.floatingIps) rules.push(`-A PREROUTING -d ${f.floatingIp}/32 -j DNAT --to-destination ${f.fixedIp}`);
  for (const f of input.floatingIps) rules.push(`-A OUTPUT -d ${f.floatingIp}/32 -j DNAT --to-destination ${f.fixedIp}`);
  for (const f of input.floatingIps) rules.push(`-A POSTROUTING -s ${f.fixedIp}/32 -o ${qg} -j SNAT --to-source ${f.floatingIp}`);
  if (input.snatSource !== undefined) {
    for (const cidr of input.internalCidrs) rules.push(`-A POSTROUTING -s ${cidr} -o ${qg} -j SNAT --to-source ${input.snatSource}`);
  }
  return rules;
}

/** The `iptables-restore` input that replaces the whole nat table with `rules`. */
export function natTable(rules: string[]): string {
  return ['*nat', ...CHAINS.map((c) => `:${c} ACCEPT [0:0]`), ...rules, 'COMMIT', ''].join('\n');
}

/**
 * The nat section of `iptables-save` output reduced to what matters for comparison: chain
 * declarations without their counters, then the rules, in order. An absent table (a new
 * namespace where nothing loaded it yet) reads as no lines at all.
 */
export function canonicalNat(save: string): string[] {
  const lines: string[] = [];
  let inNat = false;
  for (const raw of save.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) inNat = line === '*nat';
    else if (!inNat || line === '' || line.startsWith('#') || line === 'COMMIT') continue;
    else if (line.startsWith(':')) lines.push(line.replace(/\s*\[\d+:\d+\]$/, ''));
    else lines.push(line);
  }
  return lines;
}

/** The same reduction of a table this module renders. */
export function canonicalRendered(rules: string[]): string[] {
  return canonicalNat(natTable(rules));
}

const DNAT = /^-A PREROUTING -d (\S+)\/32 -j DNAT --to-destination (\S+)$/;

/** The floating IPs a nat table currently maps (its PREROUTING DNAT rules). */
export function floatingPairsOf(lines: string[]): FloatingPair[] {
  const pairs: FloatingPair[] = [];
  for (const line of lines) {
    const m = DNAT.exec(line);
    if (m) pairs.push({ floatingIp: m[1] as string, fixedIp: m[2] as string });
  }
  return pairs;
}
