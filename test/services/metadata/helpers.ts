import assert from 'node:assert/strict';
import { request, type OutgoingHttpHeaders } from 'node:http';
import { signInstanceId } from '../../../src/contracts/metadata.js';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { activeImage, boot, waitForServer } from '../compute/helpers.js';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * One HTTP request with node:http, to a URL or over a unix socket. Unlike fetch it can send a
 * header twice (an array value), which the metadata service must refuse.
 */
export function raw(
  target: { url: string } | { socketPath: string },
  path: string,
  headers: OutgoingHttpHeaders = {},
  method = 'GET',
  body?: string | Buffer,
): Promise<RawResponse> {
  const where =
    'url' in target
      ? (() => {
          const url = new URL(target.url);
          return { hostname: url.hostname, port: url.port };
        })()
      : { socketPath: target.socketPath };
  return new Promise((resolve, reject) => {
    const req = request({ ...where, path, method, headers: { ...headers, ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}


const V2 = '/networking/v2.0';

export const USER_DATA = '#!/bin/sh\necho "hello from user data" > /tmp/hi\n';

/** The scene every metadata test reads. */
export interface Scene {
  tc: TestCloud;
  demo: string;
  admin: string;
  projectId: string;
  /** On `int` (DHCP, behind the router) with a key pair, user data, metadata and a floating IP. */
  web: { id: string; portId: string; mac: string; fixedIp: string; floatingIp: string; keyName: string; publicKey: string };
  /** On `static` (no DHCP, no router), without key or user data. */
  plain: { id: string; portId: string; fixedIp: string };
  int: { networkId: string; subnetId: string };
  static: { networkId: string; subnetId: string };
  routerId: string;
}

async function ok(tc: TestCloud, method: string, path: string, token: string, body: unknown, status: number): Promise<Record<string, any>> {
  const res = await api(tc.url, method, path, token, body);
  assert.equal(res.status, status, `${method} ${path}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.json;
}

/**
 * A cloud with an external network, a router from it to `int`, an isolated `static` network,
 * and two servers: `web` (key pair, user data, floating IP) and `plain`.
 */
export async function buildScene(): Promise<Scene> {
  const tc = await startTestCloud({ env: { KUMO_COMPUTE_DRIVER: 'fake' } });
  const admin = await tc.token('admin');
  const demo = await tc.token('demo');
  const image = await activeImage(tc.url, admin);

  const ext = (await ok(tc, 'POST', `${V2}/networks`, admin, { network: { name: 'ext', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'physnet1' } }, 201)).network;
  await ok(tc, 'POST', `${V2}/subnets`, admin, { subnet: { network_id: ext.id, ip_version: 4, cidr: '203.0.113.0/24', gateway_ip: '203.0.113.1', enable_dhcp: false } }, 201);
  const int = (await ok(tc, 'POST', `${V2}/networks`, demo, { network: { name: 'int' } }, 201)).network;
  const intSubnet = (await ok(tc, 'POST', `${V2}/subnets`, demo, {
      subnet: {
        network_id: int.id,
        ip_version: 4,
        cidr: '10.30.0.0/24',
        dns_nameservers: ['10.30.0.53'],
        // IPAM picks at random: the addresses the suites use as nobody's (.200, .250) lie outside the pool.
        allocation_pools: [{ start: '10.30.0.2', end: '10.30.0.199' }],
      },
    }, 201)).subnet;
  const stat = (await ok(tc, 'POST', `${V2}/networks`, demo, { network: { name: 'static' } }, 201)).network;
  const statSubnet = (
    await ok(tc, 'POST', `${V2}/subnets`, demo, {
      subnet: { network_id: stat.id, ip_version: 4, cidr: '10.40.0.0/24', enable_dhcp: false, dns_nameservers: ['10.40.0.53'], host_routes: [{ destination: '192.168.0.0/16', nexthop: '10.40.0.254' }] },
    }, 201)
  ).subnet;
  const router = (await ok(tc, 'POST', `${V2}/routers`, demo, { router: { name: 'r1', external_gateway_info: { network_id: ext.id } } }, 201)).router;
  await ok(tc, 'PUT', `${V2}/routers/${router.id}/add_router_interface`, demo, { subnet_id: intSubnet.id }, 200);

  const keypair = (await ok(tc, 'POST', '/compute/v2.1/os-keypairs', demo, { keypair: { name: 'meta-key' } }, 200)).keypair;
  const created = await boot(tc.url, demo, {
    name: 'Web Server',
    imageRef: image,
    flavorRef: '42',
    key_name: 'meta-key',
    user_data: Buffer.from(USER_DATA).toString('base64'),
    metadata: { role: 'web' },
    networks: [{ uuid: int.id }],
  });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const webId = created.json.server.id as string;
  const plainBoot = await boot(tc.url, demo, { name: 'plain', imageRef: image, flavorRef: '42', networks: [{ uuid: stat.id }] });
  assert.equal(plainBoot.status, 202, JSON.stringify(plainBoot.body));
  const plainId = plainBoot.json.server.id as string;
  for (const id of [webId, plainId]) assert.equal((await waitForServer(tc.url, demo, id, ['ACTIVE', 'ERROR'])).status, 'ACTIVE');

  const portOf = async (id: string) => (await ok(tc, 'GET', `${V2}/ports?device_id=${id}`, admin, undefined, 200)).ports[0] as Record<string, any>;
  const webPort = await portOf(webId);
  const plainPort = await portOf(plainId);
  const fip = (await ok(tc, 'POST', `${V2}/floatingips`, demo, { floatingip: { floating_network_id: ext.id, port_id: webPort.id } }, 201)).floatingip;

  return {
    tc,
    demo,
    admin,
    projectId: int.project_id,
    web: {
      id: webId,
      portId: webPort.id,
      mac: webPort.mac_address,
      fixedIp: webPort.fixed_ips[0].ip_address,
      floatingIp: fip.floating_ip_address,
      keyName: 'meta-key',
      publicKey: keypair.public_key,
    },
    plain: { id: plainId, portId: plainPort.id, fixedIp: plainPort.fixed_ips[0].ip_address },
    int: { networkId: int.id, subnetId: intSubnet.id },
    static: { networkId: stat.id, subnetId: statSubnet.id },
    routerId: router.id,
  };
}

/** The headers the relay would add for `instanceId`, signed with the cloud's secret. */
export function signedHeaders(scene: Scene, instanceId: string, projectId = scene.projectId, address?: string): Record<string, string> {
  const secret = scene.tc.cloud.config.metadata.sharedSecret as string;
  return {
    'x-instance-id': instanceId,
    'x-tenant-id': projectId,
    'x-instance-id-signature': signInstanceId(secret, instanceId),
    ...(address ? { 'x-forwarded-for': address } : {}),
  };
}
