// The split deployment of issue 15 with real guests: `kumo api` and `kumo conductor` in a
// "controller" namespace on PostgreSQL and RabbitMQ; two `kumo agent` hosts, each in a namespace
// of its own with an empty state directory, the qemu driver (TCG) and linuxbridge; VXLAN between
// all three through a "switch" namespace. The agents get no database URL, 5432 is rejected in
// their namespaces, and the controller's directory is hidden from them (a private mount
// namespace with an empty tmpfs over it): the bus and the kumo-service user are all they have.
// Through the openstack CLI, kumo-tiny guests booted together on both hosts get DHCP within 10 s
// of ACTIVE (resync is off in every agent: only the push of desired state can serve them), ping
// each other (their user data says so on the console), and a snapshot of one, uploaded by its
// agent, boots on the other host. kumo-tiny is uploaded in its AMI-style form (kernel, ramdisk
// and disk images): the agents' QEMU boots its kernel directly, as Nova's libvirt driver does.
//
// The machine's PostgreSQL and RabbitMQ listen on its loopback: the test relays them into the
// controller namespace (127.0.0.1:5432 there; the broker on the controller's switch address),
// so that the agents reach the broker as on a real network and the database not at all.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { onPath } from '../../src/agents/network/start.js';
import { GUEST_KERNEL_CMDLINE } from '../../src/cli/guest-image.js';
import { TEST_DATABASE_URL } from '../helpers/cloud.js';
import { dropSchema } from '../helpers/databases.js';
import { NetLab } from '../helpers/netlab.js';
import { nova, waitForServer } from '../services/compute/helpers.js';
import { cleanEnv, freePort } from './helpers/kumo-process.js';
import { NetnsForward, NetnsRelay } from './helpers/netns-relay.js';
import { OpenStackCli } from './helpers/openstack-cli.js';
import { kumoTinyFiles, qemuPrerequisites, skipUnless, sleep, until } from './helpers/qemu-guests.js';
import { startChild, stopChild } from './helpers/split-deployment.js';

const exec = promisify(execFile);
const BUS_URL = process.env.KUMO_TEST_BUS_URL;
const prerequisites = await qemuPrerequisites();
for (const tool of ['nsenter', 'unshare', 'mount', 'rabbitmqctl']) {
  if (!onPath(tool)) prerequisites.missing.push(`${tool} (apt-get install util-linux mount rabbitmq-server)`);
}
const skip =
  !TEST_DATABASE_URL || !BUS_URL
    ? 'KUMO_TEST_DATABASE_URL and KUMO_TEST_BUS_URL are not both set (CI sets them)'
    : skipUnless(prerequisites, 'the split deployment with QEMU guests');

/** The switch's subnet: the controller's and the hosts' tunnel addresses. */
const CONTROLLER_IP = '10.250.0.1';
const HOST_IPS = ['10.250.0.2', '10.250.0.3'] as const;
const GUEST_IPS = ['10.42.0.11', '10.42.0.12'] as const;
/** How long after ACTIVE a guest may wait for its lease (the figure). */
const DHCP_WITHIN_MS = 10_000;

/**
 * Runs in the agent's own mount namespace (unshare --mount --propagation private): hides `dir`
 * under an empty tmpfs, then starts the agent and passes signals on. Root reads every file, so
 * only a mount can take the controller's disk away from a host on the same machine.
 */
const HIDE_AND_RUN = `
const { execFileSync, spawn } = require('node:child_process');
const [dir, ...command] = process.argv.slice(1);
execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4k,mode=0700', 'kumo-hidden', dir]);
const child = spawn(command[0], command.slice(1), { stdio: 'inherit' });
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
`;

/** A guest's user data: ping the other guest until it answers (150 tries), say so on the console. */
const pingUserData = (peer: string): string =>
  [
    '#!/bin/sh',
    'i=0',
    'while [ $i -lt 150 ]; do',
    `  if ping -c 1 -W 1 ${peer} >/dev/null 2>&1; then echo "kumo-test ping ${peer} ok"; exit 0; fi`,
    '  i=$((i+1)); sleep 1',
    'done',
    `echo "kumo-test ping ${peer} failed"`,
    'exit 1',
    '',
  ].join('\n');

const rabbitmqctl = (args: string[]) => exec('rabbitmqctl', args, { timeout: 60_000 });

describe('a split deployment with QEMU guests: controller, two agent hosts and a switch in namespaces', { skip, timeout: 1_200_000 }, () => {
  const lab = new NetLab();
  const vhost = `kumo-test-${lab.cloudId}`;
  const schema = `kumo_test_splitqemu_${lab.cloudId}`;
  // Short paths: QEMU's unix sockets live in the agents' state directories (108-byte sun_path).
  const controllerRoot = mkdtempSync('/tmp/ksc-');
  const dataDir = join(controllerRoot, 'data');
  const hostRoots: string[] = [];
  const children: ChildProcess[] = [];
  const forwards: NetnsForward[] = [];
  let relay: NetnsRelay | undefined;
  let vhostMade = false;
  let ns = { sw: '', ctl: '', hosts: [] as string[] };
  const hostNames = [`${lab.prefix}ha`, `${lab.prefix}hb`] as const;
  let url = '';
  let token = '';
  let cli: OpenStackCli;
  let networkId = '';
  const servers: string[] = [];
  const images: string[] = [];
  const timings: string[] = [];
  const started = Date.now();

  const admin = ['--os-cloud', 'kumo-admin'];

  const console = async (id: string): Promise<string> => {
    const r = await nova(url, 'POST', `/servers/${id}/action`, token, { 'os-getConsoleOutput': {} });
    return r.status === 200 ? String(r.json.output ?? '') : '';
  };

  /** Polls until ACTIVE (failing on ERROR); resolves with the moment it was first seen so. */
  const activeAt = async (id: string, timeoutMs = 180_000): Promise<number> => {
    const server = await until(
      `${id} ACTIVE`,
      async () => {
        const s = (await nova(url, 'GET', `/servers/${id}`, token)).json.server as Record<string, any>;
        if (s.status === 'ERROR') throw new Error(`${id} went to ERROR: ${JSON.stringify(s.fault)}`);
        return s.status === 'ACTIVE' ? s : undefined;
      },
      timeoutMs,
      250,
    );
    assert.equal(server.status, 'ACTIVE');
    return Date.now();
  };

  /** Polls the console until `line` is there; resolves with the moment it was first seen. */
  const consoleLineAt = async (id: string, what: string, line: RegExp, timeoutMs: number): Promise<{ at: number; text: string }> => {
    const deadline = Date.now() + timeoutMs;
    let text = '';
    for (;;) {
      text = await console(id);
      if (line.test(text)) return { at: Date.now(), text };
      if (Date.now() > deadline) throw new Error(`no ${what} on ${id} after ${timeoutMs / 1000} s; console ends:\n${text.split('\n').slice(-25).join('\n')}`);
      await sleep(250);
    }
  };

  /**
   * Polls the console until every mark is there; resolves with the moment each was first seen
   * (to a poll's precision) and the console then.
   */
  const consoleMarksAt = async (id: string, marks: Record<string, RegExp>, timeoutMs: number): Promise<{ at: Record<string, number>; text: string }> => {
    const deadline = Date.now() + timeoutMs;
    const at: Record<string, number> = {};
    let text = '';
    for (;;) {
      text = await console(id);
      const now = Date.now();
      for (const [name, line] of Object.entries(marks)) if (at[name] === undefined && line.test(text)) at[name] = now;
      if (Object.keys(at).length === Object.keys(marks).length) return { at, text };
      if (now > deadline) throw new Error(`no ${Object.keys(marks).filter((m) => at[m] === undefined).join(', ')} on ${id} after ${timeoutMs / 1000} s; console ends:\n${text.split('\n').slice(-25).join('\n')}`);
      await sleep(250);
    }
  };

  before(async () => {
    const bus = new URL(BUS_URL as string);
    const database = new URL(TEST_DATABASE_URL as string);
    await rabbitmqctl(['add_vhost', vhost]);
    vhostMade = true;
    await rabbitmqctl(['set_permissions', '-p', vhost, decodeURIComponent(bus.username), '.*', '.*', '.*']);

    // The switch, and three machines on it: the controller (the network node) and two hosts.
    ns.sw = await lab.namespace('sw');
    await lab.run(['ip', '-n', ns.sw, 'link', 'add', 'sw0', 'type', 'bridge']);
    await lab.run(['ip', '-n', ns.sw, 'link', 'set', 'sw0', 'up']);
    const machine = async (name: string, ip: string) => {
      const machineNs = await lab.namespace(name);
      await lab.run(['ip', '-n', machineNs, 'link', 'add', 'phys0', 'type', 'veth', 'peer', 'name', `p-${name}`, 'netns', ns.sw]);
      await lab.run(['ip', '-n', ns.sw, 'link', 'set', `p-${name}`, 'master', 'sw0', 'up']);
      await lab.run(['ip', '-n', machineNs, 'addr', 'add', `${ip}/24`, 'dev', 'phys0']);
      await lab.run(['ip', '-n', machineNs, 'link', 'set', 'phys0', 'up']);
      return machineNs;
    };
    ns.ctl = await machine('ctl', CONTROLLER_IP);
    ns.hosts = [await machine('ha', HOST_IPS[0]), await machine('hb', HOST_IPS[1])];
    for (const hostNs of ns.hosts) {
      // The hosts have no business with the database, wherever it would be.
      await lab.run(['iptables', '-A', 'OUTPUT', '-p', 'tcp', '--dport', '5432', '-j', 'REJECT', '--reject-with', 'tcp-reset'], hostNs);
    }

    // The controller's database and broker.
    forwards.push(await NetnsForward.open(ns.ctl, { host: '127.0.0.1', port: 5432 }, Number(database.port || 5432)));
    forwards.push(await NetnsForward.open(ns.ctl, { host: CONTROLLER_IP, port: 5672 }, Number(bus.port || 5672)));
    database.hostname = '127.0.0.1';
    database.port = '5432';
    bus.hostname = CONTROLLER_IP;
    bus.port = '5672';
    bus.pathname = `/${vhost}`;

    // dnsmasq reads its files in the controller's dataplane state after dropping to nobody.
    chmodSync(controllerRoot, 0o755);
    mkdirSync(join(controllerRoot, 'net'), { mode: 0o755 });
    const port = await freePort();
    const controlEnv = cleanEnv({
      KUMO_DATABASE_URL: database.toString(),
      KUMO_DATABASE_SCHEMA: schema,
      KUMO_BUS_URL: bus.toString(),
      KUMO_HOST: '0.0.0.0',
      KUMO_PUBLIC_URL: `http://${CONTROLLER_IP}:${port}`,
      KUMO_HOST_NAME: `${lab.prefix}ctl`,
      KUMO_PASSWORD_HASH_ROUNDS: '4',
      KUMO_DATAPLANE: 'linuxbridge',
      KUMO_TUNNEL_IP: CONTROLLER_IP,
      KUMO_DATAPLANE_NAMESPACE_PREFIX: `${lab.prefix}c-`,
      KUMO_DATAPLANE_STATE_DIR: join(controllerRoot, 'net'),
      KUMO_DATAPLANE_RESYNC_INTERVAL: '0',
      KUMO_DEFAULT_NETWORKS: '0',
    });
    // nsenter --net, not ip netns exec: the qdhcp- namespaces the network node makes must be
    // mounted where the lab's cleanup sees them.
    const inController = ['nsenter', `--net=/run/netns/${ns.ctl}`];
    const api = await startChild(['api', '--data-dir', dataDir, '--port', String(port), '--log-level', 'warn'], controlEnv, /Kumo API is up at (http:\/\/\S+)/, { wrapper: inController, timeoutMs: 60_000 });
    children.push(api.process);
    assert.equal(api.match[1], `http://${CONTROLLER_IP}:${port}`);
    // The conductor under a host name of its own, as on a machine of its own: the network node is the API's host.
    children.push((await startChild(['conductor', '--data-dir', dataDir, '--log-level', 'warn'], { ...controlEnv, KUMO_HOST_NAME: `${lab.prefix}cond` }, /Kumo conductor is up/, { wrapper: inController, timeoutMs: 60_000 })).process);
    // The test's own REST polling reaches the API through a loopback relay; the CLI runs on the controller.
    relay = await NetnsRelay.open(ns.ctl, port);
    url = `http://127.0.0.1:${port}`;
    cli = new OpenStackCli(join(controllerRoot, 'cli-home'), join(dataDir, 'clouds.yaml'), ns.ctl);
    token = await cli.value([...admin, 'token', 'issue'], 'id');

    for (const [i, hostNs] of ns.hosts.entries()) {
      const home = mkdtempSync('/tmp/ksh-');
      hostRoots.push(home);
      copyFileSync(join(dataDir, 'clouds.yaml'), join(home, 'clouds.yaml'));
      const agentBus = new URL(bus.toString());
      const env = cleanEnv({
        KUMO_BUS_URL: agentBus.toString(),
        OS_CLIENT_CONFIG_FILE: join(home, 'clouds.yaml'),
        KUMO_COMPUTE_DRIVER: 'qemu',
        KUMO_ACCEL: 'tcg',
        KUMO_QEMU_STOP_TIMEOUT: '30',
        KUMO_DATAPLANE: 'linuxbridge',
        KUMO_TUNNEL_IP: HOST_IPS[i] as string,
        KUMO_DATAPLANE_NAMESPACE_PREFIX: `${lab.prefix}h${i}-`,
        KUMO_DATAPLANE_STATE_DIR: join(home, 'net'),
        KUMO_DATAPLANE_RESYNC_INTERVAL: '0',
      });
      assert.equal(env.KUMO_DATABASE_URL, undefined);
      const wrapper = ['nsenter', `--net=/run/netns/${hostNs}`, 'unshare', '--mount', '--propagation', 'private', process.execPath, '-e', HIDE_AND_RUN, controllerRoot];
      const host = hostNames[i] as string;
      const agent = await startChild(['agent', '--host', host, '--state-dir', join(home, 'state'), '--os-cloud', 'kumo-service', '--log-level', 'warn'], env, /is up \(.*no database\)/, { wrapper, timeoutMs: 60_000 });
      children.push(agent.process);
    }
    for (const host of hostNames) {
      await until(
        `${host} up`,
        async () => {
          const services = (await nova(url, 'GET', '/os-services', token)).json.services as Array<Record<string, any>>;
          return services.some((s) => s.host === host && s.state === 'up');
        },
        30_000,
      );
    }
  });

  after(async () => {
    const step = async (what: string, action: () => Promise<unknown>) => {
      try {
        await action();
      } catch (error) {
        process.stderr.write(`cleanup (${what}): ${String(error)}\n`);
      }
    };
    for (const id of servers) await step(`delete ${id}`, async () => nova(url, 'DELETE', `/servers/${id}`, token));
    for (const id of servers) await step(`wait ${id}`, async () => waitForServer(url, token, id, ['DELETED'], 90_000));
    await cli?.killAll();
    // Agents first (they leave their guests running, as nova-compute does), then the controller.
    for (const child of [...children].reverse()) await step('stop a kumo process', () => stopChild(child));
    await step('relay', async () => relay?.close());
    for (const forward of forwards) await step('forward', () => forward.close());
    // Whatever still runs in the namespaces (a guest whose delete failed, dnsmasq, haproxy) dies with them.
    await step('namespaces', () => lab.cleanup());
    await step('schema', () => dropSchema(TEST_DATABASE_URL as string, schema));
    if (vhostMade) await step('vhost', () => rabbitmqctl(['delete_vhost', vhost]));
    for (const dir of [controllerRoot, ...hostRoots]) rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`compute-split-qemu timings: ${timings.join('; ')}; total ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  });

  it('the hosts have no database and no controller directory: no URL, 5432 rejected, the directory hidden', async () => {
    for (const [i, hostNs] of ns.hosts.entries()) {
      const rules = await lab.run(['iptables', '-S', 'OUTPUT'], hostNs);
      assert.match(rules, /--dport 5432 .*REJECT/, `5432 stays blocked on ${hostNames[i]} while its dataplane runs`);
      const pids = (await lab.run(['ip', 'netns', 'pids', hostNs])).split('\n').filter((pid) => /^\d+$/.test(pid));
      assert.ok(pids.length > 0, `the agent runs in ${hostNs}`);
      let agentChecked = false;
      for (const pid of pids) {
        // /proc/PID/root resolves paths in that process's mount namespace. A process may end
        // meanwhile (the agent's ip and iptables runs): then there is nothing to look at.
        let seen: string[];
        let command: string;
        try {
          command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
          seen = readdirSync(`/proc/${pid}/root${controllerRoot}`);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw error;
        }
        assert.deepEqual(seen, [], `process ${pid} (${command.replaceAll('\0', ' ')}) in ${hostNs} sees ${controllerRoot} empty`);
        if (command.includes('\0agent\0')) agentChecked = true;
      }
      assert.ok(agentChecked, `the kumo agent process in ${hostNs} was looked at`);
    }
    // The controller sees its own directory.
    assert.ok(readdirSync(dataDir).includes('clouds.yaml'));
  });

  it('boots kumo-tiny on both hosts through the CLI: DHCP by the push (resync off), and the guests ping each other', async (t) => {
    // kumo-tiny in its AMI-style form, as DevStack uploads CirrOS's UEC images: a kernel image,
    // a ramdisk image and the disk naming both. The hypervisor loads the kernel itself (no
    // firmware, boot loader or decompressor under TCG); the disk is the guest's root as before.
    const files = await kumoTinyFiles();
    const kernelId = await cli.value([...admin, 'image', 'create', '--disk-format', 'aki', '--container-format', 'aki', '--public', '--file', files.kernel, 'kumo-tiny-kernel'], 'id');
    images.push(kernelId);
    const ramdiskId = await cli.value([...admin, 'image', 'create', '--disk-format', 'ari', '--container-format', 'ari', '--public', '--file', files.ramdisk, 'kumo-tiny-ramdisk'], 'id');
    images.push(ramdiskId);
    images.push(
      await cli.value(
        [
          ...admin, 'image', 'create', '--disk-format', 'qcow2', '--container-format', 'bare', '--public', '--file', files.disk,
          '--property', `kernel_id=${kernelId}`, '--property', `ramdisk_id=${ramdiskId}`, '--property', `os_command_line=${GUEST_KERNEL_CMDLINE}`,
          'kumo-tiny',
        ],
        'id',
      ),
    );
    networkId = await cli.value([...admin, 'network', 'create', 'split-net'], 'id');
    await cli.ok([...admin, 'subnet', 'create', '--network', 'split-net', '--subnet-range', '10.42.0.0/24', 'split-subnet']);
    await cli.ok([...admin, 'security', 'group', 'rule', 'create', '--protocol', 'icmp', '--ingress', 'default']);
    // Both guests at once, as a user boots them: each create, then both measured together (two
    // TCG guests and the whole control plane share the machine's CPUs).
    const made: Array<{ created: number; id: string }> = [];
    for (const [i, host] of hostNames.entries()) {
      const userData = join(controllerRoot, `user-data-${i}`);
      writeFileSync(userData, pingUserData(GUEST_IPS[1 - i] as string));
      const created = Date.now();
      const id = await cli.value(
        [...admin, 'server', 'create', '--flavor', 'm1.nano', '--image', 'kumo-tiny', '--nic', `net-id=${networkId},v4-fixed-ip=${GUEST_IPS[i]}`, '--user-data', userData, '--availability-zone', `nova:${host}`, `vm-${i}`],
        'id',
      );
      servers.push(id);
      made.push({ created, id });
    }
    const guests = await Promise.all(
      made.map(async ({ created, id }, i) => {
        const active = await activeAt(id);
        const ip = GUEST_IPS[i]!.replaceAll('.', '\\.');
        const seen = await consoleMarksAt(id, { udhcpc: /udhcpc: started/, discover: /udhcpc: broadcasting discover/, lease: new RegExp(`lease of ${ip} obtained`) }, 120_000);
        const beforeLease = seen.text.slice(0, seen.text.search(new RegExp(`lease of ${ip} obtained`)));
        return { created, active, ...(seen.at as { udhcpc: number; discover: number; lease: number }), discovers: beforeLease.match(/broadcasting discover/g)?.length ?? 0 };
      }),
    );
    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    for (const [i, g] of guests.entries()) {
      const line = `vm-${i} on ${hostNames[i]}: create→ACTIVE ${s(g.active - g.created)}, ACTIVE→DHCP lease ${s(g.lease - g.active)} (ACTIVE→udhcpc started ${s(g.udhcpc - g.active)}, first discover→lease ${s(g.lease - g.discover)}, ${g.discovers} discover(s))`;
      timings.push(line);
      t.diagnostic(line);
    }
    for (const [i, g] of guests.entries()) {
      // Every agent's resync is off: a lease at all means the port's state was pushed, and one
      // within 10 s of ACTIVE means it was there when the guest asked (udhcpc's first 5
      // discovers span about 10 s: a push that came late would show). ACTIVE is when QEMU runs
      // the guest; the lease time is when this test saw it on the console (an upper bound).
      assert.ok(g.lease - g.active <= DHCP_WITHIN_MS, `vm-${i}: ACTIVE→DHCP lease ${s(g.lease - g.active)}`);
      const server = await cli.json<Record<string, any>>([...admin, 'server', 'show', servers[i] as string]);
      assert.equal(server['OS-EXT-SRV-ATTR:host'], hostNames[i]);
    }
    for (const [i, id] of servers.entries()) {
      const peer = GUEST_IPS[1 - i] as string;
      const { text } = await consoleLineAt(id, `the ping of ${peer}`, new RegExp(`kumo-test ping ${peer.replaceAll('.', '\\.')} (ok|failed)`), 120_000);
      assert.match(text, new RegExp(`^kumo-test ping ${peer.replaceAll('.', '\\.')} ok\\r?$`, 'm'), `vm-${i} pings ${peer} over VXLAN`);
    }
  });

  it('snapshots the guest on one host (uploaded by its agent) and boots the snapshot on the other', async (t) => {
    assert.equal(servers.length, 2, 'the guests of the test before');
    const snapshotStarted = Date.now();
    await cli.ok([...admin, 'server', 'image', 'create', '--name', 'vm-0-snap', '--wait', servers[0] as string], { timeoutMs: 300_000 });
    const image = await cli.json<Record<string, any>>([...admin, 'image', 'show', 'vm-0-snap']);
    images.push(image.id as string);
    assert.equal(image.status, 'active');
    assert.ok(Number(image.size) > 0, `the snapshot has data: ${image.size}`);
    timings.push(`snapshot ${((Date.now() - snapshotStarted) / 1000).toFixed(1)} s`);
    const id = await cli.value([...admin, 'server', 'create', '--flavor', 'm1.nano', '--image', 'vm-0-snap', '--nic', `net-id=${networkId}`, '--availability-zone', `nova:${hostNames[1]}`, 'vm-snap'], 'id');
    servers.push(id);
    const active = await activeAt(id);
    const { text } = await consoleLineAt(id, 'the ready line', /^kumo-tiny ready (\S+) (\S+)\r?$/m, 180_000);
    const ready = /^kumo-tiny ready (\S+) (\S+)\r?$/m.exec(text) as RegExpExecArray;
    assert.match(ready[1] as string, /^10\.42\.0\.\d+$/, 'the snapshot got an address by DHCP');
    const line = `vm-snap on ${hostNames[1]}: ACTIVE→ready ${((Date.now() - active) / 1000).toFixed(1)} s`;
    timings.push(line);
    t.diagnostic(line);
    const server = await cli.json<Record<string, any>>([...admin, 'server', 'show', id]);
    assert.equal(server['OS-EXT-SRV-ATTR:host'], hostNames[1]);
  });
});
