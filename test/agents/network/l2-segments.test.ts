// The segment devices this machine's kernel may lack (802.1Q, gretap) checked by the commands
// L2 runs for them, with a recording runner: no root and no kernel support needed.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { HostState, NetworkState } from '../../../src/contracts/network-agent.js';
import { CommandRunner, type CommandOptions } from '../../../src/core/host/commands.js';
import { L2Unit } from '../../../src/agents/network/dataplane/linuxbridge/l2.js';
import type { Link } from '../../../src/agents/network/dataplane/linuxbridge/links.js';
import { Namespaces } from '../../../src/agents/network/dataplane/linuxbridge/names.js';
import { MetadataProxies } from '../../../src/agents/network/dataplane/linuxbridge/metadata-proxy.js';
import type { ReconcileContext } from '../../../src/agents/network/dataplane/linuxbridge/unit.js';
import { createLogger } from '../../../src/core/log.js';

/** Answers `ip -j link show` from a list of links that grows as `ip link add` is run. */
class RecordingRunner extends CommandRunner {
  readonly commands: string[][] = [];
  constructor(private readonly links: Link[]) {
    super();
  }
  override async run(argv: string[], options: CommandOptions = {}): Promise<string> {
    if (argv[0] === 'ip' && argv[1] === '-batch') {
      for (const line of String(options.input ?? '').split('\n').filter((l) => l !== '')) await this.run(['ip', ...line.split(' ')]);
      return '';
    }
    this.commands.push(argv);
    if (argv[0] === 'ip' && argv[1] === '-j') return JSON.stringify(this.links);
    if (argv[0] === 'bridge' && argv[1] === '-j') return '[]';
    if (argv[0] === 'ip' && argv[1] === 'link' && argv[2] === 'add') {
      const name = argv[3] === 'link' ? argv[6] : argv[3];
      const kind = argv[argv.indexOf('type') + 1];
      this.links.push({ ifname: name as string, ifindex: this.links.length + 10, flags: [], mtu: 1500, linkinfo: { info_kind: kind as string } });
    }
    return '';
  }
}

const NET = '30000001-aaaa-4aaa-8aaa-000000000001';
function context(run: CommandRunner, network: NetworkState): ReconcileContext {
  const desired: HostState = { host: 'h', generation: 1, networks: [network], ports: [], dhcp: [], routers: [], securityGroups: [] };
  return {
    desired,
    run,
    namespaces: new Namespaces('kumo-0a0b0c-'),
    config: { cloudId: '0a0b0c', physicalInterfaceMappings: { physnet1: 'eth1' }, tunnelIp: '198.51.100.1', stateDir: '/nonexistent' },
    links: new Map(),
    existingNamespaces: new Set(),
    proxies: new MetadataProxies(run, '/nonexistent', undefined),
    report: { applied: [], removed: [] },
    log: createLogger('silent'),
  };
}

describe('L2 segment devices, as commands', () => {
  const eth1: Link = { ifname: 'eth1', ifindex: 2, flags: ['UP'], mtu: 1500 };

  it('joins a VLAN network through an 802.1Q sub-interface of the mapped interface', async () => {
    const run = new RecordingRunner([eth1]);
    const ctx = context(run, { id: NET, networkType: 'vlan', physicalNetwork: 'physnet1', segmentationId: 1234, mtu: 1500, peers: [] });
    await new L2Unit().reconcile({ ...ctx, links: new Map([[eth1.ifname, eth1]]) });
    const lines = run.commands.map((c) => c.join(' '));
    assert.ok(lines.includes('ip link add link eth1 name vl1234-eth1 type vlan id 1234'), lines.join('\n'));
    assert.ok(lines.includes('ip link set dev vl1234-eth1 alias kumo:0a0b0c'), 'marked as this cloud\'s in the same batch');
    assert.ok(lines.includes(`ip link set vl1234-eth1 master brq${NET.slice(0, 11)}`), lines.join('\n'));
    assert.ok(lines.some((l) => l.startsWith(`ip link add brq${NET.slice(0, 11)} mtu 1500 type bridge`)));
  });

  it('joins a GRE network through a gretap device toward each peer, keyed by the segment', async () => {
    const run = new RecordingRunner([eth1]);
    const ctx = context(run, { id: NET, networkType: 'gre', physicalNetwork: null, segmentationId: 77, mtu: 1458, peers: ['198.51.100.2', '198.51.100.3'] });
    await new L2Unit().reconcile(ctx);
    const lines = run.commands.map((c) => c.join(' '));
    assert.ok(lines.includes('ip link add gt4d-c6336402 mtu 1458 type gretap local 198.51.100.1 remote 198.51.100.2 key 77'), lines.join('\n'));
    assert.ok(lines.includes('ip link add gt4d-c6336403 mtu 1458 type gretap local 198.51.100.1 remote 198.51.100.3 key 77'), lines.join('\n'));
    assert.ok(lines.includes(`ip link set gt4d-c6336403 master brq${NET.slice(0, 11)}`));
  });

  it('refuses a VLAN network on an unmapped physnet without touching the host', async () => {
    const run = new RecordingRunner([eth1]);
    const ctx = context(run, { id: NET, networkType: 'vlan', physicalNetwork: 'physnet9', segmentationId: 5, mtu: 1500, peers: [] });
    await new L2Unit().reconcile(ctx);
    assert.ok(!run.commands.some((c) => c.includes('vlan')), 'no vlan device for an unmapped physnet');
  });
});
