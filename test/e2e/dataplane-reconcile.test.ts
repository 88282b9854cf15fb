// The agent mends drift and survives restarts: what it owns comes back after a hand-made
// mess, what it does not own is left alone, running traffic is not interrupted, and a burst
// of port churn leaves nothing stale behind.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { NetworkAgent } from '../../src/agents/network/agent.js';
import { chooseDataplane, startNetworkAgent } from '../../src/agents/network/start.js';
import { createLogger } from '../../src/core/log.js';
import type { TestCloud } from '../helpers/cloud.js';
import { NetLab, netlabSkipReason } from '../helpers/netlab.js';
import { cloudInLab, dhcpNs, instanceOnPort, NeutronClient, until, type Body } from './helpers/dataplane.js';

const skip = netlabSkipReason(['ip', 'bridge', 'dnsmasq', 'iptables', 'busybox']);
const log = createLogger('silent');

describe('linuxbridge agent: reconcile, restart and churn', { skip }, () => {
  const lab = new NetLab();
  let tc: TestCloud;
  let admin: NeutronClient;
  let token: string;
  let host: string;
  let network: Body;
  let dhcpIp: string;
  let guestNs: string;
  let agent: NetworkAgent | undefined;

  before(async () => {
    host = await lab.namespace('host');
    await lab.run(['ip', '-n', host, 'addr', 'add', '10.250.0.1/32', 'dev', 'lo']);
    tc = await cloudInLab(lab, host, { tunnelIp: '10.250.0.1' });
    token = await tc.token('admin');
    admin = new NeutronClient(tc, token);
    [network] = await admin.tenantNetwork('churn', '10.92.0.0/22');
    const port = await admin.port(network.id as string, { name: 'g1' });
    await instanceOnPort(tc, token, port.id as string, 'g1');
    guestNs = await lab.guest('g1', host, { id: port.id as string, macAddress: port.mac_address as string }, network.mtu as number);
    await until('a lease', async () => (await lab.dhcp(guestNs).catch(() => '')) || undefined);
    const dhcpPort = (await admin.call('GET', `/ports?network_id=${network.id}&device_owner=network:dhcp`)) as unknown as Body[];
    dhcpIp = dhcpPort[0]?.fixed_ips[0].ip_address as string;
  });

  after(async () => {
    await agent?.stop();
    await tc?.stop();
    await lab.cleanup();
  });

  const dnsmasqPids = async () =>
    (await lab.run(['ip', 'netns', 'pids', dhcpNs(lab, network.id as string)]))
      .split('\n')
      .filter((p) => /^\d+$/.test(p) && readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'dnsmasq');

  /** The hosts file of the network's dnsmasq, found from its command line. */
  const hostsFile = async () => {
    const pid = (await dnsmasqPids())[0];
    const arg = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').find((a) => a.startsWith('--dhcp-hostsfile='));
    assert.ok(arg, 'dnsmasq runs with a hosts file');
    return readFileSync(arg.slice('--dhcp-hostsfile='.length), 'utf8');
  };

  async function restartAgent(damage: () => Promise<void> = async () => undefined): Promise<void> {
    const current = agent ?? tc.cloud.networkAgent;
    await current.stop();
    await damage();
    const config = tc.cloud.config;
    agent = await startNetworkAgent(config, tc.cloud.bus, log, chooseDataplane(config), { url: tc.cloud.metadataUrl, sharedSecret: config.metadata.sharedSecret as string });
  }

  it('restarts without interrupting traffic or restarting dnsmasq', async () => {
    const before = await dnsmasqPids();
    assert.ok(before.length > 0);
    const stream = lab.tryRun(['busybox', 'ping', '-c', '25', '-i', '0.2', '-W', '1', dhcpIp], guestNs);
    await new Promise((r) => setTimeout(r, 1000));
    await restartAgent();
    const { out } = await stream;
    const loss = /(\d+)% packet loss/.exec(out)?.[1];
    assert.equal(loss, '0', out);
    assert.deepEqual(await dnsmasqPids(), before, 'the running dnsmasq was adopted, not restarted');
  });

  it('mends a deleted bridge and a deleted rule, and leaves an interface it does not own', async () => {
    const bridge = `brq${String(network.id).slice(0, 11)}`;
    let removedRule = '';
    await restartAgent(async () => {
      await lab.run(['ip', 'link', 'del', bridge], host);
      const rules = (await lab.run(['iptables-save', '-t', 'filter'], host)).split('\n').filter((l) => l.startsWith('-A kumo-'));
      removedRule = rules.find((l) => l.includes('--physdev')) ?? rules[0] ?? '';
      assert.ok(removedRule, 'the firewall has rules to remove');
      await lab.run(['iptables', '-D', ...removedRule.slice(3).split(' ')], host);
      await lab.run(['ip', 'link', 'add', 'bystander0', 'type', 'bridge'], host);
    });
    await until('the bridge back', async () => (await lab.tryRun(['ip', 'link', 'show', bridge], host)).ok);
    await until('the rule back', async () => (await lab.run(['iptables-save', '-t', 'filter'], host)).split('\n').includes(removedRule));
    assert.ok((await lab.tryRun(['ip', 'link', 'show', 'bystander0'], host)).ok, 'an interface it does not own is untouched');
    assert.ok(await until('the guest on the network again', () => lab.ping(guestNs, dhcpIp, 1)));
  });

  it('leaves no stale DHCP entry, tap, namespace or rule after 200 ports come and go in a burst', async () => {
    const hostName = tc.cloud.config.hostName;
    const namespacesBefore = (await lab.run(['ip', 'netns', 'list'])).split('\n').filter((l) => l.startsWith(lab.prefix)).sort();
    const linksBefore = await tapNames();
    const made: Body[] = [];
    const queue = Array.from({ length: 200 }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          made.push(await admin.port(network.id as string, { name: `churn-${i}`, 'binding:host_id': hostName, device_owner: 'compute:nova', device_id: `churn-${i}` }));
        }
      }),
    );
    await until('the 200 entries in dnsmasq', async () => {
      const text = await hostsFile();
      return made.every((p) => text.includes(String(p.mac_address)));
    }, 60_000);
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        for (let i = w; i < made.length; i += 16) await admin.call('DELETE', `/ports/${made[i]?.id}`);
      }),
    );
    await until('no churned entry left in dnsmasq', async () => {
      const text = await hostsFile();
      return made.every((p) => !text.includes(String(p.mac_address)));
    }, 60_000);
    await until('no churned port in the firewall', async () => {
      const rules = await lab.run(['iptables-save'], host);
      return made.every((p) => !rules.includes(String(p.id).slice(0, 10)));
    }, 60_000);
    assert.deepEqual(await tapNames(), linksBefore, 'no tap left behind');
    assert.deepEqual((await lab.run(['ip', 'netns', 'list'])).split('\n').filter((l) => l.startsWith(lab.prefix)).sort(), namespacesBefore);
  });

  async function tapNames(): Promise<string[]> {
    const links = JSON.parse(await lab.run(['ip', '-j', 'link', 'show'], host)) as Array<{ ifname: string }>;
    return links.map((l) => l.ifname).filter((n) => n.startsWith('tap')).sort();
  }
});
