/**
 * The Linux dataplane, as root, in network namespaces of its own (nothing on the real host):
 *  1. port create to DHCP answer: the time from POST /ports (bound to the host) to dnsmasq's
 *     OFFER reaching a guest plugged in as the port's tap, through the whole path (API,
 *     desired-state push, agent reconcile, dnsmasq reload); median of BENCH_DHCP_RUNS (10);
 *  2. a full reconcile with 1,000 ports on one host (10 VXLAN networks with DHCP, one router
 *     with 20 floating IPs, two security groups, 1,000 taps): the first (cold) pass, a pass with
 *     nothing to do, one port added, and mending a deleted bridge.
 * Prints tables; asserts nothing. Skips (saying why) without root or the tools.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { table } from './lib/load.js';
import { LinuxBridgeDataplane } from '../src/agents/network/dataplane/linuxbridge/linuxbridge.js';
import type { HostState, PortState } from '../src/contracts/network-agent.js';
import { createLogger } from '../src/core/log.js';
import { NetLab, netlabSkipReason } from '../test/helpers/netlab.js';
import { cloudInLab, NeutronClient } from '../test/e2e/helpers/dataplane.js';

const exec = promisify(execFile);
const PROBE = fileURLToPath(new URL('./lib/dhcp-probe.js', import.meta.url));
const DHCP_RUNS = Number(process.env.BENCH_DHCP_RUNS ?? 10);
const PORTS = Number(process.env.BENCH_DATAPLANE_PORTS ?? 1_000);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const max = (xs: number[]) => Math.max(...xs);
const min = (xs: number[]) => Math.min(...xs);

async function dhcpLatency(lab: NetLab): Promise<string> {
  const host = await lab.namespace('dhcp-host');
  await lab.run(['ip', '-n', host, 'addr', 'add', '10.250.0.1/32', 'dev', 'lo']);
  const tc = await cloudInLab(lab, host, { tunnelIp: '10.250.0.1' });
  try {
    const admin = new NeutronClient(tc, await tc.token('admin'));
    const [network] = await admin.tenantNetwork('bench', '10.93.0.0/24');
    const samples: number[] = [];
    let wrong = 0;
    // One warm-up port: the first reconcile of a network starts its dnsmasq.
    for (let i = -1; i < DHCP_RUNS; i += 1) {
      const started = Date.now();
      const port = await admin.port(network.id as string, { 'binding:host_id': tc.cloud.config.hostName, device_owner: 'compute:nova', device_id: `bench-${i}` });
      const guest = await lab.guest(`dg${i + 1}`, host, { id: port.id as string, macAddress: port.mac_address as string }, network.mtu as number);
      await lab.run(['ip', 'route', 'add', 'default', 'dev', 'eth0'], guest);
      const { stdout } = await exec('ip', ['netns', 'exec', guest, process.execPath, PROBE, port.mac_address as string, '30000']);
      const [at, offered] = stdout.trim().split(' ');
      if (offered !== port.fixed_ips[0].ip_address) wrong += 1;
      if (i >= 0) samples.push(Number(at) - started);
      await lab.run(['ip', 'netns', 'del', guest]);
      await admin.call('DELETE', `/ports/${port.id}`);
    }
    return [
      `### Port create to DHCP answer (${samples.length} ports, one at a time; offers for the wrong address: ${wrong})`,
      '',
      table(['median ms', 'min ms', 'max ms'], [[median(samples), min(samples), max(samples)]]),
    ].join('\n');
  } finally {
    await tc.stop();
  }
}

const uuid = (kind: number, n: number) => `${kind.toString(16).padStart(2, '0')}${n.toString(16).padStart(6, '0')}-0000-4000-8000-000000000000`;
const mac = (n: number) => `fa:16:3e:${((n >> 16) & 255).toString(16).padStart(2, '0')}:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;

function bigState(ports: number, generation: number): HostState {
  const networks = Array.from({ length: 10 }, (_, i) => ({ id: uuid(1, i), networkType: 'vxlan', physicalNetwork: null, segmentationId: 100 + i, mtu: 1450, peers: [] as string[] }));
  const groups = [uuid(2, 0), uuid(2, 1)];
  const compute: PortState[] = Array.from({ length: ports }, (_, n) => {
    const net = n % 10;
    return {
      id: uuid(3, n), networkId: uuid(1, net), macAddress: mac(n + 1), fixedIps: [{ subnetId: uuid(4, net), ipAddress: `10.${100 + net}.${Math.floor(n / 10 / 250)}.${(Math.floor(n / 10) % 250) + 2}` }],
      deviceOwner: 'compute:nova', deviceId: uuid(5, n), adminStateUp: true, portSecurityEnabled: true, securityGroupIds: [groups[n % 2] as string], allowedAddressPairs: [],
    };
  });
  const service = (kind: number, owner: string, net: number, ip: string): PortState => ({
    id: uuid(kind, net), networkId: uuid(1, net), macAddress: mac(0x800000 + kind * 256 + net), fixedIps: [{ subnetId: uuid(4, net), ipAddress: ip }],
    deviceOwner: owner, deviceId: '', adminStateUp: true, portSecurityEnabled: false, securityGroupIds: [], allowedAddressPairs: [],
  });
  const dhcpPorts = networks.map((_, net) => service(6, 'network:dhcp', net, `10.${100 + net}.0.254`));
  const routerPorts = networks.map((_, net) => service(7, 'network:router_interface', net, `10.${100 + net}.0.1`));
  const cidr = (net: number) => `10.${100 + net}.0.0/16`;
  return {
    host: 'bench', generation, networks,
    ports: [...compute, ...dhcpPorts, ...routerPorts],
    dhcp: networks.map((n, net) => ({
      networkId: n.id, portMac: dhcpPorts[net]!.macAddress, portIps: [`10.${100 + net}.0.254`],
      subnets: [{ id: uuid(4, net), cidr: cidr(net), ipVersion: 4 as const, gatewayIp: `10.${100 + net}.0.1`, dnsNameservers: [], hostRoutes: [], isolated: false }],
      hosts: compute.filter((p) => p.networkId === n.id).map((p) => ({ macAddress: p.macAddress, ipAddress: p.fixedIps[0]!.ipAddress, hostname: `host-${p.fixedIps[0]!.ipAddress.replaceAll('.', '-')}` })),
    })),
    routers: [{
      id: uuid(8, 0), adminStateUp: true, gateway: null, routes: [], floatingIps: [],
      interfaces: routerPorts.map((p, net) => ({ portId: p.id, portMac: p.macAddress, subnetId: uuid(4, net), ipAddress: `10.${100 + net}.0.1`, cidr: cidr(net) })),
    }],
    securityGroups: groups.map((id, g) => ({
      id, stateful: true, memberIps: compute.filter((_, n) => n % 2 === g).map((p) => p.fixedIps[0]!.ipAddress),
      rules: [
        { direction: 'egress' as const, ethertype: 'IPv4' as const, protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null },
        { direction: 'ingress' as const, ethertype: 'IPv4' as const, protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: id },
        { direction: 'ingress' as const, ethertype: 'IPv4' as const, protocol: 'tcp', portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: '0.0.0.0/0', remoteGroupId: null },
      ],
    })),
  };
}

async function fullReconcile(lab: NetLab): Promise<string> {
  const host = await lab.namespace('big-host');
  await lab.run(['ip', '-n', host, 'addr', 'add', '10.250.0.1/32', 'dev', 'lo']);
  const state = bigState(PORTS, 1);
  // The instances' taps, as QEMU would have them.
  const taps = state.ports.filter((p) => p.deviceOwner.startsWith('compute:')).map((p) => `tuntap add dev tap${p.id.slice(0, 11)} mode tap`).join('\n') + '\n';
  const child = execFile('ip', ['-n', host, '-batch', '-']);
  child.stdin?.end(taps);
  await new Promise((resolve) => child.on('exit', resolve));
  // A namespace prefix of its own: its teardown must not take the DHCP host's namespaces.
  const dp = new LinuxBridgeDataplane({ cloudId: lab.cloudId, physicalInterfaceMappings: {}, tunnelIp: '10.250.0.1', hostNamespace: host, namespacePrefix: `${lab.prefix}big-`, stateDir: `${lab.tempDir()}/big` }, createLogger('silent'));
  const rows: Array<Array<string | number>> = [];
  const pass = async (what: string, s: HostState) => {
    const commands = dp.run.count;
    const started = performance.now();
    const report = await dp.reconcile(s);
    rows.push([what, Math.round(performance.now() - started), dp.run.count - commands, report.applied.length + report.removed.length]);
  };
  await pass('first pass (cold)', state);
  for (let i = 0; i < 3; i += 1) await pass('nothing to do', { ...state, generation: 2 + i });
  const more = bigState(PORTS + 1, 10);
  await pass('one port added', more);
  await lab.run(['ip', 'link', 'del', `brq${uuid(1, 3).slice(0, 11)}`], host);
  await pass('mend a deleted bridge', { ...more, generation: 11 });
  await dp.teardown();
  return [`### Full reconcile, ${PORTS.toLocaleString('en-US')} ports on one host`, '', table(['pass', 'ms', 'commands run', 'changes'], rows)].join('\n');
}

const skip = netlabSkipReason(['ip', 'bridge', 'dnsmasq', 'iptables', 'haproxy']);
if (skip) {
  process.stdout.write(`dataplane bench skipped: ${skip}\n`);
} else {
  const lab = new NetLab();
  try {
    process.stdout.write(`${await dhcpLatency(lab)}\n\n`);
    process.stdout.write(`${await fullReconcile(lab)}\n`);
  } finally {
    await lab.cleanup();
  }
}
