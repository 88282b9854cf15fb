import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { HostState, RouterState } from '../../../src/contracts/network-agent.js';
import { planRouter } from '../../../src/agents/network/dataplane/linuxbridge/router-plan.js';
import { canonicalNat, canonicalRendered, floatingPairsOf } from '../../../src/agents/network/dataplane/linuxbridge/router-nat.js';

const EXT = '20000001-aaaa-4aaa-8aaa-000000000001';
const NET_A = '20000002-aaaa-4aaa-8aaa-000000000002';
const ROUTER = '30000001-cccc-4ccc-8ccc-000000000001';
const RA = '40000001-dddd-4ddd-8ddd-000000000001';
const RG = '40000003-dddd-4ddd-8ddd-000000000003';

function host(): HostState {
  const port = (id: string, networkId: string, mac: string, deviceOwner: string) => ({
    id, networkId, macAddress: mac, fixedIps: [], deviceOwner, deviceId: ROUTER, adminStateUp: true, portSecurityEnabled: false, securityGroupIds: [], allowedAddressPairs: [],
  });
  return {
    host: 'h', generation: 1,
    networks: [EXT, NET_A].map((id) => ({ id, networkType: 'local', physicalNetwork: null, segmentationId: null, mtu: 1500, peers: [] })),
    ports: [port(RA, NET_A, 'fa:16:3e:00:01:01', 'network:router_interface'), port(RG, EXT, 'fa:16:3e:00:01:03', 'network:router_gateway')],
    dhcp: [], routers: [], securityGroups: [],
  };
}

function router(overrides: Partial<RouterState> = {}): RouterState {
  return {
    id: ROUTER,
    adminStateUp: true,
    gateway: { networkId: EXT, portMac: 'FA:16:3E:00:01:03', ips: [{ ipAddress: '203.0.113.10', cidr: '203.0.113.0/24', gatewayIp: '203.0.113.254' }], enableSnat: true },
    interfaces: [{ portId: RA, portMac: 'fa:16:3e:00:01:01', subnetId: 's', ipAddress: '10.60.1.1', cidr: '10.60.1.7/24' }],
    routes: [{ destination: '10.70.0.0/16', nexthop: '10.60.1.254' }],
    floatingIps: [{ id: 'f', floatingIp: '203.0.113.20', fixedIp: '10.60.1.10', portId: 'p' }],
    ...overrides,
  };
}

describe('router plan', () => {
  it('plans legs, routes and a nat table with floating IPs before the router SNAT', () => {
    const plan = planRouter(router(), host(), 'qrouter-x', true);
    assert.deepEqual(plan.legs.map((l) => [l.device, l.tap, l.bridge, l.mac, l.addresses]), [
      ['qr-40000001-dd', 'tap40000001-dd', 'brq20000002-aa', 'fa:16:3e:00:01:01', ['10.60.1.1/24']],
      ['qg-40000003-dd', 'tap40000003-dd', 'brq20000001-aa', 'fa:16:3e:00:01:03', ['203.0.113.10/24', '203.0.113.20/32']],
    ]);
    assert.deepEqual(plan.routes, [
      { destination: '0.0.0.0/0', nexthop: '203.0.113.254' },
      { destination: '10.70.0.0/16', nexthop: '10.60.1.254' },
    ]);
    assert.deepEqual(plan.nat, [
      '-A PREROUTING -d 169.254.169.254/32 -i qr-+ -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 9697',
      '-A PREROUTING -d 203.0.113.20/32 -j DNAT --to-destination 10.60.1.10',
      '-A OUTPUT -d 203.0.113.20/32 -j DNAT --to-destination 10.60.1.10',
      '-A POSTROUTING -s 10.60.1.10/32 -o qg-40000003-dd -j SNAT --to-source 203.0.113.20',
      '-A POSTROUTING -s 10.60.1.0/24 -o qg-40000003-dd -j SNAT --to-source 203.0.113.10',
    ]);
    assert.deepEqual(floatingPairsOf(plan.nat), [{ floatingIp: '203.0.113.20', fixedIp: '10.60.1.10' }]);
  });

  it('leaves SNAT out when the gateway disables it, and everything external without a gateway', () => {
    const gateway = { ...(router().gateway as NonNullable<RouterState['gateway']>), enableSnat: false };
    assert.ok(!planRouter(router({ gateway }), host(), 'ns', false).nat.some((r) => r.includes('--to-source 203.0.113.10')));
    const bare = planRouter(router({ gateway: null, routes: [] }), host(), 'ns', false);
    assert.deepEqual(bare.nat, []);
    assert.deepEqual(bare.routes, []);
    assert.equal(bare.legs.length, 1);
  });

  it('rejects malformed or crafted addresses before anything runs', () => {
    const bad: Array<Partial<RouterState>> = [
      { floatingIps: [{ id: 'f', floatingIp: '203.0.113.20 -j ACCEPT', fixedIp: '10.60.1.10', portId: 'p' }] },
      { floatingIps: [{ id: 'f', floatingIp: '203.0.113.20', fixedIp: '0x0a.1.1.1', portId: 'p' }] },
      { interfaces: [{ portId: RA, portMac: 'fa:16:3e:00:01:01', subnetId: 's', ipAddress: '10.60.1.1', cidr: '10.60.1.0/33' }] },
      { interfaces: [{ portId: RA, portMac: 'fa:16:3e:00:01:01', subnetId: 's', ipAddress: '10.60.1.1', cidr: '' }] },
      { interfaces: [{ portId: RA, portMac: 'fa:16:3e:0:1:1', subnetId: 's', ipAddress: '10.60.1.1', cidr: '10.60.1.0/24' }] },
      { routes: [{ destination: '10.70.0.0/16\nroute del default', nexthop: '10.60.1.254' }] },
      { routes: [{ destination: '2001:db8::/64', nexthop: '10.60.1.254' }] },
      { interfaces: [{ portId: '40000009-dddd-4ddd-8ddd-000000000009', portMac: 'fa:16:3e:00:01:09', subnetId: 's', ipAddress: '10.60.9.1', cidr: '10.60.9.0/24' }] },
    ];
    for (const overrides of bad) assert.throws(() => planRouter(router(overrides), host(), 'ns', false), JSON.stringify(overrides));
  });

  it('reads iptables-save output into comparable lines', () => {
    const save = [
      '# Generated by iptables-save v1.8.9 (nf_tables) on Mon Nov 23 18:40:13 2026',
      '*filter',
      ':INPUT ACCEPT [0:0]',
      '-A INPUT -j ACCEPT',
      'COMMIT',
      '*nat',
      ':PREROUTING ACCEPT [12:720]',
      ':INPUT ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [3:180]',
      '-A POSTROUTING -s 10.60.1.0/24 -o qg-40000003-dd -j SNAT --to-source 203.0.113.10',
      'COMMIT',
      '# Completed on Mon Nov 23 18:40:13 2026',
      '',
    ].join('\n');
    assert.deepEqual(canonicalNat(save), canonicalRendered(['-A POSTROUTING -s 10.60.1.0/24 -o qg-40000003-dd -j SNAT --to-source 203.0.113.10']));
    assert.deepEqual(canonicalNat(''), []);
  });
});
