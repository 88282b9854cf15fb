import ipaddr from 'ipaddr.js';
import { join } from 'node:path';
import type { DhcpState, SubnetState } from '../../../../contracts/network-agent.js';
import { METADATA_ADDRESS } from './metadata-proxy.js';

/**
 * What one network's dnsmasq is given, computed from its DhcpState alone (no I/O): the
 * command line, the hosts and options files, and the DHCP leg's addresses. Everything in the
 * state is checked here, before any of it reaches dnsmasq or `ip`: a comma or newline in a
 * host name or address would otherwise become a dnsmasq option of its own.
 */
export interface DnsmasqConfig {
  /** undefined when the network has no DHCP-enabled IPv4 subnet: nothing for dnsmasq to serve. */
  argv: string[] | undefined;
  hosts: string;
  opts: string;
  /** "address/prefix" for the namespace leg (169.254.169.254/32 too when isolated). */
  legAddresses: string[];
  /** Some IPv4 subnet has no router: the namespace serves metadata itself. */
  isolated: boolean;
}

export interface DnsmasqFiles {
  dir: string;
  hosts: string;
  opts: string;
  leases: string;
  pid: string;
}

/** Where the per-network DHCP directories live. */
export const dhcpStateRoot = (stateDir: string) => join(stateDir, 'dhcp');

/** Neutron's names for the files of one network's dnsmasq. */
export function dnsmasqFiles(stateDir: string, networkId: string): DnsmasqFiles {
  const dir = join(dhcpStateRoot(stateDir), assertNetworkId(networkId));
  return { dir, hosts: join(dir, 'host'), opts: join(dir, 'opts'), leases: join(dir, 'leases'), pid: join(dir, 'pid') };
}

/** Neutron's default dhcp_lease_duration. */
const LEASE_SECONDS = 86400;
/** Neutron's dnsmasq_lease_max: dnsmasq's own default (1,000) is too few for a /16. */
const LEASE_MAX = 2 ** 24;

const NETWORK_ID = /^[A-Za-z0-9-]{1,64}$/;
const SUBNET_ID = /^[A-Za-z0-9-]{1,64}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const LABEL = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^${LABEL}(\\.${LABEL})*$`);

export function assertNetworkId(id: string): string {
  if (!NETWORK_ID.test(id)) throw new Error(`not a valid network id: ${JSON.stringify(id)}`);
  return id;
}

export function assertMac(mac: string): string {
  if (!MAC.test(mac)) throw new Error(`not a valid MAC address: ${JSON.stringify(mac)}`);
  return mac.toLowerCase();
}

/** A plain IPv4 (four-part decimal) or IPv6 address, in its canonical form. */
export function canonicalIp(ip: string): string {
  if (typeof ip === 'string' && (ipaddr.IPv4.isValidFourPartDecimal(ip) || (ipaddr.IPv6.isValid(ip) && !ip.includes('%') && !ip.includes('.')))) {
    return ipaddr.parse(ip).toString();
  }
  throw new Error(`not a valid IP address: ${JSON.stringify(ip)}`);
}

function parseCidr(cidr: string): [ipaddr.IPv4 | ipaddr.IPv6, number] {
  const valid = typeof cidr === 'string' && (ipaddr.IPv4.isValidCIDRFourPartDecimal(cidr) || (ipaddr.IPv6.isValidCIDR(cidr) && !cidr.includes('%')));
  if (!valid) throw new Error(`not a valid CIDR: ${JSON.stringify(cidr)}`);
  return ipaddr.parseCIDR(cidr);
}

function assertHostname(name: string): string {
  if (typeof name !== 'string' || name.length > 253 || !HOSTNAME.test(name)) throw new Error(`not a valid host name: ${JSON.stringify(name)}`);
  return name;
}

const isV4 = (ip: string) => ipaddr.parse(ip).kind() === 'ipv4';

interface CheckedSubnet {
  id: string;
  version: 4 | 6;
  range: [ipaddr.IPv4 | ipaddr.IPv6, number];
  network: string;
  cidr: string;
  gateway: string | null;
  dns: string[];
  routes: Array<{ destination: string; nexthop: string }>;
  isolated: boolean;
}

function checkSubnet(s: SubnetState): CheckedSubnet {
  if (!SUBNET_ID.test(s.id)) throw new Error(`not a valid subnet id: ${JSON.stringify(s.id)}`);
  const range = parseCidr(s.cidr);
  const version = range[0].kind() === 'ipv4' ? 4 : 6;
  if (version !== s.ipVersion) throw new Error(`subnet ${s.id}: ${s.cidr} is not IPv${s.ipVersion}`);
  const sameFamily = (ip: string, what: string) => {
    if ((isV4(ip) ? 4 : 6) !== version) throw new Error(`subnet ${s.id}: ${what} ${ip} is not IPv${version}`);
    return ip;
  };
  const network = (version === 4 ? ipaddr.IPv4.networkAddressFromCIDR(s.cidr) : ipaddr.IPv6.networkAddressFromCIDR(s.cidr)).toString();
  return {
    id: s.id,
    version,
    range,
    network,
    cidr: `${network}/${range[1]}`,
    gateway: s.gatewayIp === null ? null : sameFamily(canonicalIp(s.gatewayIp), 'gateway'),
    dns: s.dnsNameservers.map(canonicalIp),
    routes: s.hostRoutes.map((r) => {
      const [dest, len] = parseCidr(r.destination);
      return { destination: `${dest.toString()}/${len}`, nexthop: sameFamily(canonicalIp(r.nexthop), 'nexthop') };
    }),
    isolated: s.isolated === true,
  };
}

const PORT_ID = /^[A-Za-z0-9-]{1,64}$/;
const OPTION_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
// Printable ASCII only: a newline would start another option line of dnsmasq's.
const OPTION_VALUE = /^[\x20-\x7e]{1,255}$/;

function assertPortId(id: string): string {
  if (!PORT_ID.test(id)) throw new Error(`not a valid port id: ${JSON.stringify(id)}`);
  return id;
}

/**
 * One extra DHCP option as dnsmasq's options file takes it, as Neutron's agent writes it: a
 * number is the option's code, a name is dnsmasq's `option:` word (dnsmasq refuses a name
 * it does not know when it loads the file).
 */
function dhcpOption(name: string, value: string): string {
  if (typeof name !== 'string' || !OPTION_NAME.test(name)) throw new Error(`not a valid DHCP option name: ${JSON.stringify(name)}`);
  if (typeof value !== 'string' || !OPTION_VALUE.test(value)) throw new Error(`not a valid DHCP option value: ${JSON.stringify(value)}`);
  return /^\d+$/.test(name) ? `${name},${value}` : `option:${name},${value}`;
}

const contains = (subnet: CheckedSubnet, ip: string) => {
  const addr = ipaddr.parse(ip);
  return addr.kind() === subnet.range[0].kind() && addr.match(subnet.range);
};

/**
 * Validates one network's DHCP state and renders what dnsmasq gets, Neutron-style: static
 * allocation only (a guest gets exactly its port's address, unknown MACs get nothing), no
 * DNS service (`--port=0`), per subnet a tag that the options file hangs its options on.
 */
export function dnsmasqConfig(entry: DhcpState, leg: string, mtu: number, files: DnsmasqFiles): DnsmasqConfig {
  assertNetworkId(entry.networkId);
  assertMac(entry.portMac);
  if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new Error(`not a valid MTU: ${mtu}`);
  const portIps = entry.portIps.map(canonicalIp);
  const subnets = entry.subnets.map(checkSubnet).sort((a, b) => a.id.localeCompare(b.id));
  const v4 = subnets.filter((s) => s.version === 4);

  const legAddresses: string[] = [];
  for (const ip of portIps) {
    const subnet = subnets.find((s) => contains(s, ip));
    if (subnet) legAddresses.push(`${ip}/${subnet.range[1]}`);
  }
  const isolated = v4.some((s) => s.isolated);
  if (isolated) legAddresses.push(`${METADATA_ADDRESS}/32`);

  // One line per (MAC, address), as Neutron writes them; addresses outside the served subnets
  // (IPv6, or a subnet with DHCP off) are not dnsmasq's to hand out.
  // A port with options of its own (extra_dhcp_opts) gets a tag on its host lines, and its
  // options hang on that tag (Neutron's `set:<port>` and `tag:<port>`).
  const hostLines = new Set<string>();
  const portOptLines = new Set<string>();
  for (const host of entry.hosts) {
    const mac = assertMac(host.macAddress);
    const ip = canonicalIp(host.ipAddress);
    const name = assertHostname(host.hostname);
    if (!v4.some((s) => contains(s, ip))) continue;
    const options = host.options ?? [];
    if (options.length === 0 || host.portId === undefined) {
      hostLines.add(`${mac},${name},${ip}`);
      continue;
    }
    const tag = `port-${assertPortId(host.portId)}`;
    hostLines.add(`${mac},${name},${ip},set:${tag}`);
    for (const option of options) portOptLines.add(`tag:${tag},${dhcpOption(option.name, option.value)}`);
  }

  const optLines: string[] = [];
  for (const subnet of v4) {
    const tag = `tag:subnet-${subnet.id}`;
    // Without a gateway, an empty router option stops dnsmasq offering itself as the router.
    optLines.push(subnet.gateway ? `${tag},option:router,${subnet.gateway}` : `${tag},option:router`);
    const dns = subnet.dns.filter(isV4);
    if (dns.length > 0) optLines.push(`${tag},option:dns-server,${dns.join(',')}`);
    const routes = subnet.routes.map((r) => [r.destination, r.nexthop] as [string, string]);
    // The other subnets of the network are on-link (Neutron sends them too).
    for (const other of v4) if (other !== subnet) routes.push([other.cidr, '0.0.0.0']);
    const dhcpIp = portIps.find((ip) => contains(subnet, ip));
    if (subnet.isolated && dhcpIp) routes.push([`${METADATA_ADDRESS}/32`, dhcpIp]);
    if (routes.length > 0) {
      // A client given option 121 ignores option 3 (RFC 3442): the default route must be repeated.
      if (subnet.gateway && !routes.some(([d]) => d === '0.0.0.0/0')) routes.push(['0.0.0.0/0', subnet.gateway]);
      const list = routes.flat().join(',');
      optLines.push(`${tag},option:classless-static-route,${list}`);
      // Option 249: the same routes for Windows guests.
      optLines.push(`${tag},249,${list}`);
    }
  }

  let argv: string[] | undefined;
  if (v4.length > 0) {
    const leases = v4.reduce((sum, s) => sum + 2 ** (32 - s.range[1]), 0);
    argv = [
      'dnsmasq',
      '--conf-file=/dev/null',
      '--no-hosts',
      '--no-resolv',
      '--port=0',
      '--bind-interfaces',
      `--interface=${leg}`,
      '--except-interface=lo',
      `--pid-file=${files.pid}`,
      `--dhcp-hostsfile=${files.hosts}`,
      `--dhcp-optsfile=${files.opts}`,
      `--dhcp-leasefile=${files.leases}`,
      // The hosts file is the whole truth for this network: a client asking to keep an address
      // dnsmasq has no lease for (after a restart, or a changed port) gets an answer at once.
      '--dhcp-authoritative',
      `--dhcp-lease-max=${Math.min(leases, LEASE_MAX)}`,
      // Guests on overlay networks must learn the smaller MTU even if they did not ask.
      `--dhcp-option-force=option:mtu,${mtu}`,
      ...v4.map((s) => {
        const mask = ipaddr.IPv4.subnetMaskFromPrefixLength(s.range[1]).toString();
        return `--dhcp-range=set:subnet-${s.id},${s.network},static,${mask},${LEASE_SECONDS}s`;
      }),
    ];
  }

  return {
    argv,
    hosts: [...hostLines].sort().map((l) => `${l}\n`).join(''),
    opts: [...optLines, ...portOptLines].map((l) => `${l}\n`).join(''),
    legAddresses,
    isolated,
  };
}
