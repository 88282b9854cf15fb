/**
 * The cloud every conformance suite runs against: a fresh `kumo up` on the fake compute driver
 * with DevStack's accounts, networks and images, as each suite's configuration expects them.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKumo, type KumoProcess } from '../bench/lib/kumo-process.js';

/**
 * `kumo up` as tempest and the SDK suites expect the cloud: security compliance as tempest's
 * [identity] defaults expect it (lockout after 2 failures for 5 s, the last 2 passwords unique),
 * compute on the fake driver (instances ACTIVE at once) with room for parallel workers, and
 * DevStack's public, private and router1 networks.
 */
export function startConformanceKumo(): Promise<KumoProcess> {
  return startKumo({
    KUMO_PASSWORD_HASH_ROUNDS: '4',
    KUMO_LOG_LEVEL: 'warn',
    KUMO_LOCKOUT_FAILURE_ATTEMPTS: '2',
    KUMO_LOCKOUT_DURATION: '5',
    KUMO_UNIQUE_LAST_PASSWORD_COUNT: '2',
    KUMO_COMPUTE_DRIVER: 'fake',
    KUMO_FAKE_HOSTS: '2',
    KUMO_FAKE_HOST_VCPUS: '64',
    KUMO_FAKE_HOST_RAM_MB: '65536',
    KUMO_FAKE_HOST_DISK_GB: '2000',
    KUMO_DEFAULT_NETWORKS: '1',
  });
}

export async function adminToken(url: string, password: string): Promise<{ token: string; types: Set<string>; endpoints: Map<string, string> }> {
  const response = await fetch(`${url}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: 'admin', domain: { id: 'default' }, password } } },
        scope: { project: { name: 'admin', domain: { id: 'default' } } },
      },
    }),
  });
  const body = (await response.json()) as { token: { catalog: Array<{ type: string; endpoints: Array<{ interface: string; url: string }> }> } };
  const endpoints = new Map<string, string>();
  for (const s of body.token.catalog) {
    const endpoint = s.endpoints.find((e) => e.interface === 'public') ?? s.endpoints[0];
    if (endpoint) endpoints.set(s.type, endpoint.url.replace(/\/+$/, ''));
  }
  return { token: response.headers.get('x-subject-token') ?? '', types: new Set(body.token.catalog.map((s) => s.type)), endpoints };
}

export async function call(method: string, url: string, token: string, body?: unknown, contentType = 'application/json'): Promise<Response> {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': contentType, 'x-auth-token': token },
    ...(body === undefined ? {} : { body: body instanceof Uint8Array ? body : JSON.stringify(body) }),
  });
  if (response.status >= 300) throw new Error(`${method} ${url} answered ${response.status} ${await response.text()}`);
  return response;
}

/**
 * What tempest's compute tests need: two public images (an empty 1 MiB qcow2: the fake driver
 * never reads them, but the volume service writes them into volumes, so they must be real), the microversion range from GET /compute, and default quotas large
 * enough for parallel workers (tempest's dynamic projects get the `default` quota class).
 */
export async function prepareCompute(endpoints: Map<string, string>, token: string): Promise<Record<string, string>> {
  const image = endpoints.get('image');
  const compute = endpoints.get('compute');
  if (!image || !compute) throw new Error('compute needs the image service in the catalog');
  const scratch = mkdtempSync(join(tmpdir(), 'kumo-conformance-image-'));
  let data: Uint8Array;
  try {
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(scratch, 'empty.qcow2'), '1M']);
    data = new Uint8Array(readFileSync(join(scratch, 'empty.qcow2')));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const upload = async (name: string) => {
    const created = (await (await call('POST', `${image}/v2/images`, token, { name, disk_format: 'qcow2', container_format: 'bare', visibility: 'public' })).json()) as { id: string };
    await call('PUT', `${image}/v2/images/${created.id}/file`, token, data, 'application/octet-stream');
    return created.id;
  };
  const imageRef = await upload('conformance-image');
  const imageRefAlt = await upload('conformance-image-alt');
  // The versioned endpoint is …/compute/v2.1[/PROJECT]; GET on its root lists the versions.
  const root = compute.replace(/\/v2(\.1)?(\/.*)?$/, '');
  const versions = (await (await call('GET', root, token)).json()) as { versions: Array<{ id: string; version: string; min_version: string }> };
  const v21 = versions.versions.find((v) => v.id === 'v2.1') ?? versions.versions[0];
  await call('PUT', `${root}/v2.1/os-quota-class-sets/default`, token, {
    quota_class_set: { instances: 1000, cores: 4000, ram: 4096000, key_pairs: 1000, server_groups: 1000, server_group_members: 1000 },
  });
  return {
    IMAGE_REF: imageRef,
    IMAGE_REF_ALT: imageRefAlt,
    FLAVOR_REF: '42',
    FLAVOR_REF_ALT: '84',
    COMPUTE_MIN_MICROVERSION: v21?.min_version ?? '',
    COMPUTE_MAX_MICROVERSION: v21?.version ?? '',
  };
}

/** The cloud's own extension list, as DevStack gives tempest, so tests of absent extensions skip. */
export async function networkExtensions(url: string, token: string): Promise<string> {
  const response = await fetch(`${url}/networking/v2.0/extensions`, { headers: { 'x-auth-token': token } });
  const body = (await response.json()) as { extensions: Array<{ alias: string }> };
  return body.extensions.map((e) => e.alias).join(',');
}

/**
 * The external network tempest uses for router gateways and floating IPs: DevStack's `public`,
 * which Kumo makes on its first start, found as DevStack's tempest setup finds it.
 */
export async function publicNetwork(url: string, token: string): Promise<{ id: string; name: string }> {
  const response = await fetch(`${url}/networking/v2.0/networks?name=public&router:external=true`, { headers: { 'x-auth-token': token } });
  const found = ((await response.json()) as { networks?: Array<{ id: string }> }).networks?.[0];
  return found ? { id: found.id, name: 'public' } : createPublicNetwork(url, token);
}

/** A `public` of our own when the cloud made none: flat on physnet1, a documentation range (never routed anywhere). */
async function createPublicNetwork(url: string, token: string): Promise<{ id: string; name: string }> {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${url}/networking/v2.0/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-auth-token': token },
      body: JSON.stringify(body),
    });
    if (response.status !== 201) throw new Error(`creating the public network: ${path} answered ${response.status} ${await response.text()}`);
    return (await response.json()) as Record<string, { id: string }>;
  };
  const network = await post('networks', {
    network: { name: 'public', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'physnet1' },
  });
  const id = network.network?.id as string;
  await post('subnets', {
    subnet: { network_id: id, name: 'public-subnet', cidr: '198.51.100.0/24', ip_version: 4, enable_dhcp: false },
  });
  return { id, name: 'public' };
}

/** Runs a suite's command with the caller's OS_* variables removed (plus `env`), its output to `logPath`. */
export function runLogged(command: string, args: string[], cwd: string, logPath: string, env: Record<string, string> = {}): Promise<number> {
  return new Promise((resolveRun, reject) => {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OS_')));
    const child = spawn(command, args, { cwd, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const log: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => log.push(c));
    child.stderr.on('data', (c: Buffer) => log.push(c));
    child.once('error', reject);
    child.once('exit', (code) => {
      writeFileSync(logPath, Buffer.concat(log));
      resolveRun(code ?? 1);
    });
  });
}
