// Two clouds side by side on one host (a lab namespace standing for it): two `kumo up` child
// processes with their own data directories and ports, the linuxbridge dataplane and QEMU guests
// under TCG, no namespace prefix of a test's (each cloud's id alone keeps them apart) and the
// default metadata port and state directories. Each guest gets its address by DHCP. `kumo down`
// of one leaves the other's guest answering; after both are down (twice for the second), the
// host's processes, namespaces, links, iptables and ipsets are as they were before.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { cloudIdOf } from '../../src/core/config.js';
import { cleanEnv, KUMO_MAIN, startKumo, type KumoProcess } from './helpers/kumo-process.js';
import { alive, countReadyLines, KumoRest, kumoTinyFile, qemuPrerequisites, readyLine, skipUnless, until, type Json } from './helpers/qemu-guests.js';
import { NetLab } from '../helpers/netlab.js';

const run = promisify(execFile);
const prerequisites = await qemuPrerequisites({ cli: false });
const skip = skipUnless(prerequisites, 'two clouds side by side');
const STEP = { timeout: 300_000 };
const TUNNEL_IP = '10.250.7.1';

interface Side {
  name: 'a' | 'b';
  dataDir: string;
  cloudId: string;
  kumo: KumoProcess;
  rest: KumoRest;
  networkId: string;
  serverId: string;
  fixedIp: string;
}

/** The host's state a cloud may change: its processes, namespaces, links, iptables and ipsets (machine and lab host). */
async function hostSnapshot(lab: NetLab, host: string): Promise<Record<string, string[]>> {
  const processes: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    } catch {
      continue;
    }
    const tool = (argv[0] ?? '').split('/').pop() ?? '';
    if (/^(qemu-system|dnsmasq|haproxy)/.test(tool) || argv.includes(KUMO_MAIN)) processes.push(`${entry} ${argv.join(' ')}`);
  }
  const where = async (netns?: string) => {
    const links = (JSON.parse(await lab.run(['ip', '-j', '-d', 'link', 'show'], netns)) as Array<{ ifname: string; ifalias?: string; master?: string; linkinfo?: { info_kind?: string } }>)
      .map((l) => `${l.ifname} ${l.linkinfo?.info_kind ?? ''} ${l.master ?? ''} ${l.ifalias ?? ''}`);
    const tables: string[] = [];
    for (const tool of ['iptables-save', 'ip6tables-save']) {
      for (const line of (await lab.run([tool], netns)).split('\n')) {
        if (line.startsWith('#') || line.trim() === '') continue;
        tables.push(`${tool} ${line.replace(/ \[\d+:\d+\]$/, '')}`);
      }
    }
    const sets = (await lab.run(['ipset', 'list', '-n'], netns)).split('\n').filter((l) => l !== '');
    return { links: links.sort(), tables, sets: sets.sort() };
  };
  const machine = await where();
  const lab_ = await where(host);
  const namespaces = (JSON.parse((await lab.run(['ip', '-j', 'netns', 'list'])).trim() || '[]') as Array<{ name: string }>).map((n) => n.name).sort();
  return {
    processes: processes.sort(),
    namespaces,
    'machine links': machine.links,
    'machine iptables': machine.tables,
    'machine ipsets': machine.sets,
    'host links': lab_.links,
    'host iptables': lab_.tables,
    'host ipsets': lab_.sets,
  };
}

describe('two clouds side by side on one host', { skip, timeout: 1_800_000 }, () => {
  const lab = new NetLab();
  let host = '';
  let root = '';
  let imageDir = '';
  let before_: Record<string, string[]> = {};
  const sides: Side[] = [];

  const env = (side: 'a' | 'b'): Record<string, string> => ({
    KUMO_COMPUTE_DRIVER: 'qemu',
    KUMO_ACCEL: 'tcg',
    KUMO_QEMU_STOP_TIMEOUT: '10',
    KUMO_DATAPLANE: 'linuxbridge',
    KUMO_DATAPLANE_HOST_NAMESPACE: host,
    KUMO_TUNNEL_IP: TUNNEL_IP,
    // Both clouds' tenant networks are VXLAN on one host: each has its own VNIs.
    KUMO_NETWORK_VNI_RANGES: side === 'a' ? '3100:3199' : '3200:3299',
    KUMO_HOST_NAME: `${lab.prefix}${side}`,
    KUMO_GUEST_IMAGE: 'import',
    KUMO_CACHE_DIR: imageDir,
    // Unset: Nova's 8775, or a free port when another process has it.
    KUMO_METADATA_PORT: '',
  });

  /** `kumo down` as a user runs it: a child process, with the environment its `kumo up` had. */
  async function kumoDown(side: 'a' | 'b', dataDir: string): Promise<string> {
    const { stdout } = await run(process.execPath, [KUMO_MAIN, 'down', '--data-dir', dataDir], { env: cleanEnv(env(side)), timeout: 120_000 });
    return stdout;
  }

  /** What carries a cloud's id on the host: marked links, its namespaces, chains, sets. */
  async function objectsOf(cloudId: string): Promise<string[]> {
    const snapshot = await hostSnapshot(lab, host);
    return Object.values(snapshot)
      .flat()
      .filter((line) => line.includes(`kumo:${cloudId}`) || line.includes(`kumo-${cloudId}-`));
  }

  /** From the cloud's own DHCP namespace, which is on the guest's network. */
  const ping = (side: Side) => lab.ping(`kumo-${side.cloudId}-qdhcp-${side.networkId}`, side.fixedIp);

  before(async () => {
    if (prerequisites.missing.length > 0) throw new Error(`CI is set and QEMU is present, but this suite also needs: ${prerequisites.missing.join('; ')}`);
    imageDir = dirname(await kumoTinyFile());
    host = await lab.namespace('host');
    await lab.run(['ip', '-n', host, 'addr', 'add', `${TUNNEL_IP}/32`, 'dev', 'lo']);
    // A real host has its filter tables; a fresh namespace gets them on the first iptables
    // command, which would otherwise show up as a difference that is not a leftover.
    for (const tool of ['iptables', 'ip6tables']) {
      await lab.run([tool, '-w', '-t', 'filter', '-N', 'table-probe'], host);
      await lab.run([tool, '-w', '-t', 'filter', '-X', 'table-probe'], host);
    }
    root = mkdtempSync(join(tmpdir(), 'kumo-two-clouds-'));
    before_ = await hostSnapshot(lab, host);
  });

  after(async () => {
    for (const side of sides) {
      side.kumo.kill();
      await kumoDown(side.name, side.dataDir).catch(() => undefined);
    }
    const { out } = await lab.tryRun(['ip', '-j', 'netns', 'list']);
    for (const { name } of (out.trim() ? JSON.parse(out) : []) as Array<{ name: string }>) {
      if (sides.some((s) => name.startsWith(`kumo-${s.cloudId}-`))) await lab.tryRun(['ip', 'netns', 'del', name]);
    }
    await lab.cleanup();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('starts two clouds on their own data directories and ports, the second on another metadata port when 8775 is taken', STEP, async () => {
    for (const name of ['a', 'b'] as const) {
      const dataDir = resolve(root, name);
      const kumo = await startKumo({ dataDir, env: env(name), timeoutMs: 60_000 });
      sides.push({ name, dataDir, cloudId: cloudIdOf(dataDir), kumo, rest: new KumoRest(kumo.url, dataDir), networkId: '', serverId: '', fixedIp: '' });
    }
    const [a, b] = sides as [Side, Side];
    assert.notEqual(a.cloudId, b.cloudId);
    assert.notEqual(a.kumo.port, b.kumo.port);
    const metadataLine = (s: Side) => /metadata (http:\S+) \(([^)]*)\)/.exec(s.kumo.output());
    const [aUrl, bUrl] = [metadataLine(a)?.[1], metadataLine(b)?.[1]];
    assert.ok(aUrl && bUrl && aUrl !== bUrl, `${aUrl} ${bUrl}`);
    if (aUrl?.endsWith(':8775')) assert.match(metadataLine(b)?.[2] ?? '', /8775 was taken/, 'the banner says why not 8775');
  });

  it('boots a guest in each, and each gets its address by DHCP and answers ping', STEP, async () => {
    for (const side of sides) {
      const { rest } = side;
      await rest.waitImage('kumo-tiny');
      const network = await rest.call('POST', '/networking/v2.0/networks', { network: { name: 'net' } });
      assert.equal(network.status, 201, network.text);
      side.networkId = network.json.network.id as string;
      assert.equal(network.json.network['provider:network_type'] ?? 'vxlan', 'vxlan');
      const subnet = await rest.call('POST', '/networking/v2.0/subnets', { subnet: { network_id: side.networkId, cidr: side.name === 'a' ? '10.93.1.0/24' : '10.93.2.0/24', ip_version: 4 } });
      assert.equal(subnet.status, 201, subnet.text);
      const groups = await rest.call('GET', '/networking/v2.0/security-groups?name=default');
      const group = (groups.json.security_groups as Json[])[0] as Json;
      const rule = await rest.call('POST', '/networking/v2.0/security-group-rules', { security_group_rule: { security_group_id: group.id, direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp' } });
      assert.equal(rule.status, 201, rule.text);
      const flavors = await rest.call('GET', '/compute/v2.1/flavors');
      const nano = (flavors.json.flavors as Json[]).find((f) => f.name === 'm1.nano') as Json;
      const image = await rest.waitImage('kumo-tiny');
      const server = await rest.call('POST', '/compute/v2.1/servers', { server: { name: `vm-${side.name}`, imageRef: image.id, flavorRef: nano.id, networks: [{ uuid: side.networkId }] } });
      assert.equal(server.status, 202, server.text);
      side.serverId = server.json.server.id as string;
    }
    for (const side of sides) {
      const active = await side.rest.waitStatus(side.serverId, 'ACTIVE', 300_000);
      side.fixedIp = (active.addresses?.net as Array<{ addr: string }>)[0]?.addr as string;
      const text = await side.rest.waitConsole(side.serverId, `vm-${side.name}'s ready line`, (t) => countReadyLines(t) >= 1, 300_000);
      assert.equal(readyLine(text, 1)?.[0], side.fixedIp, `the guest got its fixed IP by DHCP:\n${text}`);
      assert.ok(await until(`vm-${side.name} answers ping`, () => ping(side), 60_000));
    }
  });

  it("kumo down of one cloud removes all of its objects and leaves the other's guest answering", STEP, async () => {
    const [a, b] = sides as [Side, Side];
    const bObjects = await objectsOf(b.cloudId);
    assert.ok(bObjects.length > 0);
    assert.ok((await objectsOf(a.cloudId)).length > 0);
    const out = await kumoDown('a', a.dataDir);
    assert.match(out, new RegExp(`stopped:  kumo up, pid ${a.kumo.pid}`), out);
    assert.match(out, /guests:   1 ended/, out);
    assert.ok(!alive(a.kumo.pid), 'kumo down stopped cloud a first');
    assert.deepEqual(await objectsOf(a.cloudId), [], 'nothing of cloud a is left');
    assert.deepEqual(await objectsOf(b.cloudId), bObjects, "cloud b's objects are untouched");
    assert.ok(await ping(b), "b's guest still answers");
    const again = await kumoDown('a', a.dataDir);
    assert.match(again, /guests:   none running\n  network:  nothing left to remove/, again);
  });

  it('after both are down the host is as it was before', STEP, async () => {
    const b = sides[1] as Side;
    const out = await kumoDown('b', b.dataDir);
    assert.match(out, /guests:   1 ended/, out);
    await kumoDown('b', b.dataDir);
    assert.deepEqual(await hostSnapshot(lab, host), before_);
  });
});
