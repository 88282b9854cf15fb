// A real instance on a tenant network, as the issue asks for it: `server create` on the qemu
// driver starts kumo-tiny in QEMU (TCG) inside the lab's host namespace, the network agent
// plugs its tap (named after its port) into the network's bridge, and the guest gets its fixed
// IP by DHCP, its (EC2) instance id and user data from 169.254.169.254 (isolated metadata through the
// DHCP namespace), and answers ping. Delete takes the QEMU and the tap away.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runningPid } from '../../src/core/host/daemons.js';
import { ec2InstanceId } from '../../src/services/metadata/content.js';
import { api, type TestCloud } from '../helpers/cloud.js';
import { guestImage, qemuSuitePrerequisites } from '../helpers/guest-image.js';
import { NetLab, netlabSkipReason } from '../helpers/netlab.js';
import { boot, nova, waitForServer } from '../services/compute/helpers.js';
import { cloudInLab, dhcpNs, NeutronClient, until, type Body } from './helpers/dataplane.js';

const qemu = await qemuSuitePrerequisites();
const skip = qemu.skip || netlabSkipReason(['ip', 'bridge', 'dnsmasq', 'iptables', 'busybox', 'haproxy']) || false;

describe('a QEMU guest on a tenant network (linuxbridge in a lab host, TCG)', { skip, timeout: 600_000 }, () => {
  const lab = new NetLab();
  let tc: TestCloud;
  let token: string;
  let image: string;
  let net: [Body, Body];
  const servers: string[] = [];

  const stateDir = () => tc.cloud.config.dataplane.stateDir;
  const pidOf = (id: string) => runningPid(join(stateDir(), 'qemu', id, 'qemu.pid'), join(stateDir(), 'qemu', id, 'qmp.sock'));

  before(async () => {
    if (qemu.missing) throw new Error(`CI is set and QEMU is installed, but this is missing: ${qemu.missing}`);
    const file = await guestImage();
    const host = await lab.namespace('host');
    // Tenant networks are VXLAN by default: the host needs its tunnel address.
    await lab.run(['ip', '-n', host, 'addr', 'add', '10.251.0.1/32', 'dev', 'lo']);
    tc = await cloudInLab(lab, host, { tunnelIp: '10.251.0.1', env: { KUMO_COMPUTE_DRIVER: 'qemu', KUMO_ACCEL: 'tcg', KUMO_QEMU_STOP_TIMEOUT: '30' } });
    token = await tc.token('admin');
    const created = await api(tc.url, 'POST', '/image/v2/images', token, { name: 'kumo-tiny', disk_format: 'qcow2', container_format: 'bare', visibility: 'public' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    image = created.json.id as string;
    const put = await fetch(`${tc.url}/image/v2/images/${image}/file`, {
      method: 'PUT',
      headers: { 'x-auth-token': token, 'content-type': 'application/octet-stream' },
      body: readFileSync(file),
    });
    assert.equal(put.status, 204);
    const neutron = new NeutronClient(tc, token);
    net = await neutron.tenantNetwork('int', '10.91.1.0/24');
    // As users do: the default group lets ICMP in, so the network (the DHCP namespace) can ping.
    const groups = await neutron.call('GET', `/security-groups?name=default&project_id=${net[0].project_id}`);
    await neutron.call('POST', '/security-group-rules', {
      security_group_rule: { security_group_id: groups[0].id, direction: 'ingress', ethertype: 'IPv4', protocol: 'icmp' },
    });
  });

  after(async () => {
    for (const id of servers) {
      await nova(tc.url, 'DELETE', `/servers/${id}`, token).catch(() => undefined);
      await waitForServer(tc.url, token, id, ['DELETED'], 60_000).catch(() => undefined);
    }
    await tc?.stop();
    // QEMU runs in the lab's host namespace: cleanup kills whatever is left there by pid.
    await lab.cleanup();
  });

  it('boots, gets its fixed IP by DHCP and its metadata, runs its user data and answers ping', async (t) => {
    const started = Date.now();
    const userData = Buffer.from('#!/bin/sh\necho "kumo-test user data ran on $(hostname)"\n').toString('base64');
    const created = await boot(tc.url, token, { name: 'net-vm', imageRef: image, flavorRef: '42', networks: [{ uuid: net[0].id }], user_data: userData });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const id = created.json.server.id as string;
    servers.push(id);
    const server = await waitForServer(tc.url, token, id, ['ACTIVE', 'ERROR'], 120_000);
    assert.equal(server.status, 'ACTIVE', JSON.stringify(server.fault));
    const ip = server.addresses.int[0].addr as string;
    const ready = await until(
      'the guest ready line',
      async () => {
        const output = await nova(tc.url, 'POST', `/servers/${id}/action`, token, { 'os-getConsoleOutput': {} });
        return /^kumo-tiny ready (\S+) (\S+)\r?$/m.exec(String(output.json.output)) ?? undefined;
      },
      120_000,
    );
    t.diagnostic(`POST /servers to "${ready[0].trim()}": ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(ready[1], ip, 'the fixed IP, by DHCP');
    assert.equal(ready[2], ec2InstanceId(id), "the instance's EC2 id, from the metadata service");
    const output = String((await nova(tc.url, 'POST', `/servers/${id}/action`, token, { 'os-getConsoleOutput': {} })).json.output);
    assert.match(output, /^kumo-test user data ran on net-vm\r?$/m);
    assert.match(output, /^kumo-tiny user-data exit 0\r?$/m);
    assert.ok(await lab.ping(dhcpNs(lab, net[0].id as string), ip), 'the guest answers ping on its network');
  });

  it('deletes the server: no QEMU, no tap', async () => {
    const id = servers[0] as string;
    const ports = await api(tc.url, 'GET', `/networking/v2.0/ports?device_id=${id}`, token);
    const tap = `tap${String(ports.json.ports[0].id).slice(0, 11)}`;
    const host = `${lab.prefix}host`;
    assert.ok((await lab.tryRun(['ip', '-n', host, 'link', 'show', 'dev', tap])).ok, 'the tap is there while the server is');
    const pid = pidOf(id);
    assert.ok(pid !== undefined);
    assert.equal((await nova(tc.url, 'DELETE', `/servers/${id}`, token)).status, 204);
    await waitForServer(tc.url, token, id, ['DELETED'], 60_000);
    assert.equal(pidOf(id), undefined);
    assert.equal((await lab.tryRun(['ip', '-n', host, 'link', 'show', 'dev', tap])).ok, false, 'no tap');
  });
});
