// The volume scheduler on a real database: filters, the capacity weigher, and claims that
// never overcommit a backend, even when many are taken at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BackendCapabilities } from '../../../src/contracts/volume.js';
import type { Database } from '../../../src/core/db/database.js';
import { DATABASES } from '../../helpers/databases.js';
import { migrateToLatest } from '../../../src/core/db/migrations.js';
import { VolumeScheduler, virtualFree } from '../../../src/services/volume/scheduler.js';
import { volumeMigrations } from '../../../src/services/volume/migrations.js';
import type { VolumeTables } from '../../../src/services/volume/tables.js';

const caps = (host: string, over: Partial<BackendCapabilities> = {}): BackendCapabilities => ({
  host,
  backendName: 'file',
  driver: 'file',
  availabilityZone: 'nova',
  totalCapacityGb: 100,
  freeCapacityGb: 100,
  reservedPercentage: 0,
  thinProvisioning: false,
  maxOverSubscriptionRatio: 1,
  onlineExtend: true,
  multiattach: true,
  storageProtocol: 'file',
  volumeCount: 0,
  starting: false,
  ...over,
});

for (const engine of DATABASES) describe(`volume scheduler on ${engine.name}`, { skip: engine.skip }, () => {
  let database: Database;
  let dispose: () => Promise<void>;
  let scheduler: VolumeScheduler;

  before(async () => {
    const opened = await engine.open();
    database = opened.database;
    dispose = opened.dispose;
    await migrateToLatest(database, [volumeMigrations]);
    scheduler = new VolumeScheduler(database.tables<VolumeTables>(), 60);
  });
  after(async () => {
    await dispose?.();
  });

  it('filters by zone, backend name, multiattach and capacity, and weighs by free space', async () => {
    await scheduler.report(caps('a@file', { totalCapacityGb: 50 }));
    await scheduler.report(caps('b@file', { totalCapacityGb: 200 }));
    await scheduler.report(caps('c@nbd', { backendName: 'nbd', totalCapacityGb: 500, multiattach: false, availabilityZone: 'az2' }));
    await scheduler.report(caps('old@file', { totalCapacityGb: 1000 }), new Date(Date.now() - 120_000));
    const rows = await scheduler.list();
    const pick = (req: Parameters<VolumeScheduler['candidates']>[1]) => scheduler.candidates(rows, req).map((r) => r.host);
    assert.deepEqual(pick({ sizeGb: 10, multiattach: false }), ['c@nbd', 'b@file', 'a@file'], 'a backend not heard from for 2 minutes is down');
    assert.deepEqual(pick({ sizeGb: 10, multiattach: false, availabilityZone: 'nova' }), ['b@file', 'a@file']);
    assert.deepEqual(pick({ sizeGb: 10, multiattach: true }), ['b@file', 'a@file']);
    assert.deepEqual(pick({ sizeGb: 10, multiattach: false, backendName: 'nbd' }), ['c@nbd']);
    assert.deepEqual(pick({ sizeGb: 150, multiattach: false, availabilityZone: 'nova' }), ['b@file']);
    assert.deepEqual(pick({ sizeGb: 600, multiattach: false }), []);
  });

  it('counts thin over-subscription and the reserved percentage', () => {
    assert.equal(virtualFree({ total_gb: 100, allocated_gb: 0, reserved_percentage: 10, thin: 1, max_over_subscription_ratio: 20 }), 1800);
    assert.equal(virtualFree({ total_gb: 100, allocated_gb: 30, reserved_percentage: 10, thin: 0, max_over_subscription_ratio: 20 }), 60);
  });

  it('claims atomically: 40 claims of 10 GiB at once on 100 GiB get exactly 10', async () => {
    await scheduler.report(caps('race@file', { totalCapacityGb: 100 }));
    const results = await Promise.all(Array.from({ length: 40 }, () => scheduler.claim('race@file', 10)));
    assert.equal(results.filter(Boolean).length, 10);
    const row = (await scheduler.list()).find((r) => r.host === 'race@file');
    assert.equal(row?.allocated_gb, 100);
    await scheduler.release('race@file', 30);
    assert.equal((await scheduler.list()).find((r) => r.host === 'race@file')?.allocated_gb, 70);
    // A report refreshes capacity without forgetting claims.
    await scheduler.report(caps('race@file', { totalCapacityGb: 100, freeCapacityGb: 20 }));
    assert.equal((await scheduler.list()).find((r) => r.host === 'race@file')?.allocated_gb, 70);
  });
});
