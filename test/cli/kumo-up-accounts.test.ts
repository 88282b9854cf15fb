// A real `kumo up`: its first start makes admin and demo once and prints no password; an
// operator who replaced them restarts and finds them still gone; `kumo identity bootstrap`
// brings an admin back on request; and nothing in the data directory is open to others.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { cleanEnv, KUMO_MAIN, startKumo, type KumoProcess } from '../e2e/helpers/kumo-process.js';
import { api, passwordToken } from '../helpers/cloud.js';
import { openToOthers } from '../helpers/file-modes.js';

const run = promisify(execFile);
const SLOW = { timeout: 120_000 };

interface Clouds {
  clouds: Record<string, { auth: { auth_url: string; username: string; password: string; project_name: string } }>;
}

describe('kumo up: bootstrap accounts once, a private data directory', () => {
  let root: string;
  let dataDir: string;
  let kumo: KumoProcess;
  let first: { adminPassword: string; demoPassword: string };
  let cloudsYaml: string;

  const readCredentials = () => JSON.parse(readFileSync(join(dataDir, 'bootstrap-credentials.json'), 'utf8')) as { adminPassword: string; demoPassword?: string };
  const readClouds = () => parse(readFileSync(join(dataDir, 'clouds.yaml'), 'utf8')) as Clouds;
  const usersNamed = async (token: string, name: string) => (await api(kumo.url, 'GET', `/identity/v3/users?name=${name}`, token)).json.users as unknown[];
  const bootstrap = (env: Record<string, string> = {}) =>
    run(process.execPath, [KUMO_MAIN, 'identity', 'bootstrap', '--data-dir', dataDir, '--log-level', 'warn'], {
      env: cleanEnv({ KUMO_PASSWORD_HASH_ROUNDS: '4', ...env }),
    });

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kumo-accounts-'));
    dataDir = join(root, 'data');
    kumo = await startKumo({ dataDir });
  }, SLOW);

  after(() => {
    kumo?.kill();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('the first start creates admin and demo and says where their passwords are, not what they are', () => {
    first = readCredentials() as typeof first;
    assert.ok(first.adminPassword && first.demoPassword, 'bootstrap-credentials.json holds both passwords');
    const output = kumo.output();
    assert.match(output, /accounts: admin and demo created by this first start/);
    for (const name of ['clouds.yaml', 'admin-openrc.sh', 'demo-openrc.sh', 'bootstrap-credentials.json']) {
      assert.ok(output.includes(join(dataDir, name)), `the banner names ${name}`);
    }
    assert.ok(!output.includes(first.adminPassword) && !output.includes(first.demoPassword), 'no password is printed');
    assert.equal(readClouds().clouds['kumo-admin']?.auth.password, first.adminPassword);
    cloudsYaml = readFileSync(join(dataDir, 'clouds.yaml'), 'utf8');
  });

  it('while it runs, the data directory is 0700 and nothing in it is open to others', () => {
    assert.equal((statSync(dataDir).mode & 0o777).toString(8), '700');
    for (const name of ['kumo.sqlite', 'kumo.sqlite-wal', 'kumo.sqlite-shm', 'bootstrap-credentials.json', 'clouds.yaml', 'admin-openrc.sh', 'metadata-secret']) {
      assert.equal((statSync(join(dataDir, name)).mode & 0o777).toString(8), '600', name);
    }
    assert.deepEqual(openToOthers(dataDir), []);
  });

  it('after an operator replaced admin and demo, a restart brings neither back and prints no password', SLOW, async () => {
    const admin = await passwordToken(kumo.url, 'admin', first.adminPassword, 'admin');
    const lookup = async (path: string, key: string) => ((await api(kumo.url, 'GET', `/identity/v3${path}`, admin)).json[key] as Array<{ id: string }>)[0]?.id as string;
    const [adminProject, adminRole, adminUser, demoUser] = await Promise.all([
      lookup('/projects?name=admin', 'projects'),
      lookup('/roles?name=admin', 'roles'),
      lookup('/users?name=admin', 'users'),
      lookup('/users?name=demo', 'users'),
    ]);
    const created = await api(kumo.url, 'POST', '/identity/v3/users', admin, { user: { name: 'operator', password: 'operator-secret', default_project_id: adminProject } });
    assert.equal(created.status, 201);
    const operatorId = created.json.user.id as string;
    assert.equal((await api(kumo.url, 'PUT', `/identity/v3/projects/${adminProject}/users/${operatorId}/roles/${adminRole}`, admin)).status, 204);
    assert.equal((await api(kumo.url, 'PUT', `/identity/v3/system/users/${operatorId}/roles/${adminRole}`, admin)).status, 204);
    const operator = await passwordToken(kumo.url, 'operator', 'operator-secret', 'admin');
    assert.equal((await api(kumo.url, 'DELETE', `/identity/v3/users/${demoUser}`, operator)).status, 204);
    assert.equal((await api(kumo.url, 'DELETE', `/identity/v3/users/${adminUser}`, operator)).status, 204);

    const stopped = await kumo.stop('SIGTERM');
    assert.equal(stopped.code, 0, kumo.output());
    kumo = await startKumo({ dataDir, port: kumo.port });

    const again = await passwordToken(kumo.url, 'operator', 'operator-secret', 'admin');
    assert.deepEqual(await usersNamed(again, 'admin'), [], 'admin stays deleted');
    assert.deepEqual(await usersNamed(again, 'demo'), [], 'demo stays deleted');
    const output = kumo.output();
    assert.ok(!output.includes(first.adminPassword) && !output.includes(first.demoPassword), 'no password is printed');
    assert.doesNotMatch(output, /accounts: .* created/);
    assert.ok(output.includes(join(dataDir, 'clouds.yaml')), 'the banner says where the client files are');
    assert.equal(readFileSync(join(dataDir, 'clouds.yaml'), 'utf8'), cloudsYaml, 'the client files are left as they were');
    assert.equal((statSync(dataDir).mode & 0o777).toString(8), '700');
    assert.deepEqual(openToOthers(dataDir), []);
  });

  it('kumo identity bootstrap restores the admin on request, again and again, and prints no password', SLOW, async () => {
    const restored = await bootstrap({ KUMO_ADMIN_PASSWORD: 'restored-pass' });
    assert.match(restored.stdout, /user:\s+created/);
    assert.ok(!restored.stdout.includes('restored-pass') && !restored.stderr.includes('restored-pass'), 'no password is printed');
    const token = await passwordToken(kumo.url, 'admin', 'restored-pass', 'admin');
    const check = await api(kumo.url, 'GET', '/identity/v3/auth/tokens', token, undefined, { 'x-subject-token': token });
    assert.ok((check.json.token.roles as Array<{ name: string }>).some((r) => r.name === 'admin'), 'admin on project admin');
    const system = await api(kumo.url, 'POST', '/identity/v3/auth/tokens', undefined, {
      auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: 'restored-pass' } } }, scope: { system: { all: true } } },
    });
    assert.equal(system.status, 201, 'and on the system');
    assert.deepEqual(await usersNamed(token, 'demo'), [], 'demo is not brought back');
    const admin = readClouds().clouds['kumo-admin'];
    assert.equal(admin?.auth.password, 'restored-pass', 'clouds.yaml has the new password');
    assert.equal(admin?.auth.auth_url, `${kumo.url}/identity`);
    assert.equal(readCredentials().adminPassword, 'restored-pass');
    const userId = (await api(kumo.url, 'GET', '/identity/v3/users?name=admin', token)).json.users[0].id as string;

    const same = await bootstrap({ KUMO_ADMIN_PASSWORD: 'restored-pass' });
    assert.match(same.stdout, /user:\s+unchanged/);
    assert.ok(same.stdout.includes(userId), 'the same user');

    const generated = await bootstrap();
    assert.match(generated.stdout, /user:\s+password reset/);
    const fresh = readCredentials().adminPassword;
    assert.ok(fresh && fresh !== 'restored-pass' && !generated.stdout.includes(fresh));
    await passwordToken(kumo.url, 'admin', fresh, 'admin');
    const old = await api(kumo.url, 'POST', '/identity/v3/auth/tokens', undefined, {
      auth: { identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password: 'restored-pass' } } } },
    });
    assert.equal(old.status, 401, 'the previous password no longer works');
    assert.deepEqual(openToOthers(dataDir), []);
  });
});
