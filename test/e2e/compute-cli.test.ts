// The Compute service driven end to end by the real `openstack` CLI (novaclient, compute API 2.1)
// against a real `kumo up` process with the fake virt driver simulating two hosts: flavors,
// keypairs, a server through its lifecycle (power actions, resize confirm and revert, a
// snapshot, its instance actions), anti-affinity server groups, the instances quota, disabling
// a compute service, the hypervisors, and deleting everything down to zero vCPUs in use.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startKumo, type KumoProcess } from './helpers/kumo-process.js';
import { cliSkip, OpenStackCli, type CliResult } from './helpers/openstack-cli.js';

/** Each CLI call costs about a second of Python start-up: a test gets two minutes so that only a hang fails it. */
const SLOW = { timeout: 120_000 };
const ADMIN = ['--os-cloud', 'kumo-admin'];
const DEMO = ['--os-cloud', 'kumo-demo'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FINGERPRINT = /^[0-9a-f]{2}(:[0-9a-f]{2}){15}$/;

type Shown = Record<string, any>;

/** The CLI prints e.g. `Quota exceeded for instances: ... (HTTP 403) (Request-ID: req-...)`. */
function assertRefused(result: CliResult, status: number, message?: RegExp): void {
  assert.match(result.stderr, new RegExp(`\\b${status}\\b`), `expected HTTP ${status} in: ${result.stderr}`);
  if (message) assert.match(result.stderr, message);
}

/** An OpenSSH public key line for a fresh ed25519 key, written without ssh-keygen. */
function ed25519PublicLine(): { line: string; blob: Buffer } {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const wire = (data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    return Buffer.concat([length, data]);
  };
  const blob = Buffer.concat([wire(Buffer.from('ssh-ed25519')), wire(raw)]);
  return { line: `ssh-ed25519 ${blob.toString('base64')} e2e@kumo`, blob };
}

const md5Colons = (blob: Buffer) => createHash('md5').update(blob).digest('hex').match(/../g)!.join(':');

describe('compute through the openstack CLI', { skip: cliSkip, timeout: 600_000 }, () => {
  let root: string;
  let kumo: KumoProcess;
  let cli: OpenStackCli;
  let hosts: string[] = [];
  const ids: Record<string, string> = {};

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kumo-e2e-compute-'));
    kumo = await startKumo({
      dataDir: join(root, 'data'),
      env: { KUMO_GUEST_IMAGE: 'skip', KUMO_FAKE_HOSTS: '2', KUMO_COMPUTE_DRIVER: 'fake' },
    });
    cli = new OpenStackCli(join(root, 'home'), join(kumo.dataDir, 'clouds.yaml'));
    const file = join(root, 'tiny.qcow2');
    writeFileSync(file, Buffer.alloc(4096, 7));
    await cli.ok([...ADMIN, 'image', 'create', '--file', file, '--disk-format', 'qcow2', '--container-format', 'bare', '--public', 'tiny']);
  });

  after(async () => {
    if (cli) await cli.killAll();
    if (kumo) await kumo.stop('SIGTERM').catch(() => kumo.kill());
    if (root) rmSync(root, { recursive: true, force: true });
  });

  const server = (cloud: string[], name: string) => cli.json<Shown>([...cloud, 'server', 'show', name]);
  const hostOf = async (id: string) => (await server(ADMIN, id))['OS-EXT-SRV-ATTR:host'] as string;

  /** Polls `server show` until the server has `status` (and no task); fails on ERROR or after a minute. */
  async function waitStatus(name: string, status: string, cloud = DEMO): Promise<Shown> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const shown = await server(cloud, name);
      if (shown.status === status && !shown['OS-EXT-STS:task_state']) return shown;
      if (shown.status === 'ERROR' && status !== 'ERROR') assert.fail(`${name} went to ERROR: ${JSON.stringify(shown.fault)}\n${kumo.output()}`);
      if (Date.now() > deadline) assert.fail(`${name} is ${shown.status}, not ${status}: ${JSON.stringify(shown)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  it('admin creates, lists, shows and deletes a flavor', SLOW, async () => {
    const created = await cli.json<Shown>([...ADMIN, 'flavor', 'create', '--ram', '256', '--disk', '1', '--vcpus', '1', 'm1.test']);
    assert.equal(created.name, 'm1.test');
    assert.equal(created.ram, 256);
    assert.equal(created.disk, 1);
    assert.equal(created.vcpus, 1);
    assert.match(created.id as string, UUID);
    const list = await cli.json<Array<Record<string, unknown>>>([...ADMIN, 'flavor', 'list']);
    const nano = list.find((f) => f.Name === 'm1.nano');
    assert.ok(nano, JSON.stringify(list));
    assert.equal(nano.ID, '42');
    assert.equal(nano.RAM, 128);
    assert.equal(nano.Disk, 1);
    assert.equal(nano.VCPUs, 1);
    assert.ok(list.some((f) => f.Name === 'm1.test' && f.ID === created.id), JSON.stringify(list));
    const shown = await cli.json<Shown>([...DEMO, 'flavor', 'show', 'm1.test']);
    assert.equal(shown.id, created.id);
    assert.equal(shown.ram, 256);
    assert.equal(shown['os-flavor-access:is_public'], true);
    await cli.ok([...ADMIN, 'flavor', 'delete', 'm1.test']);
    const after = await cli.json<Array<{ Name: string }>>([...ADMIN, 'flavor', 'list']);
    assert.equal(after.some((f) => f.Name === 'm1.test'), false);
  });

  it('creates keypairs: a generated one and an imported ed25519 public key', SLOW, async () => {
    const k1 = await cli.ok([...DEMO, 'keypair', 'create', 'k1']);
    assert.match(k1, /-----BEGIN [A-Z ]*PRIVATE KEY-----/);
    const shown = await cli.json<Shown>([...DEMO, 'keypair', 'show', 'k1']);
    assert.equal(shown.name, 'k1');
    assert.match(shown.fingerprint as string, FINGERPRINT);
    const publicLine = await cli.ok([...DEMO, 'keypair', 'show', '--public-key', 'k1']);
    const blob1 = Buffer.from(publicLine.trim().split(/\s+/)[1]!, 'base64');
    assert.equal(shown.fingerprint, md5Colons(blob1));

    const { line, blob } = ed25519PublicLine();
    const file = join(root, 'k2.pub');
    writeFileSync(file, `${line}\n`);
    const k2 = await cli.json<Shown>([...DEMO, 'keypair', 'create', '--public-key', file, 'k2']);
    assert.equal(k2.name, 'k2');
    assert.equal(k2.fingerprint, md5Colons(blob));
    const names = (await cli.json<Array<{ Name: string }>>([...DEMO, 'keypair', 'list'])).map((k) => k.Name).sort();
    assert.deepEqual(names, ['k1', 'k2']);
    await cli.ok([...DEMO, 'keypair', 'delete', 'k2']);
  });

  it('boots s1 on m1.nano from the image tiny, ACTIVE on one of the two fake hosts', SLOW, async () => {
    // --nic none needs microversion 2.37, which the client only sends when asked to.
    const created = await cli.json<Shown>([...DEMO, '--os-compute-api-version', '2.37', 'server', 'create', '--flavor', 'm1.nano', '--image', 'tiny', '--nic', 'none', '--key-name', 'k1', '--wait', 's1']);
    assert.match(created.id as string, UUID);
    ids.s1 = created.id as string;
    assert.equal(created.status, 'ACTIVE');
    const list = await cli.json<Array<Record<string, unknown>>>([...DEMO, 'server', 'list', '--long']);
    const row = list.find((s) => s.ID === ids.s1);
    assert.ok(row, JSON.stringify(list));
    assert.equal(row.Name, 's1');
    assert.equal(row.Status, 'ACTIVE');
    // -f json prints the power state as Nova's number: 1 is RUNNING.
    assert.equal(row['Power State'], 1);
    assert.equal(row['Image Name'], 'tiny');
    assert.equal(row['Flavor Name'], 'm1.nano');

    const byDemo = await server(DEMO, 's1');
    assert.equal(byDemo.id, ids.s1);
    assert.equal(byDemo.status, 'ACTIVE');
    assert.equal(byDemo.key_name, 'k1');
    assert.match(String(byDemo.flavor), /m1\.nano/);
    assert.match(String(byDemo.image), /tiny/);
    assert.equal(byDemo['OS-EXT-SRV-ATTR:host'] ?? null, null, 'demo is not shown the host');
    const byAdmin = await server(ADMIN, ids.s1);
    hosts = (await cli.json<Array<{ 'Hypervisor Hostname': string }>>([...ADMIN, 'hypervisor', 'list'])).map((h) => h['Hypervisor Hostname']).sort();
    assert.equal(hosts.length, 2, JSON.stringify(hosts));
    assert.ok(hosts.includes(byAdmin['OS-EXT-SRV-ATTR:host'] as string), JSON.stringify(byAdmin));
  });

  it('stops, starts, reboots, pauses, unpauses, suspends and resumes s1', SLOW, async () => {
    // Nova's power states, as -f json prints them: 1 RUNNING, 3 PAUSED, 4 SHUTDOWN, 7 SUSPENDED.
    const steps: Array<[string[], string, number]> = [
      [['stop'], 'SHUTOFF', 4],
      [['start'], 'ACTIVE', 1],
      [['reboot'], 'ACTIVE', 1],
      [['pause'], 'PAUSED', 3],
      [['unpause'], 'ACTIVE', 1],
      [['suspend'], 'SUSPENDED', 7],
      [['resume'], 'ACTIVE', 1],
    ];
    for (const [action, status, power] of steps) {
      await cli.ok([...DEMO, 'server', ...action, 's1']);
      const shown = await waitStatus('s1', status);
      assert.equal(shown['OS-EXT-STS:power_state'], power, `${action.join(' ')}: ${JSON.stringify(shown)}`);
    }
    // Starting a running server is a conflict.
    assertRefused(await cli.fails([...DEMO, 'server', 'start', 's1']), 409);
  });

  it('resizes s1 to m1.micro and confirms, then to m1.tiny and reverts', SLOW, async () => {
    await cli.ok([...DEMO, 'server', 'resize', '--flavor', 'm1.micro', 's1']);
    await waitStatus('s1', 'VERIFY_RESIZE');
    await cli.ok([...DEMO, 'server', 'resize', 'confirm', 's1']);
    let shown = await waitStatus('s1', 'ACTIVE');
    assert.match(String(shown.flavor), /m1\.micro/);

    await cli.ok([...DEMO, 'server', 'resize', '--flavor', 'm1.tiny', 's1']);
    shown = await waitStatus('s1', 'VERIFY_RESIZE');
    assert.match(String(shown.flavor), /m1\.tiny/);
    await cli.ok([...DEMO, 'server', 'resize', 'revert', 's1']);
    shown = await waitStatus('s1', 'ACTIVE');
    assert.match(String(shown.flavor), /m1\.micro/);
  });

  it('snapshots s1 into the Glance image snap1', SLOW, async () => {
    await cli.ok([...DEMO, 'server', 'image', 'create', '--name', 'snap1', '--wait', 's1']);
    const image = await cli.json<Shown>([...DEMO, 'image', 'show', 'snap1']);
    assert.equal(image.status, 'active');
    assert.match(image.id as string, UUID);
    await waitStatus('s1', 'ACTIVE');
  });

  it('lists the instance actions of s1', SLOW, async () => {
    const events = await cli.json<Array<Record<string, string>>>([...DEMO, 'server', 'event', 'list', 's1']);
    const actions = events.map((e) => e.Action);
    for (const expected of ['create', 'stop', 'start', 'reboot', 'pause', 'unpause', 'suspend', 'resume', 'resize', 'confirmResize', 'revertResize', 'createImage']) {
      assert.ok(actions.includes(expected), `${expected} missing from ${JSON.stringify(actions)}`);
    }
    assert.ok(events.every((e) => e['Server ID'] === ids.s1), JSON.stringify(events));
    const create = events.find((e) => e.Action === 'create')!;
    const detail = await cli.json<Shown>([...DEMO, 'server', 'event', 'show', 's1', create['Request ID']!]);
    assert.equal(detail.action, 'create');
    assert.equal(detail.request_id, create['Request ID']);
  });

  it('spreads an anti-affinity group over both hosts and refuses a third member', SLOW, async () => {
    const group = await cli.json<Shown>([...DEMO, 'server', 'group', 'create', '--policy', 'anti-affinity', 'g1']);
    assert.match(group.id as string, UUID);
    ids.g1 = group.id as string;
    const boot = (name: string, wait: boolean) =>
      cli.json<Shown>([...DEMO, 'server', 'create', '--flavor', 'm1.nano', '--image', 'tiny', '--hint', `group=${ids.g1}`, ...(wait ? ['--wait'] : []), name]);
    const a = await boot('ga', true);
    const b = await boot('gb', true);
    ids.ga = a.id as string;
    ids.gb = b.id as string;
    const [hostA, hostB] = [await hostOf(ids.ga), await hostOf(ids.gb)];
    assert.notEqual(hostA, hostB);
    assert.deepEqual([hostA, hostB].sort(), hosts);

    const c = await boot('gc', false);
    ids.gc = c.id as string;
    const shown = await waitStatus('gc', 'ERROR');
    assert.match(JSON.stringify(shown.fault), /No valid host was found/);
    // As in Nova, the API records membership before scheduling: the refused server is a member too.
    const members = await cli.json<Shown>([...DEMO, 'server', 'group', 'show', 'g1']);
    assert.deepEqual(String(members.members).split(/,\s*/).filter(Boolean).sort(), [ids.ga!, ids.gb!, ids.gc!].sort());
    assert.match(String(members.policies), /anti-affinity/);
  });

  it('refuses a server beyond the instances quota with 403', SLOW, async () => {
    const mine = await cli.json<unknown[]>([...DEMO, 'server', 'list']);
    await cli.ok([...ADMIN, 'quota', 'set', '--instances', String(mine.length), 'demo']);
    const refused = await cli.fails([...DEMO, 'server', 'create', '--flavor', 'm1.nano', '--image', 'tiny', 'over']);
    assertRefused(refused, 403, new RegExp(`Quota exceeded for instances: Requested 1, but already used ${mine.length} of ${mine.length} instances`));
    await cli.ok([...ADMIN, 'quota', 'set', '--instances', '10', 'demo']);
    const quota = await cli.json<Shown>([...ADMIN, 'quota', 'show', 'demo']);
    assert.equal(quota.instances, 10);
  });

  it('sends new servers only to the host left enabled', SLOW, async () => {
    const services = await cli.json<Array<Record<string, string>>>([...ADMIN, 'compute', 'service', 'list', '--service', 'nova-compute']);
    assert.deepEqual(services.map((s) => s.Host).sort(), hosts);
    assert.ok(services.every((s) => s.State === 'up' && s.Status === 'enabled'), JSON.stringify(services));
    const [one, two] = hosts as [string, string];
    await cli.ok([...ADMIN, 'compute', 'service', 'set', '--disable', '--disable-reason', 'e2e', one, 'nova-compute']);
    const disabled = await cli.json<Array<Record<string, string>>>([...ADMIN, 'compute', 'service', 'list', '--host', one, '--long']);
    assert.equal(disabled[0]!.Status, 'disabled');
    assert.equal(disabled[0]!['Disabled Reason'], 'e2e');
    for (const name of ['d1', 'd2']) {
      const s = await cli.json<Shown>([...DEMO, 'server', 'create', '--flavor', 'm1.nano', '--image', 'tiny', '--wait', name]);
      ids[name] = s.id as string;
      assert.equal(await hostOf(ids[name]!), two);
    }
    await cli.ok([...ADMIN, 'compute', 'service', 'set', '--enable', one, 'nova-compute']);
    const enabled = await cli.json<Array<Record<string, string>>>([...ADMIN, 'compute', 'service', 'list', '--host', one]);
    assert.equal(enabled[0]!.Status, 'enabled');
  });

  it('shows both hypervisors, up and of the type fake', SLOW, async () => {
    const list = await cli.json<Array<Record<string, unknown>>>([...ADMIN, 'hypervisor', 'list', '--long']);
    assert.deepEqual(list.map((h) => h['Hypervisor Hostname']).sort(), hosts);
    assert.ok(list.every((h) => h.State === 'up'), JSON.stringify(list));
    const shown = await cli.json<Shown>([...ADMIN, 'hypervisor', 'show', hosts[0]!]);
    assert.equal(shown.hypervisor_hostname, hosts[0]);
    assert.equal(shown.hypervisor_type, 'fake');
    assert.equal(shown.state, 'up');
    assert.equal(shown.status, 'enabled');
    // Regression: the CLI also reads GET /os-aggregates and /os-hypervisors/{id}/uptime (both were 404).
    assert.deepEqual(shown.aggregates, []);
    assert.match(String(shown.load_average), /^\d+\.\d\d, \d+\.\d\d, \d+\.\d\d$/);
    assert.equal(shown.service_host, hosts[0]);
  });

  it('groups a host into an aggregate: create, add host, show, and hypervisor show names it', SLOW, async () => {
    const made = await cli.json<Shown>([...ADMIN, 'aggregate', 'create', '--property', 'ssd=true', 'agg1']);
    assert.equal(made.name, 'agg1');
    await cli.ok([...ADMIN, 'aggregate', 'add', 'host', 'agg1', hosts[1]!]);
    const shown = await cli.json<Shown>([...ADMIN, 'aggregate', 'show', 'agg1']);
    assert.deepEqual(shown.hosts, [hosts[1]]);
    assert.deepEqual(shown.properties, { ssd: 'true' });
    const hypervisor = await cli.json<Shown>([...ADMIN, 'hypervisor', 'show', hosts[1]!]);
    assert.deepEqual(hypervisor.aggregates, ['agg1']);
    assertRefused(await cli.run([...DEMO, 'aggregate', 'list']), 403);
    await cli.ok([...ADMIN, 'aggregate', 'remove', 'host', 'agg1', hosts[1]!]);
    await cli.ok([...ADMIN, 'aggregate', 'delete', 'agg1']);
    assert.deepEqual(await cli.json<unknown[]>([...ADMIN, 'aggregate', 'list']), []);
  });

  it("lists every project's usage for admin and shows demo its own", SLOW, async () => {
    // The CLI prints the project's name when it may read it, else its id; -f json gives the servers' lines.
    const demoProject = (await cli.json<Shown>([...DEMO, 'token', 'issue'])).project_id as string;
    const count = (servers: unknown) => (Array.isArray(servers) ? servers.length : Number(servers));
    const list = await cli.json<Array<Record<string, unknown>>>([...ADMIN, 'usage', 'list']);
    const demoRow = list.find((row) => row.Project === 'demo' || row.Project === demoProject);
    assert.ok(demoRow, JSON.stringify(list));
    assert.ok(count(demoRow.Servers) >= 1, JSON.stringify(demoRow));
    assert.ok(Number(demoRow['CPU Hours']) > 0);
    const own = await cli.json<Shown>([...DEMO, 'usage', 'show']);
    assert.ok(count(own.Servers) >= 1, JSON.stringify(own));
    assertRefused(await cli.run([...DEMO, 'usage', 'list']), 403);
  });

  // (The CLI looks groups up itself before it asks Nova, so unknown groups are the HTTP tests' job.)
  it('adds and removes a security group on a server: the group goes onto and off its port', SLOW, async () => {
    const network = await cli.json<Shown>([...DEMO, 'network', 'create', 'e2e-net']);
    await cli.ok([...DEMO, 'subnet', 'create', '--network', 'e2e-net', '--subnet-range', '10.80.0.0/24', 'e2e-subnet']);
    const group = await cli.json<Shown>([...DEMO, 'security', 'group', 'create', 'e2e-web']);
    const created = await cli.json<Shown>([...DEMO, 'server', 'create', '--flavor', 'm1.nano', '--image', 'tiny', '--nic', `net-id=${network.id}`, '--wait', 'sg1']);
    ids.sg1 = created.id as string;
    const ports = await cli.json<Array<Record<string, string>>>([...DEMO, 'port', 'list', '--server', 'sg1']);
    assert.equal(ports.length, 1);
    const portGroups = async () => (await cli.json<Shown>([...DEMO, 'port', 'show', ports[0]!.ID!])).security_group_ids as string[];

    await cli.ok([...DEMO, 'server', 'add', 'security', 'group', 'sg1', 'e2e-web']);
    assert.ok((await portGroups()).includes(group.id), 'the port has the group');
    assert.match(JSON.stringify((await server(DEMO, 'sg1')).security_groups), /e2e-web/);

    await cli.ok([...DEMO, 'server', 'remove', 'security', 'group', 'sg1', 'e2e-web']);
    assert.ok(!(await portGroups()).includes(group.id), 'the port lost the group');
    assert.doesNotMatch(JSON.stringify((await server(DEMO, 'sg1')).security_groups), /e2e-web/);
  });

  it('deletes every server and ends with no vCPU in use', SLOW, async () => {
    const all = ['s1', 'ga', 'gb', 'gc', 'd1', 'd2', 'sg1'].map((n) => ids[n]!);
    await cli.ok([...DEMO, 'server', 'delete', '--wait', ...all]);
    assert.deepEqual(await cli.json<unknown[]>([...DEMO, 'server', 'list']), []);
    await cli.ok([...DEMO, 'server', 'group', 'delete', 'g1']);
    const stats = await cli.json<Shown>([...ADMIN, 'hypervisor', 'stats', 'show']);
    assert.equal(stats.count, 2);
    assert.equal(stats.vcpus_used, 0);
    assert.equal(stats.running_vms, 0);
  });
});
