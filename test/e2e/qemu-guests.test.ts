// Real guests: `kumo up` (a child process, so it can be restarted) with the qemu driver under
// TCG and the linuxbridge dataplane in a network lab of namespaces, driven by the real
// `openstack` CLI, booting kumo-tiny (tools/guest-image). What a user sees: the guest's own
// console lines (its address, the metadata service's instance id, the key, user data), pings
// between guests and through a floating IP, power actions that reach the guest (power
// button, /data kept), a snapshot that boots, the VNC console through the websocket proxy,
// a guest killed behind Kumo's back, a restart of Kumo that re-adopts its guests, and
// deleting that leaves nothing behind. Needs root, QEMU, the CLI and kumo-tiny's build tools;
// skips without them (except in CI, where it fails when QEMU is there but the rest is not).
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startKumo, type KumoProcess } from './helpers/kumo-process.js';
import { OpenStackCli, type CliResult } from './helpers/openstack-cli.js';
import {
  alive,
  countReadyLines,
  ec2Id,
  instanceDir,
  KumoRest,
  kumoTinyFile,
  POWER_BUTTON_LINE,
  QemuLab,
  qemuPrerequisites,
  qemuProcessesMentioning,
  readPid,
  readyLine,
  runtimeDir,
  skipUnless,
  until,
  type Json,
} from './helpers/qemu-guests.js';
import { openConsole, RFB_BANNER, websocketUrlOf } from '../services/console/helpers.js';

const run = promisify(execFile);
const prerequisites = await qemuPrerequisites();
const skip = skipUnless(prerequisites, 'the real-QEMU suite');

const ADMIN = ['--os-cloud', 'kumo-admin'];
const DEMO = ['--os-cloud', 'kumo-demo'];
/** A TCG boot takes 6–10 s here, more with other guests running: a step gets five minutes so that only a hang fails it. */
const STEP = { timeout: 300_000 };
const INT_CIDR = '10.91.7.0/24';

/** An OpenSSH public key line for a fresh ed25519 key (no ssh-keygen needed). */
function ed25519PublicLine(): string {
  const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const wire = (data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    return Buffer.concat([length, data]);
  };
  return `ssh-ed25519 ${Buffer.concat([wire(Buffer.from('ssh-ed25519')), wire(raw)]).toString('base64')} qemu-e2e@kumo`;
}

function assertFailed(result: CliResult, pattern: RegExp): void {
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, pattern, `stderr: ${result.stderr}`);
  assert.doesNotMatch(result.stderr, /Traceback|HTTP 500/, 'a clean refusal, not a crash');
}

describe('real QEMU guests through the openstack CLI', { skip, timeout: 1_800_000 }, () => {
  let qlab: QemuLab;
  let root: string;
  let kumo: KumoProcess;
  let cli: OpenStackCli;
  let rest: KumoRest;
  const ids: Record<string, string> = {};
  const fixedIps: Record<string, string> = {};
  /** Each server's tap (`tap` + 11 characters of its port id), in the host namespace. */
  const taps: Record<string, string> = {};
  const marker = `marker-${randomBytes(6).toString('hex')}`;
  let keyLine = '';
  let floatingIp = '';

  const dataDir = () => kumo.dataDir;
  const pidOf = (name: string) => readPid(join(runtimeDir(qlab.stateDir, ids[name] as string), 'qemu.pid'));
  const consoleShow = (name: string) => cli.ok([...DEMO, 'console', 'log', 'show', name]);
  /** The console after the `n`th ready line (everything when n is 0). */
  const afterReady = (text: string, n: number) => {
    if (n === 0) return text;
    let index = -1;
    const pattern = /^kumo-tiny ready \S+ \S+\r?$/gm;
    for (let i = 0; i < n; i += 1) {
      const match = pattern.exec(text);
      if (!match) return '';
      index = match.index + match[0].length;
    }
    return text.slice(index);
  };

  async function fixedIpOf(name: string): Promise<string> {
    const server = (await rest.server(ids[name] as string)) as Json;
    const address = (server.addresses?.int as Array<{ addr: string }> | undefined)?.[0]?.addr;
    assert.ok(address, `${name} has an address on int: ${JSON.stringify(server.addresses)}`);
    return address;
  }

  /** Creates a server with --wait and waits for its first ready line; returns the console. */
  async function bootAndWaitReady(name: string, args: string[]): Promise<string> {
    const created = await cli.json<Json>([...DEMO, 'server', 'create', '--flavor', 'm1.nano', '--network', 'int', ...args, '--wait', name], { timeoutMs: 300_000 });
    assert.equal(created.status, 'ACTIVE');
    ids[name] = created.id as string;
    fixedIps[name] = await fixedIpOf(name);
    taps[name] = `tap${(await portOf(ids[name] as string)).slice(0, 11)}`;
    assert.ok((await qlab.taps()).includes(taps[name] as string), `${name}'s tap is in the host namespace`);
    return rest.waitConsole(ids[name] as string, `${name}'s ready line`, (text) => countReadyLines(text) >= 1);
  }

  before(async () => {
    if (prerequisites.missing.length > 0) {
      throw new Error(`CI is set and QEMU is present, but the real-QEMU suite also needs: ${prerequisites.missing.join('; ')}`);
    }
    const image = await kumoTinyFile();
    qlab = await QemuLab.create();
    root = mkdtempSync(join(tmpdir(), 'kumo-e2e-qemu-'));
    kumo = await startKumo({ dataDir: join(root, 'data'), env: qlab.kumoEnv({ KUMO_CACHE_DIR: dirname(image) }), timeoutMs: 60_000 });
    cli = new OpenStackCli(join(root, 'home'), join(kumo.dataDir, 'clouds.yaml'));
    rest = new KumoRest(kumo.url, kumo.dataDir);
    await rest.waitImage('kumo-tiny');
  });

  after(async () => {
    if (cli) await cli.killAll();
    if (kumo) await kumo.stop('SIGTERM', 30_000).catch(() => kumo.kill());
    // Kills what still runs in the lab's namespaces (QEMU included, should a step have failed).
    if (qlab) await qlab.cleanup();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('sets up int, ext, a router between them, ICMP and TCP in the default group and the keypair k', STEP, async () => {
    await cli.ok([...DEMO, 'network', 'create', 'int']);
    await cli.ok([...DEMO, 'subnet', 'create', '--network', 'int', '--subnet-range', INT_CIDR, 'int-subnet']);
    await cli.ok([...ADMIN, 'network', 'create', '--external', '--provider-network-type', 'flat', '--provider-physical-network', 'physnet1', 'ext']);
    await cli.ok([
      ...ADMIN, 'subnet', 'create', '--network', 'ext', '--subnet-range', '203.0.113.0/24', '--gateway', '203.0.113.254',
      '--no-dhcp', '--allocation-pool', 'start=203.0.113.100,end=203.0.113.200', 'ext-subnet',
    ]);
    await cli.ok([...DEMO, 'router', 'create', 'r1']);
    await cli.ok([...DEMO, 'router', 'set', '--external-gateway', 'ext', 'r1']);
    await cli.ok([...DEMO, 'router', 'add', 'subnet', 'r1', 'int-subnet']);
    await cli.ok([...DEMO, 'security', 'group', 'rule', 'create', '--ingress', '--protocol', 'icmp', 'default']);
    await cli.ok([...DEMO, 'security', 'group', 'rule', 'create', '--ingress', '--protocol', 'tcp', '--dst-port', '1:65535', 'default']);
    keyLine = ed25519PublicLine();
    const keyFile = join(root, 'k.pub');
    writeFileSync(keyFile, `${keyLine}\n`);
    await cli.ok([...DEMO, 'keypair', 'create', '--public-key', keyFile, 'k']);
    const nano = await cli.json<Json>([...DEMO, 'flavor', 'show', 'm1.nano']);
    assert.equal(nano.ram, 128);
    assert.equal(nano.vcpus, 1);
  });

  it('boots vm1: ACTIVE, and its console shows its address, its EC2 instance id, the key and its user data', STEP, async () => {
    const userData = join(root, 'vm1-user-data.sh');
    writeFileSync(userData, [
      '#!/bin/sh',
      'if [ -f /data/marker ]; then',
      '  echo "kumo-e2e marker $(cat /data/marker)"',
      'else',
      `  echo ${marker} > /data/marker && sync && echo "kumo-e2e marker written"`,
      'fi',
      // In the background, so the ready line does not wait: the floating IP comes later.
      '(',
      '  n=0',
      '  while [ $n -lt 300 ]; do',
      '    ip=$(timeout 3 wget -q -O - http://169.254.169.254/latest/meta-data/public-ipv4 2>/dev/null)',
      '    if [ -n "$ip" ]; then echo "public-ipv4 $ip"; exit 0; fi',
      '    n=$((n + 1))',
      '    sleep 2',
      '  done',
      ') >/dev/console 2>&1 &',
      'exit 0',
      '',
    ].join('\n'));
    await bootAndWaitReady('vm1', ['--image', 'kumo-tiny', '--key-name', 'k', '--user-data', userData]);
    const id = ids.vm1 as string;
    const text = await consoleShow('vm1');
    assert.deepEqual(readyLine(text, 1), [fixedIps.vm1, ec2Id(id)], `the guest got its fixed IP by DHCP and its id from the metadata service:\n${text}`);
    assert.ok(text.includes(`kumo-tiny public-key ${keyLine}`), `the key from the metadata service:\n${text}`);
    assert.match(text, /^kumo-e2e marker written\r?$/m);
    assert.match(text, /^kumo-tiny user-data exit 0\r?$/m);

    // The driver's files and process, where the design puts them.
    const pid = pidOf('vm1');
    assert.ok(pid !== undefined && alive(pid), 'qemu.pid names a running QEMU');
    assert.deepEqual(qemuProcessesMentioning(id), [pid], 'one QEMU for vm1');
    assert.ok(existsSync(join(instanceDir(dataDir(), id), 'console.log')));
  });

  async function portOf(serverId: string): Promise<string> {
    const ports = await cli.json<Array<{ ID: string }>>([...DEMO, 'port', 'list', '--server', serverId]);
    assert.equal(ports.length, 1, JSON.stringify(ports));
    return ports[0]?.ID as string;
  }

  it('boots vm2 on int, whose user data pings vm1', STEP, async () => {
    const vm1 = fixedIps.vm1 as string;
    const userData = join(root, 'vm2-user-data.sh');
    writeFileSync(userData, [
      '#!/bin/sh',
      'i=0',
      'while [ $i -lt 15 ]; do',
      `  if ping -c 1 -W 2 ${vm1} >/dev/null 2>&1; then echo "kumo-e2e ping ${vm1} ok"; exit 0; fi`,
      '  i=$((i + 1))',
      '  sleep 1',
      'done',
      `echo "kumo-e2e ping ${vm1} failed"`,
      'exit 1',
      '',
    ].join('\n'));
    await bootAndWaitReady('vm2', ['--image', 'kumo-tiny', '--user-data', userData]);
    const text = await consoleShow('vm2');
    assert.deepEqual(readyLine(text, 1), [fixedIps.vm2, ec2Id(ids.vm2 as string)]);
    assert.ok(text.includes(`kumo-e2e ping ${vm1} ok`), `vm2 reached vm1:\n${text}`);
    assert.match(text, /^kumo-tiny user-data exit 0\r?$/m);
  });

  it('reaches vm1 from outside through a floating IP, which vm1 reads as its public-ipv4', STEP, async () => {
    const fip = await cli.json<Json>([...DEMO, 'floating', 'ip', 'create', 'ext']);
    floatingIp = fip.floating_ip_address as string;
    assert.match(floatingIp, /^203\.0\.113\.(1\d\d|200)$/, 'from the pool');
    await cli.ok([...DEMO, 'server', 'add', 'floating', 'ip', 'vm1', floatingIp]);
    await until(`a ping from the external namespace to ${floatingIp}`, () => qlab.lab.ping(qlab.ext, floatingIp, 1), 60_000, 500);
    await rest.waitConsole(ids.vm1 as string, `public-ipv4 ${floatingIp}`, (text) => text.includes(`public-ipv4 ${floatingIp}`), 90_000);
    assert.ok((await consoleShow('vm1')).includes(`public-ipv4 ${floatingIp}`));
  });

  it('stops vm1 by its power button (QEMU exits), starts it with /data kept, and hard-reboots it', STEP, async () => {
    const id = ids.vm1 as string;
    const firstPid = pidOf('vm1') as number;
    assert.ok(alive(firstPid));
    await cli.ok([...DEMO, 'server', 'stop', 'vm1']);
    await rest.waitStatus(id, 'SHUTOFF');
    await until('the first QEMU of vm1 to exit', () => !alive(firstPid), 10_000);
    const stopped = await consoleShow('vm1');
    assert.match(stopped, POWER_BUTTON_LINE, 'the guest saw the ACPI power button');
    assert.deepEqual(qemuProcessesMentioning(id), []);

    // Bad input: no console to a guest that is off.
    assertFailed(await cli.run([...DEMO, 'console', 'url', 'show', 'vm1']), /409|not ready/i);

    await cli.ok([...DEMO, 'server', 'start', 'vm1']);
    await rest.waitStatus(id, 'ACTIVE');
    const booted = await rest.waitConsole(id, 'the second ready line', (text) => countReadyLines(text) >= 2);
    assert.match(afterReady(booted, 1), new RegExp(`^kumo-e2e marker ${marker}\\r?$`, 'm'), 'the second boot reads what the first wrote on /data');
    const secondPid = pidOf('vm1') as number;
    assert.ok(secondPid !== firstPid && alive(secondPid));

    await cli.ok([...DEMO, 'server', 'reboot', '--hard', 'vm1']);
    await rest.waitStatus(id, 'ACTIVE');
    const rebooted = await rest.waitConsole(id, 'the third ready line', (text) => countReadyLines(text) >= 3);
    assert.deepEqual(readyLine(rebooted, 3), [fixedIps.vm1, ec2Id(id)]);
    assert.deepEqual(qemuProcessesMentioning(id), [pidOf('vm1')], 'still one QEMU for vm1');
  });

  it('snapshots vm1 into the image snap, and a server booted from snap reaches its ready line', STEP, async () => {
    const snap = await cli.json<Json>([...DEMO, 'server', 'image', 'create', '--name', 'snap', '--wait', 'vm1'], { timeoutMs: 300_000 });
    assert.equal(snap.name, 'snap');
    const image = await cli.json<Json>([...DEMO, 'image', 'show', 'snap']);
    assert.equal(image.status, 'active');
    await rest.waitStatus(ids.vm1 as string, 'ACTIVE');
    const text = await bootAndWaitReady('vm3', ['--image', 'snap']);
    assert.deepEqual(readyLine(text, 1), [fixedIps.vm3, ec2Id(ids.vm3 as string)]);
  });

  it('gives vm1 a noVNC URL whose websocket answers with the RFB banner, and refuses a wrong token', STEP, async () => {
    await rest.waitStatus(ids.vm1 as string, 'ACTIVE');
    const shown = await cli.json<Json>([...DEMO, 'console', 'url', 'show', 'vm1']);
    const url = new URL(shown.url as string);
    assert.equal(`${url.protocol}//${url.host}`, kumo.url);
    assert.equal(url.pathname, '/vnc/vnc_lite.html');
    const path = url.searchParams.get('path') ?? '';
    const match = /^vnc\/websockify\?token=([A-Za-z0-9_-]+)$/.exec(path);
    assert.ok(match, `path=${path}`);
    const page = await fetch(shown.url as string);
    assert.equal(page.status, 200, 'the noVNC page is served');
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    await page.text();

    const opened = await openConsole(websocketUrlOf(shown.url as string));
    assert.ok('ws' in opened, `the upgrade is accepted: ${'ws' in opened ? '' : JSON.stringify(opened)}`);
    try {
      assert.equal(opened.ws.protocol, 'binary');
      // What the guest's own VNC server (QEMU) sends first: its RFB version.
      assert.equal((await opened.inbox.bytes(RFB_BANNER.length)).toString('latin1'), RFB_BANNER);
    } finally {
      opened.ws.close();
    }

    const wrong = await openConsole(`${kumo.url.replace(/^http/, 'ws')}/vnc/websockify?token=${'x'.repeat(match[1]?.length ?? 43)}`);
    assert.ok(!('ws' in wrong), 'an unknown token opens nothing');
    assert.ok(wrong.status >= 400 && wrong.status < 500, `refused with a 4xx, not ${wrong.status}`);
  });

  it('notices that vm2\'s QEMU was killed: SHUTOFF, with an instance action', STEP, async () => {
    const id = ids.vm2 as string;
    const before = await cli.json<Array<Json>>([...DEMO, 'server', 'event', 'list', 'vm2']);
    const pid = pidOf('vm2') as number;
    assert.ok(alive(pid));
    process.kill(pid, 'SIGKILL');
    await rest.waitStatus(id, 'SHUTOFF', 20_000);
    const events = await cli.json<Array<Json>>([...DEMO, 'server', 'event', 'list', 'vm2']);
    assert.ok(events.length > before.length, `a new instance action: ${JSON.stringify(events)}`);
    assert.ok(events.some((e) => e.Action === 'stop'), `the power sync stopped it as Nova does: ${JSON.stringify(events)}`);
  });

  it('keeps vm1 running across a restart of Kumo: the same QEMU is adopted, not started again', STEP, async () => {
    const id = ids.vm1 as string;
    const pid = pidOf('vm1') as number;
    assert.ok(alive(pid));
    const port = kumo.port;
    const stopped = await kumo.stop('SIGTERM', 60_000);
    assert.equal(stopped.code, 0, kumo.output());
    assert.ok(alive(pid), 'stopping Kumo leaves its guests running');
    kumo = await startKumo({ dataDir: kumo.dataDir, port, env: qlab.kumoEnv({ KUMO_CACHE_DIR: dirname(await kumoTinyFile()) }), timeoutMs: 60_000 });
    rest = rest.reset(kumo.url);
    const server = await rest.waitStatus(id, 'ACTIVE');
    assert.equal(server['OS-EXT-STS:power_state'], 1);
    // Give the agent's start-up and first power sync their time before looking.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    assert.equal(pidOf('vm1'), pid);
    assert.deepEqual(qemuProcessesMentioning(id), [pid], 'adopted, not started twice');
    assert.equal((await rest.server(ids.vm2 as string))?.status, 'SHUTOFF', 'vm2 stays off');
    const text = await consoleShow('vm1');
    assert.ok(countReadyLines(text) >= 3, 'console log show still answers');
  });

  it('refuses a flavor whose disk is smaller than the image, cleanly', STEP, async () => {
    // A qcow2 of 2 GiB virtual size (a few hundred KiB on disk) for m1.nano's 1 GB disk.
    const big = join(root, 'big.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', big, '2G']);
    await cli.ok([...DEMO, 'image', 'create', '--disk-format', 'qcow2', '--container-format', 'bare', '--file', big, 'big']);
    const created = await cli.run([...DEMO, 'server', 'create', '--image', 'big', '--flavor', 'm1.nano', '--network', 'int', '--wait', 'too-big'], { timeoutMs: 300_000 });
    // python3-openstackclient 6.0 prints "Error creating server" on a server gone to ERROR, yet exits 0.
    const refused = created.code !== 0 || /^Error creating server$/m.test(created.stdout);
    assert.ok(refused, `a 2 GiB image on a 1 GB disk must not boot: ${created.stdout}${created.stderr}`);
    assert.doesNotMatch(created.stderr, /Traceback|HTTP 500/);
    const shown = await cli.run([...DEMO, 'server', 'show', 'too-big', '-f', 'json']);
    if (shown.code === 0) {
      // Refused by the compute host: the server is in ERROR with a fault saying why.
      const server = JSON.parse(shown.stdout) as Json;
      assert.equal(server.status, 'ERROR');
      assert.match(JSON.stringify(server.fault), /disk|too small|smaller/i);
      const faultId = server.id as string;
      await cli.ok([...DEMO, 'server', 'delete', '--wait', 'too-big']);
      assert.deepEqual(qemuProcessesMentioning(faultId), []);
      assert.equal(existsSync(instanceDir(dataDir(), faultId)), false);
    } else {
      // Refused by the API before any host was asked.
      assert.match(created.stderr, /\b400\b/);
      assert.match(created.stderr, /disk|too small|smaller/i);
    }
  });

  it('deletes every server, leaving no QEMU, tap, instance directory or runtime directory behind', STEP, async () => {
    const names = ['vm1', 'vm2', 'vm3'].filter((n) => ids[n]);
    const pids = names.map(pidOf).filter((p): p is number => p !== undefined);
    await cli.ok([...DEMO, 'server', 'delete', '--wait', ...names], { timeoutMs: 300_000 });
    const listed = await cli.json<Array<Json>>([...DEMO, 'server', 'list']);
    assert.deepEqual(listed, []);
    for (const pid of pids) await until(`QEMU ${pid} to exit`, () => !alive(pid), 10_000);
    for (const name of names) {
      const id = ids[name] as string;
      assert.deepEqual(qemuProcessesMentioning(id), [], `no QEMU of ${name}`);
      assert.equal(existsSync(instanceDir(dataDir(), id)), false, `${name}'s instance directory is gone`);
      assert.equal(existsSync(runtimeDir(qlab.stateDir, id)), false, `${name}'s runtime directory is gone`);
    }
    const gone = names.map((n) => taps[n] as string);
    await until(`the taps ${gone.join(', ')} to go`, async () => !(await qlab.taps()).some((t) => gone.includes(t)), 10_000);
  });
});
