import assert from 'node:assert/strict';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import type { NetLab } from '../../helpers/netlab.js';
import { activeImage, boot, waitForServer } from '../../services/compute/helpers.js';

const V2 = '/networking/v2.0';
export type Body = Record<string, any>;

/**
 * The whole cloud in this process, its own host being a namespace of the lab: the network
 * agent drives linuxbridge there (and runs DHCP and routers: it is the network node), and
 * the fake compute driver binds instance ports to it, which the test plugs in as guests.
 */
export async function cloudInLab(
  lab: NetLab,
  hostNs: string,
  options: {
    tunnelIp?: string;
    physnets?: Record<string, string>;
    env?: Record<string, string>;
    /** DevStack's public/private/router1 (off unless asked for). */
    defaultNetworks?: boolean;
    /** A data directory to (re)use; the cloud then leaves it in place. */
    dataDir?: string;
    publicInterface?: string;
  } = {},
): Promise<TestCloud> {
  return startTestCloud({
    env: { KUMO_COMPUTE_DRIVER: 'fake', KUMO_HOST_NAME: `${lab.prefix}node`, ...options.env },
    ...(options.defaultNetworks !== undefined ? { defaultNetworks: options.defaultNetworks } : {}),
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    dataplane: {
      ...(options.publicInterface ? { publicInterface: options.publicInterface } : {}),
      driver: 'linuxbridge',
      hostNamespace: hostNs,
      namespacePrefix: lab.prefix,
      physicalInterfaceMappings: options.physnets ?? {},
      ...(options.tunnelIp ? { tunnelIp: options.tunnelIp } : {}),
      resyncIntervalSeconds: 0,
      stateDir: `${lab.tempDir()}/${hostNs}`,
    },
  });
}

export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Neutron calls that must succeed: resolves with the body's first value. */
export class NeutronClient {
  constructor(
    private readonly tc: TestCloud,
    private readonly token: string,
  ) {}

  async call(method: string, path: string, body?: unknown, status = method === 'POST' ? 201 : method === 'DELETE' ? 204 : 200): Promise<Body> {
    const response = await api(this.tc.url, method, `${V2}${path}`, this.token, body);
    assert.equal(response.status, status, `${method} ${path}: ${JSON.stringify(response.body)}`);
    const values = Object.values(response.json);
    return (values.length === 1 ? values[0] : response.json) as Body;
  }

  network(body: Body): Promise<Body> {
    return this.call('POST', '/networks', { network: body });
  }

  subnet(networkId: string, cidr: string, extra: Body = {}): Promise<Body> {
    return this.call('POST', '/subnets', { subnet: { network_id: networkId, cidr, ip_version: 4, ...extra } });
  }

  port(networkId: string, extra: Body = {}): Promise<Body> {
    return this.call('POST', '/ports', { port: { network_id: networkId, ...extra } });
  }

  /** A tenant network with one subnet: [network, subnet]. */
  async tenantNetwork(name: string, cidr: string): Promise<[Body, Body]> {
    const network = await this.network({ name });
    return [network, await this.subnet(network.id as string, cidr)];
  }

  /** The external flat network on physnet1 with the documentation range 203.0.113.0/24. */
  async externalNetwork(): Promise<[Body, Body]> {
    const network = await this.network({ name: 'ext', 'router:external': true, 'provider:network_type': 'flat', 'provider:physical_network': 'physnet1' });
    const subnet = await this.subnet(network.id as string, '203.0.113.0/24', {
      gateway_ip: '203.0.113.254',
      enable_dhcp: false,
      allocation_pools: [{ start: '203.0.113.100', end: '203.0.113.200' }],
    });
    return [network, subnet];
  }
}

/** Boots a fake-driver instance on a port the test made; resolves once ACTIVE (its port is bound). */
export async function instanceOnPort(tc: TestCloud, token: string, portId: string, name: string): Promise<string> {
  const image = await activeImage(tc.url, token);
  const created = await boot(tc.url, token, { name, imageRef: image, flavorRef: '42', networks: [{ port: portId }] });
  assert.equal(created.status, 202, JSON.stringify(created.body));
  const id = created.json.server.id as string;
  const server = await waitForServer(tc.url, token, id, ['ACTIVE', 'ERROR']);
  assert.equal(server.status, 'ACTIVE', JSON.stringify(server.fault));
  return id;
}

/** The namespace names a host's agent uses in the lab. */
export const dhcpNs = (lab: NetLab, networkId: string) => `${lab.prefix}qdhcp-${networkId}`;
export const routerNs = (lab: NetLab, routerId: string) => `${lab.prefix}qrouter-${routerId}`;

export async function namespaceExists(lab: NetLab, name: string): Promise<boolean> {
  const out = (await lab.tryRun(['ip', '-j', 'netns', 'list'])).out;
  return out.trim() !== '' && (JSON.parse(out) as Array<{ name: string }>).some((n) => n.name === name);
}
