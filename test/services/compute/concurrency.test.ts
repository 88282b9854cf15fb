// Boots that race for the last room on the hosts: 200 at once against fake hosts with room
// for exactly 100 end with exactly 100 ACTIVE and 100 ERROR (No valid host), and no host
// is ever over its capacity. Runs on SQLite, and on PostgreSQL when KUMO_TEST_DATABASE_URL
// is set, with a fresh schema dropped afterwards.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { startTestCloud, TEST_DATABASE_URL, type TestCloud } from '../../helpers/cloud.js';
import { dropSchema } from '../../helpers/databases.js';
import { activeImage, boot, nova } from './helpers.js';

const ENGINES = [
  { name: 'sqlite', skip: false as const },
  { name: 'postgres', skip: TEST_DATABASE_URL ? (false as const) : 'KUMO_TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)' },
];

/** Four hosts of 25 vCPUs each, no overcommit: exactly 100 one-vCPU servers fit. */
const HOSTS_ENV = {
  KUMO_COMPUTE_DRIVER: 'fake',
  KUMO_FAKE_HOSTS: '4',
  KUMO_FAKE_HOST_VCPUS: '25',
  KUMO_CPU_ALLOCATION_RATIO: '1',
  KUMO_FAKE_HOST_RAM_MB: '1000000',
  KUMO_FAKE_HOST_DISK_GB: '100000',
};

async function cloudOn(engine: string): Promise<{ tc: TestCloud; dispose(): Promise<void> }> {
  const schema = engine === 'postgres' ? `kumo_test_${randomBytes(6).toString('hex')}` : undefined;
  const tc = await startTestCloud({ env: HOSTS_ENV, ...(schema ? { databaseUrl: TEST_DATABASE_URL as string, databaseSchema: schema } : {}) });
  return {
    tc,
    async dispose() {
      await tc.stop();
      if (schema) await dropSchema(TEST_DATABASE_URL as string, schema);
    },
  };
}

for (const engine of ENGINES) {
  describe(`concurrent boots on ${engine.name}`, { skip: engine.skip, timeout: 180_000 }, () => {
    it('200 boots for 100 places: 100 ACTIVE, 100 ERROR, no host over capacity', async () => {
      const { tc, dispose } = await cloudOn(engine.name);
      try {
        const token = await tc.token('admin');
        const projectId = (await tc.cloud.identity.context.stores.resources.getProjectByName('default', 'admin'))?.id as string;
        const unlimited = await nova(tc.url, 'PUT', `/os-quota-sets/${projectId}`, token, { quota_set: { instances: -1, cores: -1, ram: -1 } });
        assert.equal(unlimited.status, 200, JSON.stringify(unlimited.body));
        const image = await activeImage(tc.url, token);

        const responses = await Promise.all(
          Array.from({ length: 200 }, (_, i) => boot(tc.url, token, { name: `race-${i}`, imageRef: image, flavorRef: '42', networks: 'none' })),
        );
        assert.deepEqual(responses.map((r) => r.status).filter((s) => s !== 202), [], 'every boot is accepted');

        const settled = await waitUntilSettled(tc, token, 200);
        const active = settled.filter((s) => s.status === 'ACTIVE');
        const failed = settled.filter((s) => s.status === 'ERROR');
        assert.equal(active.length, 100);
        assert.equal(failed.length, 100);
        for (const server of failed) assert.match(server.fault.message, /No valid host was found/);

        const perHost = new Map<string, number>();
        for (const server of active) perHost.set(server['OS-EXT-SRV-ATTR:host'], (perHost.get(server['OS-EXT-SRV-ATTR:host']) ?? 0) + 1);
        const hypervisors = await nova(tc.url, 'GET', '/os-hypervisors/detail', token);
        assert.equal(hypervisors.json.hypervisors.length, 4);
        for (const h of hypervisors.json.hypervisors) {
          assert.ok(h.vcpus_used <= 25, `${h.hypervisor_hostname} holds ${h.vcpus_used} of 25 vCPUs`);
          assert.equal(h.vcpus_used, perHost.get(h.hypervisor_hostname) ?? 0, 'the counters match the instances');
          assert.equal(h.running_vms, perHost.get(h.hypervisor_hostname) ?? 0);
        }
      } finally {
        await dispose();
      }
    });
  });
}

async function waitUntilSettled(tc: TestCloud, token: string, count: number): Promise<Array<Record<string, any>>> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const listed = await nova(tc.url, 'GET', '/servers/detail', token);
    const servers = listed.json.servers as Array<Record<string, any>>;
    if (servers.length === count && servers.every((s) => s.status === 'ACTIVE' || s.status === 'ERROR')) return servers;
    if (Date.now() > deadline) {
      const building = servers.filter((s) => s.status !== 'ACTIVE' && s.status !== 'ERROR').length;
      assert.fail(`${building} of ${servers.length} servers still not settled`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
