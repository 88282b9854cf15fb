// A split deployment: `kumo up` and a separate `kumo agent --host NAME` process on one
// PostgreSQL database and one RabbitMQ broker (each test run in a schema and a bus namespace
// of its own). The agent's host appears in os-services, takes instances, and is reported
// down once its process is gone, after which the API deletes its instances locally.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { passwordToken, TEST_DATABASE_URL } from '../helpers/cloud.js';
import { dropSchema } from '../helpers/databases.js';
import { activeImage, nova, waitForServer } from '../services/compute/helpers.js';
import { cleanEnv, KUMO_MAIN, startKumo, type KumoProcess } from './helpers/kumo-process.js';

const BUS_URL = process.env.KUMO_TEST_BUS_URL;

describe('a compute agent in its own process', {
  skip: TEST_DATABASE_URL && BUS_URL ? false : 'KUMO_TEST_DATABASE_URL and KUMO_TEST_BUS_URL are not both set (CI sets them)',
  timeout: 120_000,
}, () => {
  const root = mkdtempSync(join(tmpdir(), 'kumo-e2e-split-'));
  const dataDir = join(root, 'data');
  const suffix = randomBytes(4).toString('hex');
  const schema = `kumo_test_${suffix}`;
  const agentHost = `split-${suffix}`;
  const env = {
    KUMO_DATABASE_URL: TEST_DATABASE_URL as string,
    KUMO_DATABASE_SCHEMA: schema,
    KUMO_BUS_URL: BUS_URL as string,
    KUMO_BUS_NAMESPACE: `kumo-test-${suffix}`,
    KUMO_COMPUTE_DRIVER: 'fake',
    KUMO_HEARTBEAT_INTERVAL: '1',
    KUMO_SERVICE_DOWN_TIME: '3',
  };
  let kumo: KumoProcess | undefined;
  let agent: ChildProcess | undefined;
  let agentOutput = '';

  after(async () => {
    if (agent && agent.exitCode === null) agent.kill('SIGKILL');
    kumo?.kill();
    await dropSchema(TEST_DATABASE_URL as string, schema).catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('registers the agent, boots on it, and notices when it is gone', async () => {
    kumo = await startKumo({ dataDir, env });
    const password = /OS_PASSWORD=['"]?([^'"\n]+)/.exec(readFileSync(join(dataDir, 'admin-openrc.sh'), 'utf8'))?.[1] as string;
    const token = await passwordToken(kumo.url, 'admin', password, 'admin');
    agent = spawn(process.execPath, [KUMO_MAIN, 'agent', '--host', agentHost, '--data-dir', dataDir, '--log-level', 'warn'], {
      env: cleanEnv({ ...env, KUMO_PASSWORD_HASH_ROUNDS: '4' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout?.on('data', (chunk: Buffer) => (agentOutput += chunk.toString()));
    agent.stderr?.on('data', (chunk: Buffer) => (agentOutput += chunk.toString()));
    const deadline = Date.now() + 30_000;
    while (!agentOutput.includes('is up')) {
      assert.ok(Date.now() < deadline && agent.exitCode === null, `agent did not start: ${agentOutput}`);
      await new Promise((r) => setTimeout(r, 50));
    }

    const services = (await nova(kumo.url, 'GET', '/os-services', token)).json.services as Array<Record<string, any>>;
    assert.equal(services.find((s) => s.host === agentHost)?.state, 'up', JSON.stringify(services));

    const image = await activeImage(kumo.url, token);
    const created = await nova(kumo.url, 'POST', '/servers', token, {
      server: { name: 'on-agent', imageRef: image, flavorRef: '42', networks: 'none', availability_zone: `nova:${agentHost}` },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const server = await waitForServer(kumo.url, token, created.json.server.id, ['ACTIVE', 'ERROR']);
    assert.equal(server.status, 'ACTIVE', JSON.stringify(server.fault));
    assert.equal(server['OS-EXT-SRV-ATTR:host'], agentHost);
    const console = await nova(kumo.url, 'POST', `/servers/${server.id}/action`, token, { 'os-getConsoleOutput': { length: 5 } });
    assert.equal(console.status, 200, 'a call over RabbitMQ to the agent answers');
    assert.match(console.json.output, /login:/);

    agent.kill('SIGKILL');
    const downBy = Date.now() + 15_000;
    for (;;) {
      const now = (await nova(kumo.url, 'GET', '/os-services', token)).json.services as Array<Record<string, any>>;
      if (now.find((s) => s.host === agentHost)?.state === 'down') break;
      assert.ok(Date.now() < downBy, 'the agent was never reported down');
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.equal((await nova(kumo.url, 'DELETE', `/servers/${server.id}`, token)).status, 204);
    await waitForServer(kumo.url, token, server.id, ['DELETED']);
  });
});
