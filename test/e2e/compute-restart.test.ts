// A `kumo up` killed (SIGKILL) while boots are under way, then started again on the same data
// directory: every instance ends ACTIVE or ERROR, none stays in BUILD, and each host's usage
// counters equal what its instances hold.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { api, passwordToken } from '../helpers/cloud.js';
import { activeImage, nova } from '../services/compute/helpers.js';
import { startKumo, type KumoProcess } from './helpers/kumo-process.js';

const ENV = { KUMO_COMPUTE_DRIVER: 'fake', KUMO_FAKE_HOSTS: '2', KUMO_FAKE_HOST_VCPUS: '100', KUMO_FAKE_SPAWN_DELAY_MS: '300' };

function adminPassword(dataDir: string): string {
  const match = /OS_PASSWORD=['"]?([^'"\n]+)/.exec(readFileSync(join(dataDir, 'admin-openrc.sh'), 'utf8'));
  assert.ok(match, 'admin-openrc.sh has the password');
  return match[1] as string;
}

describe('compute after a crash mid-boot', { timeout: 180_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), 'kumo-e2e-compute-restart-'));
  const dataDir = join(root, 'data');
  let kumo: KumoProcess | undefined;

  after(() => {
    kumo?.kill();
    rmSync(root, { recursive: true, force: true });
  });

  it('leaves no instance in BUILD and the usage counters right', async (t) => {
    kumo = await startKumo({ dataDir, env: ENV });
    let token = await passwordToken(kumo.url, 'admin', adminPassword(dataDir), 'admin');
    const project = await api(kumo.url, 'GET', '/identity/v3/auth/tokens', token, undefined, { 'x-subject-token': token });
    const projectId = project.json.token.project.id as string;
    assert.equal((await nova(kumo.url, 'PUT', `/os-quota-sets/${projectId}`, token, { quota_set: { instances: -1, cores: -1, ram: -1 } })).status, 200);
    const image = await activeImage(kumo.url, token);

    // Fire 120 boots and kill the process as soon as a third of them were accepted.
    let accepted = 0;
    const victim = kumo;
    const boots = Array.from({ length: 120 }, (_, i) =>
      nova(victim.url, 'POST', '/servers', token, { server: { name: `crash-${i}`, imageRef: image, flavorRef: '42', networks: 'none' } })
        .then((r) => {
          if (r.status === 202 && ++accepted === 40) victim.kill();
          return r.status;
        })
        .catch(() => 0),
    );
    await Promise.all(boots);
    await new Promise((r) => setTimeout(r, 200));
    // What the crash left, read straight from the database before anything repairs it.
    const sqlite = new SQLite(join(dataDir, 'kumo.sqlite'), { readonly: true });
    const building = (sqlite.prepare("SELECT count(*) AS n FROM compute_instance WHERE vm_state = 'building'").get() as { n: number }).n;
    sqlite.close();
    t.diagnostic(`left by the crash: ${building} instances in BUILD`);
    assert.ok(building > 0, 'the crash interrupted boots under way');

    kumo = await startKumo({ dataDir, env: ENV, port: victim.port });
    const early = (await nova(kumo.url, 'GET', '/servers/detail', await passwordToken(kumo.url, 'admin', adminPassword(dataDir), 'admin'))).json.servers as Array<Record<string, any>>;
    t.diagnostic(`at restart: ${early.length} recorded, ${early.filter((s) => s.status === 'BUILD').length} in BUILD`);
    token = await passwordToken(kumo.url, 'admin', adminPassword(dataDir), 'admin');
    const deadline = Date.now() + 60_000;
    let servers: Array<Record<string, any>> = [];
    for (;;) {
      servers = (await nova(kumo.url, 'GET', '/servers/detail', token)).json.servers as Array<Record<string, any>>;
      if (servers.every((s) => s.status === 'ACTIVE' || s.status === 'ERROR')) break;
      assert.ok(Date.now() < deadline, `still building: ${servers.filter((s) => s.status === 'BUILD').length}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    t.diagnostic(`settled: ${servers.filter((s) => s.status === 'ACTIVE').length} ACTIVE, ${servers.filter((s) => s.status === 'ERROR').length} ERROR`);
    assert.ok(servers.length >= 40, `the accepted boots are all there (${servers.length})`);
    const perHost = new Map<string, number>();
    for (const s of servers.filter((x) => x.status === 'ACTIVE')) {
      perHost.set(s['OS-EXT-SRV-ATTR:host'], (perHost.get(s['OS-EXT-SRV-ATTR:host']) ?? 0) + 1);
    }
    const hypervisors = (await nova(kumo.url, 'GET', '/os-hypervisors/detail', token)).json.hypervisors as Array<Record<string, any>>;
    assert.equal(hypervisors.length, 2);
    for (const h of hypervisors) {
      assert.equal(h.vcpus_used, perHost.get(h.hypervisor_hostname) ?? 0, `${h.hypervisor_hostname}: counters match the instances`);
      assert.equal(h.running_vms, perHost.get(h.hypervisor_hostname) ?? 0);
    }
    // The guests that were ACTIVE before the crash still answer actions after it.
    const survivor = servers.find((s) => s.status === 'ACTIVE');
    if (survivor) {
      assert.equal((await nova(kumo.url, 'POST', `/servers/${survivor.id}/action`, token, { 'os-stop': null })).status, 202);
    }
  });
});
