// What tells one cloud's host objects from another's, without root: the device mark, the
// namespace prefix, chain and set names that fit iptables' and ipset's limits, and the
// FORWARD/INPUT jumps of two clouds standing side by side without either moving the other's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FirewallNames } from '../../../src/agents/network/dataplane/linuxbridge/firewall-rules.js';
import { parseIpsetSave } from '../../../src/agents/network/dataplane/linuxbridge/firewall-ipsets.js';
import { parseSave, planTable } from '../../../src/agents/network/dataplane/linuxbridge/firewall-tables.js';
import { isOtherClouds, isOurs, type Link } from '../../../src/agents/network/dataplane/linuxbridge/links.js';
import { Namespaces } from '../../../src/agents/network/dataplane/linuxbridge/names.js';
import { tapOfPort } from '../../../src/agents/compute/virt/qemu/taps.js';
import { bridgeName, cloudPrefix, deviceMark, tapName } from '../../../src/contracts/host-devices.js';
import { cloudIdOf, loadConfig } from '../../../src/core/config.js';

const A = 'a1b2c3';
const B = '0f0e0d';
const PORT = 'ffffffff-ffff-4fff-8fff-ffffffffffff';
const GROUP = 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee';

describe('what a cloud owns on a host', () => {
  it('gives each data directory its own cloud id, the same every time', () => {
    const one = loadConfig({ dataDir: '/srv/kumo/one' }, {});
    assert.match(one.cloudId, /^[0-9a-f]{6}$/);
    assert.equal(one.cloudId, cloudIdOf('/srv/kumo/one'));
    assert.equal(loadConfig({ dataDir: '/srv/kumo/one' }, {}).cloudId, one.cloudId);
    assert.notEqual(loadConfig({ dataDir: '/srv/kumo/two' }, {}).cloudId, one.cloudId);
    assert.ok(one.dataplane.stateDir.startsWith(`/run/kumo/${one.cloudId}`), 'the state directory is named by the same hash');
  });

  it('marks devices and names namespaces by cloud, and refuses what is not a cloud id', () => {
    assert.equal(deviceMark(A), `kumo:${A}`);
    const mine: Link = { ifname: 'brq0123456789a', ifindex: 1, flags: [], mtu: 1500, ifalias: `kumo:${A}` };
    const theirs: Link = { ...mine, ifalias: `kumo:${B}` };
    const nobodys: Link = { ...mine, ifalias: 'uplink to the rack' };
    assert.ok(isOurs(mine, A) && !isOtherClouds(mine, A));
    assert.ok(!isOurs(theirs, A) && isOtherClouds(theirs, A));
    assert.ok(!isOurs(nobodys, A) && !isOtherClouds(nobodys, A));
    assert.ok(!isOurs({ ...mine, ifalias: undefined }, A));
    const namespaces = new Namespaces(cloudPrefix(A));
    assert.equal(namespaces.dhcp(PORT), `kumo-${A}-qdhcp-${PORT}`);
    assert.deepEqual(namespaces.owned(`kumo-${A}-qrouter-${PORT}`), { kind: 'router', id: PORT });
    assert.equal(namespaces.owned(`kumo-${B}-qrouter-${PORT}`), undefined, "another cloud's router namespace");
    assert.equal(namespaces.owned(`qrouter-${PORT}`), undefined, 'a namespace of no cloud');
    for (const bad of ['', 'A1B2C3', 'a1b2c', 'a1b2c3d', 'a1b2c;']) assert.throws(() => deviceMark(bad), /not a cloud id/);
  });

  it("names a port's tap and a network's bridge as Neutron does, the same for the compute driver and the dataplane", () => {
    assert.equal(tapName(PORT), 'tapffffffff-ff');
    assert.equal(bridgeName(GROUP), 'brqeeeeeeee-ee');
    assert.equal(tapOfPort(PORT), tapName(PORT), 'QEMU opens the tap the network agent plugs');
    for (const bad of ['', 'short', 'a b c d e f g h', `${PORT};x`]) assert.throws(() => tapName(bad), /not a valid resource id/, bad);
  });

  it('names chains and sets within iptables and ipset limits, and owns only its own', () => {
    const names = new FirewallNames(A);
    assert.ok(names.top.startsWith(cloudPrefix(A)), 'chains carry the prefix namespaces carry');
    for (const chain of [names.top, names.sg, names.fallback, names.hooks.INPUT, names.ingress(PORT), names.egress(PORT), names.spoof(PORT)]) {
      assert.ok(chain.length <= 28, `${chain} fits iptables' 28 characters`);
      assert.ok(names.ownedChain.test(chain), chain);
      assert.ok(!new FirewallNames(B).ownedChain.test(chain), `${chain} is not B's`);
    }
    for (const family of [4, 6] as const) {
      const set = names.set(family, GROUP);
      for (const name of [set, names.swapTwin(set)]) {
        assert.ok(name.length <= 31, `${name} fits ipset's 31 characters`);
        assert.ok(names.ownedSet.test(name), name);
        assert.ok(!new FirewallNames(B).ownedSet.test(name));
      }
    }
    const saved = parseIpsetSave(`create ${names.set(4, GROUP)} hash:net family inet\ncreate ${new FirewallNames(B).set(4, GROUP)} hash:net family inet\n`, names);
    assert.deepEqual([...saved.keys()], [names.set(4, GROUP)]);
  });

  it("keeps its jump among other clouds' at the top of FORWARD without moving theirs, and moves it above anything else", () => {
    const a = new FirewallNames(A);
    const b = new FirewallNames(B);
    const save = (forward: string[]) =>
      ['*filter', ':FORWARD ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', `:${a.top} - [0:0]`, `:${a.hooks.INPUT} - [0:0]`, `:${b.top} - [0:0]`, ...forward.map((r) => `-A FORWARD ${r}`), `-A INPUT -j ${b.hooks.INPUT}`, `-A INPUT -j ${a.hooks.INPUT}`, 'COMMIT'].join('\n');
    const desired = new Map([[a.top, ['-j RETURN']], [a.hooks.INPUT, ['-j RETURN']]]);
    // B inserted its jump above A's after A did: both stay where they are.
    const settled = parseSave(save([`-j ${b.top}`, `-j ${a.top}`, '-j bystander']), a);
    assert.deepEqual(settled.chains.get(a.top), [], "B's chains are not A's");
    assert.ok(!settled.chains.has(b.top));
    const change = planTable(4, { ...settled, chains: new Map([[a.top, ['-j RETURN']], [a.hooks.INPUT, ['-j RETURN']]]) }, desired, a);
    assert.equal(change.input, undefined, JSON.stringify(change));
    // Something not a cloud's jump above A's: A's goes back to the top (B's is never named).
    const below = parseSave(save(['-j bystander', `-j ${a.top}`, `-j ${b.top}`]), a);
    const moved = planTable(4, { ...below, chains: new Map([[a.top, ['-j RETURN']], [a.hooks.INPUT, ['-j RETURN']]]) }, desired, a);
    assert.ok(moved.input?.includes(`-D FORWARD -j ${a.top}\n-I FORWARD 1 -j ${a.top}`), moved.input);
    assert.ok(!moved.input?.includes(b.top), "B's jump and chain are never named");
  });
});
