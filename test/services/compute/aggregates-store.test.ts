// The aggregate and control-service records on both engines (integer ids handed out under
// concurrent creates, a host's zone from its aggregates, heartbeats upserted per binary), and
// the usage arithmetic of os-simple-tenant-usage on a fixed clock.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kysely } from 'kysely';
import type { Database } from '../../../src/core/db/database.js';
import { migrateToLatest } from '../../../src/core/db/migrations.js';
import { Aggregates } from '../../../src/services/compute/aggregates.js';
import { ControlServices, controlServiceIsUp } from '../../../src/services/compute/control-services.js';
import type { Instance } from '../../../src/services/compute/instances/model.js';
import { computeMigrations } from '../../../src/services/compute/migrations.js';
import type { ComputeTables } from '../../../src/services/compute/tables.js';
import { tenantUsages, usagePeriod } from '../../../src/services/compute/usage.js';
import { DATABASES } from '../../helpers/databases.js';

for (const engine of DATABASES) {
  describe(`aggregate and control-service records on ${engine.name}`, { skip: engine.skip }, () => {
    let opened: { database: Database; dispose(): Promise<void> };
    let db: Kysely<ComputeTables>;
    let aggregates: Aggregates;

    before(async () => {
      opened = await engine.open();
      await migrateToLatest(opened.database, [computeMigrations]);
      db = opened.database.tables<ComputeTables>();
      aggregates = new Aggregates(db);
    });
    after(async () => opened?.dispose());

    it('hands out distinct integer ids to concurrent creates, and refuses a taken name', async () => {
      const made = await Promise.all(['a', 'b', 'c', 'd'].map((name) => aggregates.create(name, null)));
      assert.deepEqual(made.map((a) => a.id).sort(), [1, 2, 3, 4]);
      await assert.rejects(aggregates.create('a', null), (e: any) => e.status === 409);
      await assert.rejects(Promise.all([aggregates.create('same', null), aggregates.create('same', null)]), (e: any) => e.status === 409);
      assert.equal((await aggregates.list()).filter((a) => a.name === 'same').length, 1);
    });

    it("gives a host its aggregate's zone, and refuses a second zone for it", async () => {
      const east = await aggregates.create('east', 'az-east');
      await aggregates.addHost(String(east.id), 'h1', true, false);
      assert.equal((await aggregates.hostZones()).get('h1'), 'az-east');
      const west = await aggregates.create('west', 'az-west');
      await assert.rejects(aggregates.addHost(String(west.id), 'h1', true, false), (e: any) => e.status === 409);
      await assert.rejects(aggregates.setMetadata(String(east.id), { availability_zone: 'az-busy' }, 'set_metadata', ['h1']), (e: any) => e.status === 400);
      await aggregates.setMetadata(String(east.id), { availability_zone: null });
      assert.equal((await aggregates.hostZones()).get('h1'), undefined);
      await assert.rejects(aggregates.delete(String(east.id)), (e: any) => e.status === 400);
      await aggregates.removeHost(String(east.id), 'h1', false);
      await aggregates.delete(String(east.id));
      await assert.rejects(aggregates.get(String(east.id)), (e: any) => e.status === 404);
    });

    it('keeps one heartbeat row per host and binary, up while it is fresh', async () => {
      const services = new ControlServices(db);
      await services.heartbeat('ctl', new Date(Date.now() - 120_000));
      const first = await services.list();
      await services.heartbeat('ctl');
      const rows = await services.list();
      assert.deepEqual(rows.map((r) => r.binary), ['nova-conductor', 'nova-scheduler']);
      assert.deepEqual(rows.map((r) => r.service_id), first.map((r) => r.service_id));
      assert.ok(!controlServiceIsUp(first[0]!, 60));
      assert.ok(rows.every((r) => controlServiceIsUp(r, 60)));
    });
  });
}

describe('usage arithmetic', () => {
  const flavor = { id: '42', name: 'm1.nano', vcpus: 2, memoryMb: 128, rootGb: 1, ephemeralGb: 1, swapMb: 0, extraSpecs: {} };
  const instance = (id: string, launchedAt: string | null, terminatedAt: string | null): Instance =>
    ({ id, projectId: 'p', name: id, flavor, vmState: terminatedAt ? 'deleted' : 'active', launchedAt, terminatedAt }) as unknown as Instance;

  it('charges each server for its time inside the window', () => {
    const period = usagePeriod('2026-01-01T00:00:00', '2026-01-02T00:00:00');
    const now = new Date('2026-01-03T00:00:00Z');
    const [usage] = tenantUsages(
      [
        instance('before-and-after', '2025-12-31T00:00:00.000Z', null),
        instance('inside', '2026-01-01T06:00:00.000Z', '2026-01-01T12:00:00.000Z'),
        instance('gone-before', '2025-12-01T00:00:00.000Z', '2025-12-02T00:00:00.000Z'),
        instance('after', '2026-01-05T00:00:00.000Z', null),
        instance('never-launched', null, null),
      ],
      period,
      now,
    );
    const hours = Object.fromEntries(usage!.server_usages.map((s) => [s.instance_id, s.hours]));
    assert.deepEqual(hours, { 'before-and-after': 24, inside: 6, 'never-launched': 0 });
    assert.equal(usage!.total_hours, 30);
    assert.equal(usage!.total_vcpus_usage, 60);
    assert.equal(usage!.total_memory_mb_usage, 128 * 30);
    assert.equal(usage!.total_local_gb_usage, 2 * 30);
    assert.equal(usage!.start, '2026-01-01T00:00:00');
    const inside = usage!.server_usages.find((s) => s.instance_id === 'inside')!;
    assert.deepEqual([inside.state, inside.uptime, inside.ended_at], ['terminated', 6 * 3600, '2026-01-01T12:00:00']);
  });

  it('echoes start and end as Nova parsed them, microseconds and all (openstacksdk compares them)', () => {
    const period = usagePeriod('2026-01-01 00:00:00.518784', '2026-01-02T00:00:00.5');
    const [usage] = tenantUsages([instance('inside', '2026-01-01T06:00:00.000Z', null)], period, new Date('2026-01-03T00:00:00Z'));
    assert.deepEqual([usage!.start, usage!.stop], ['2026-01-01T00:00:00.518784', '2026-01-02T00:00:00.500000']);
  });

  it('refuses a window that ends before it starts, and times it cannot read', () => {
    assert.throws(() => usagePeriod('2026-01-02T00:00:00', '2026-01-01T00:00:00'), (e: any) => e.status === 400);
    assert.throws(() => usagePeriod('2026-13-45', undefined), (e: any) => e.status === 400);
    assert.doesNotThrow(() => usagePeriod('2026-01-01 00:00:00.5', '2026-01-01T00:00:01.000001'));
  });
});
