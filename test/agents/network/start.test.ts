// Choosing the dataplane and reading --physnet / KUMO_PHYSNETS: bad input is refused with a
// message that says what to write instead.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { chooseDataplane, chooseTunnelIp, linuxBridgeBlockers, publicBridgeFor } from '../../../src/agents/network/start.js';
import { loadConfig, parsePhysnets } from '../../../src/core/config.js';

describe('dataplane configuration', () => {
  it('reads physical interface mappings', () => {
    assert.deepEqual(parsePhysnets('physnet1:eth1, physnet2:ens3'), { physnet1: 'eth1', physnet2: 'ens3' });
    assert.deepEqual(parsePhysnets(''), {});
  });

  it('refuses malformed or repeated mappings', () => {
    for (const bad of ['physnet1', 'physnet1:', ':eth1', 'physnet1:eth1;rm', 'physnet1:an-interface-name-too-long', 'physnet1:eth1,physnet1:eth2']) {
      assert.throws(() => parsePhysnets(bad), /physnet|mapped twice/, bad);
    }
  });

  it('refuses an unknown dataplane, and linuxbridge where it cannot run, naming what is missing', () => {
    assert.throws(() => chooseDataplane(loadConfig({ dataDir: '/tmp/kumo-x' }, { KUMO_DATAPLANE: 'ovs' })), /use linuxbridge or noop/);
    assert.equal(chooseDataplane(loadConfig({ dataDir: '/tmp/kumo-x' }, { KUMO_DATAPLANE: 'noop' })).name, 'noop');
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      assert.ok(linuxBridgeBlockers().includes('dnsmasq'));
      assert.throws(() => chooseDataplane(loadConfig({ dataDir: '/tmp/kumo-x' }, { KUMO_DATAPLANE: 'linuxbridge' })), /--dataplane linuxbridge needs .*dnsmasq/);
      const fallback = chooseDataplane(loadConfig({ dataDir: '/tmp/kumo-x' }, {}));
      assert.equal(fallback.name, 'noop');
      assert.match(fallback.reason, /linuxbridge needs .*iptables/);
    } finally {
      process.env.PATH = saved;
    }
  });

  it('maps physnet public to the host bridge unless the operator mapped it, with the uplink named', () => {
    const bridged = publicBridgeFor(loadConfig({ dataDir: '/tmp/kumo-x' }, { KUMO_PUBLIC_INTERFACE: 'eth0' }));
    assert.equal(bridged?.physnet, 'public');
    const config = loadConfig({ dataDir: '/tmp/kumo-x' }, {});
    assert.equal(bridged?.bridge, `brex-${config.cloudId}`, "named by the cloud's id, as its other host objects are marked");
    assert.equal(bridged?.uplink, 'eth0');
    const other = publicBridgeFor(loadConfig({ dataDir: '/tmp/kumo-y' }, {}));
    assert.notEqual(other?.bridge, bridged?.bridge, 'another data directory, another cloud, another bridge');
    assert.equal(other?.uplink, undefined);
    assert.equal(publicBridgeFor(loadConfig({ dataDir: '/tmp/kumo-x' }, { KUMO_PHYSNETS: 'public:eth1' })), undefined);
    assert.throws(() => loadConfig({}, { KUMO_PUBLIC_INTERFACE: 'eth0;reboot' }), /KUMO_PUBLIC_INTERFACE=eth0;reboot: not an interface name/);
  });

  it('keeps a given tunnel address and needs none with the noop dataplane', async () => {
    const given = loadConfig({ dataDir: '/tmp/kumo-x' }, { KUMO_TUNNEL_IP: '192.0.2.10' });
    assert.equal(await chooseTunnelIp(given), '192.0.2.10 (given)');
    const noop = loadConfig({ dataDir: '/tmp/kumo-x' }, { KUMO_DATAPLANE: 'noop' });
    assert.equal(await chooseTunnelIp(noop), undefined);
    assert.equal(noop.dataplane.tunnelIp, undefined);
  });
});
