// A split deployment with the fake driver (issue 15): `kumo api`, `kumo conductor` and two
// `kumo agent` hosts as separate processes, on one PostgreSQL database and one RabbitMQ broker
// (each run in a schema and a bus namespace of its own). The agents get no database URL and
// none of the controller's data directory: a copy of clouds.yaml (the kumo-service user) and
// the bus are all they have. Servers boot through the openstack CLI on both hosts; a kill -9
// of an agent mid-build ends its builds in ERROR after the service down time, rescheduled
// never; the restarted agent adopts the guests it had and keeps no ghost.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TEST_DATABASE_URL } from '../helpers/cloud.js';
import { dropSchema } from '../helpers/databases.js';
import { nova, waitForServer } from '../services/compute/helpers.js';
import { cleanEnv, freePort, KUMO_MAIN } from './helpers/kumo-process.js';
import { startChild } from './helpers/split-deployment.js';
import { cliSkip, OpenStackCli } from './helpers/openstack-cli.js';

const BUS_URL = process.env.KUMO_TEST_BUS_URL;
const DOWN_TIME = 3;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a split deployment: api, conductor and two agents without a database', {
  skip: !TEST_DATABASE_URL || !BUS_URL ? 'KUMO_TEST_DATABASE_URL and KUMO_TEST_BUS_URL are not both set (CI sets them)' : cliSkip,
  timeout: 180_000,
}, () => {
  const root = mkdtempSync(join(tmpdir(), 'kumo-e2e-split-'));
  const dataDir = join(root, 'controller');
  const suffix = randomBytes(4).toString('hex');
  const schema = `kumo_test_${suffix}`;
  const hosts = [`split-a-${suffix}`, `split-b-${suffix}`] as const;
  const bus = { KUMO_BUS_URL: BUS_URL as string, KUMO_BUS_NAMESPACE: `kumo-test-${suffix}` };
  const timing = { KUMO_HEARTBEAT_INTERVAL: '1', KUMO_SERVICE_DOWN_TIME: String(DOWN_TIME) };
  const networkNode = `split-api-${suffix}`;
  const controlEnv = cleanEnv({ ...bus, ...timing, KUMO_DATABASE_URL: TEST_DATABASE_URL as string, KUMO_DATABASE_SCHEMA: schema, KUMO_PASSWORD_HASH_ROUNDS: '4', KUMO_METADATA_PORT: '0', KUMO_NETWORK_AGENT_REPORT_INTERVAL: '1' });
  const children: ChildProcess[] = [];
  let url = '';
  let cli: OpenStackCli;
  let token = '';

  /** An agent as its own host would run it: its state directory, its copy of clouds.yaml, the bus. */
  const startAgent = async (host: string, extra: Record<string, string> = {}) => {
    const home = join(root, host);
    mkdirSync(home, { recursive: true });
    copyFileSync(join(dataDir, 'clouds.yaml'), join(home, 'clouds.yaml'));
    const env = cleanEnv({ ...bus, ...timing, OS_CLIENT_CONFIG_FILE: join(home, 'clouds.yaml'), ...extra });
    assert.equal(env.KUMO_DATABASE_URL, undefined);
    const agent = await startChild(['agent', '--host', host, '--state-dir', join(home, 'state'), '--os-cloud', 'kumo-service', '--log-level', 'warn'], env, /is up \(.*no database\)/);
    children.push(agent.process);
    return agent;
  };

  const serviceState = async (host: string) => {
    const services = (await nova(url, 'GET', '/os-services', token)).json.services as Array<Record<string, any>>;
    return services.find((s) => s.host === host)?.state as string | undefined;
  };

  const hypervisor = async (host: string) => {
    const list = (await nova(url, 'GET', '/os-hypervisors/detail', token)).json.hypervisors as Array<Record<string, any>>;
    return list.find((h) => h.hypervisor_hostname === host) as Record<string, any>;
  };

  const buildEvents = async (serverId: string) => {
    const actions = await nova(url, 'GET', `/servers/${serverId}/os-instance-actions`, token);
    const detail = await nova(url, 'GET', `/servers/${serverId}/os-instance-actions/${actions.json.instanceActions[0].request_id}`, token);
    return (detail.json.instanceAction.events as Array<{ event: string; result: string }>).map((e) => e.event);
  };

  before(async () => {
    const port = await freePort();
    // The API's host is the network node; the conductor runs on a machine of its own.
    const api = await startChild(['api', '--data-dir', dataDir, '--port', String(port), '--log-level', 'warn'], { ...controlEnv, KUMO_HOST_NAME: networkNode }, /Kumo API is up at (http:\/\/\S+)/);
    children.push(api.process);
    url = api.match[1] as string;
    children.push((await startChild(['conductor', '--data-dir', dataDir, '--log-level', 'warn'], { ...controlEnv, KUMO_HOST_NAME: `split-conductor-${suffix}` }, /Kumo conductor is up/)).process);
    cli = new OpenStackCli(join(root, 'cli-home'), join(dataDir, 'clouds.yaml'));
    token = (await cli.value(['--os-cloud', 'kumo-admin', 'token', 'issue'], 'id')).trim();
  });

  after(async () => {
    await cli?.killAll();
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await dropSchema(TEST_DATABASE_URL as string, schema).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('kumo api wrote kumo-service into clouds.yaml, and the service user gets a token', async () => {
    const issued = await cli.value(['--os-cloud', 'kumo-service', 'token', 'issue'], 'project_id');
    assert.match(issued, /^[0-9a-f]{32}$/);
  });

  it('boots through the openstack CLI on both agents, with ports from the network service', async () => {
    await startAgent(hosts[0]);
    await startAgent(hosts[1]);
    for (const host of hosts) assert.equal(await until(`${host} up`, async () => ((await serviceState(host)) === 'up' ? 'up' : undefined)), 'up');
    const admin = ['--os-cloud', 'kumo-admin'];
    await cli.ok([...admin, 'network', 'create', 'split-net']);
    await cli.ok([...admin, 'subnet', 'create', '--network', 'split-net', '--subnet-range', '10.42.0.0/24', 'split-subnet']);
    const imageFile = join(root, 'tiny.img');
    copyFileSync(KUMO_MAIN, imageFile);
    await cli.ok([...admin, 'image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', imageFile, 'tiny']);
    for (const [i, host] of hosts.entries()) {
      const server = await cli.json<Record<string, any>>([...admin, 'server', 'create', '--flavor', 'm1.nano', '--image', 'tiny', '--network', 'split-net', '--availability-zone', `nova:${host}`, '--wait', `vm-${i}`]);
      assert.equal(server.status, 'ACTIVE', JSON.stringify(server));
      assert.equal(server['OS-EXT-SRV-ATTR:host'], host);
      assert.match(JSON.stringify(server.addresses), /10\.42\.0\.\d+/, 'the port came from the network service');
    }
    // Three network agents: the network node (kumo api's host) and one on each compute host.
    const agents = (await (await fetch(`${url}/networking/v2.0/agents`, { headers: { 'x-auth-token': token } })).json()) as { agents: Array<{ host: string; alive: boolean }> };
    for (const host of hosts) assert.ok(agents.agents.some((a) => a.host === host && a.alive), JSON.stringify(agents));
    assert.equal(agents.agents.filter((a) => a.alive).length, 3, JSON.stringify(agents));
    // The conductor bound those ports and pushed the change: the network node still serves the
    // network's DHCP (a state computed as if the conductor's host were the network node has none).
    await new Promise((r) => setTimeout(r, 2500));
    const node = await until('a fresh report of the network node', async () => {
      const list = (await (await fetch(`${url}/networking/v2.0/agents?host=${networkNode}`, { headers: { 'x-auth-token': token } })).json()) as { agents: Array<{ heartbeat_timestamp: string; configurations: Record<string, unknown> }> };
      const fresh = list.agents.find((a) => Date.now() - Date.parse(`${a.heartbeat_timestamp.replace(' ', 'T')}Z`) < 2500);
      return fresh?.configurations;
    });
    assert.equal(node.dhcp_networks, 1, `the network node serves DHCP for split-net: ${JSON.stringify(node)}`);
    // The agents kept nothing of the controller: their state is their own directories.
    for (const host of hosts) assert.ok(readdirSync(join(root, host)).includes('state'));
  });

  it('a kill -9 mid-build ends its builds in ERROR after the service down time, never rescheduled; the restarted agent adopts its guests', async () => {
    const [a] = hosts;
    const survivor = (await cli.json<Record<string, any>>(['--os-cloud', 'kumo-admin', 'server', 'show', 'vm-0'])).id as string;
    // Agent a again, now with builds that take a minute: they are caught mid-spawn.
    const first = children.find((c) => c.spawnargs.includes(a) && c.exitCode === null && c.signalCode === null) as ChildProcess;
    first.kill('SIGTERM');
    await new Promise((r) => first.once('exit', r));
    const slow = await startAgent(a, { KUMO_FAKE_SPAWN_DELAY_MS: '600000' });
    const image = (await cli.value(['--os-cloud', 'kumo-admin', 'image', 'show', 'tiny'], 'id')).trim();
    const ids: string[] = [];
    for (const name of ['lost-1', 'lost-2']) {
      const created = await nova(url, 'POST', '/servers', token, { server: { name, imageRef: image, flavorRef: '42', networks: 'none', availability_zone: `nova:${a}` } });
      assert.equal(created.status, 202, JSON.stringify(created.body));
      ids.push(created.json.server.id as string);
    }
    for (const id of ids) {
      await until(`${id} spawning`, async () => {
        const server = (await nova(url, 'GET', `/servers/${id}`, token)).json.server;
        return server['OS-EXT-STS:task_state'] === 'spawning' ? true : undefined;
      });
    }
    const killedAt = Date.now();
    slow.process.kill('SIGKILL');
    for (const id of ids) {
      const server = await waitForServer(url, token, id, ['ERROR'], 30_000);
      assert.match(server.fault.message, /went down/);
    }
    // Judged from the agent's last heartbeat (os-services' updated_at), not from the kill: on a
    // busy machine that heartbeat may come well before the kill.
    const service = ((await nova(url, 'GET', '/os-services', token)).json.services as Array<Record<string, any>>).find((s) => s.host === a);
    const lastHeartbeat = Date.parse(`${String(service?.updated_at).slice(0, 23)}Z`);
    assert.ok(lastHeartbeat <= killedAt + 1000, `no heartbeat after the kill: ${service?.updated_at}`);
    for (const id of ids) {
      const fault = (await nova(url, 'GET', `/servers/${id}`, token)).json.server.fault as { created: string };
      // Nova's fault times have whole seconds: the loss came at most 999 ms after this.
      const lostBy = Date.parse(fault.created) + 999;
      assert.ok(lostBy - lastHeartbeat >= DOWN_TIME * 1000, `not before the service down time: last heartbeat ${service?.updated_at}, ERROR at ${fault.created}`);
    }
    for (const id of ids) {
      const events = await buildEvents(id);
      assert.equal(events.filter((e) => e === 'conductor_schedule_and_build_instances').length, 1, `placed once: ${events.join(', ')}`);
      assert.equal(events.filter((e) => e === 'compute__do_build_and_run_instance').length, 1, `built once: ${events.join(', ')}`);
    }
    assert.equal((await hypervisor(a)).vcpus_used, 1, 'the lost builds gave their claims back; the survivor holds its own');

    // Back again: the survivor is adopted (the driver knows it: its console answers), nothing else runs.
    await startAgent(a);
    await until(`${a} up`, async () => ((await serviceState(a)) === 'up' ? true : undefined));
    const adopted = await waitForServer(url, token, survivor, ['ACTIVE']);
    assert.equal(adopted['OS-EXT-SRV-ATTR:host'], a);
    const console = await nova(url, 'POST', `/servers/${survivor}/action`, token, { 'os-getConsoleOutput': { length: 5 } });
    assert.equal(console.status, 200, JSON.stringify(console.body));
    const usage = await hypervisor(a);
    assert.equal(usage.running_vms, 1, 'one guest on the host: the adopted one');
    for (const id of ids) assert.equal((await waitForServer(url, token, id, ['ERROR']))['OS-EXT-SRV-ATTR:host'], null);
    for (const id of [...ids, survivor]) assert.equal((await nova(url, 'DELETE', `/servers/${id}`, token)).status, 204);
    for (const id of [...ids, survivor]) await waitForServer(url, token, id, ['DELETED']);
  });
});
