// The network agent's metadata relay in front of the metadata service, as haproxy in a router
// or network namespace reaches it: over a unix socket, with X-Forwarded-For and the router or
// network id. The guest gets its own metadata whatever it claims to be; an address of no
// instance is a 404; a dead control plane or metadata service is a 503 or 502, never a crash.
// Also the control plane's side: metadata_lookup and what it refuses.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MetadataRelay } from '../../../src/agents/network/metadata-relay.js';
import { openBus } from '../../../src/core/bus/index.js';
import { RemoteError } from '../../../src/core/bus/bus.js';
import { createLogger } from '../../../src/core/log.js';
import { METADATA_LOOKUP, NETWORK_SERVER_TOPIC } from '../../../src/contracts/network-agent.js';
import { signInstanceId } from '../../../src/contracts/metadata.js';
import { buildScene, raw, type RawResponse, type Scene } from './helpers.js';

const log = createLogger('silent');

describe('metadata relay', { timeout: 120_000 }, () => {
  let scene: Scene;
  let dir: string;
  let relay: MetadataRelay;
  let socketPath: string;

  before(async () => {
    scene = await buildScene();
    dir = mkdtempSync(join(tmpdir(), 'kumo-relay-'));
    socketPath = join(dir, 'state', 'metadata.sock');
    relay = new MetadataRelay({
      socketPath,
      bus: scene.tc.cloud.bus,
      metadataUrl: scene.tc.cloud.metadataUrl,
      sharedSecret: scene.tc.cloud.config.metadata.sharedSecret as string,
      log,
    });
    await relay.start();
  });
  after(async () => {
    await relay?.stop();
    await scene?.tc.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A request as haproxy in the network's (or router's) namespace sends it. */
  const viaNetwork = (path: string, ip: string, extra: Record<string, string> = {}, networkId = scene.int.networkId) =>
    raw({ socketPath }, path, { 'x-forwarded-for': ip, 'x-neutron-network-id': networkId, ...extra });
  const viaRouter = (path: string, ip: string, extra: Record<string, string> = {}) =>
    raw({ socketPath }, path, { 'x-forwarded-for': ip, 'x-neutron-router-id': scene.routerId, ...extra });
  const okBody = (res: RawResponse): string => {
    assert.equal(res.status, 200, `HTTP ${res.status} ${res.body}`);
    return res.body;
  };
  const ec2Id = (uuid: string) => `i-${uuid.slice(0, 8)}`;

  describe('the control plane: metadata_lookup', () => {
    const lookup = (args: unknown) => scene.tc.cloud.bus.call({ topic: NETWORK_SERVER_TOPIC }, METADATA_LOOKUP, args, { timeoutMs: 5_000 });

    it('finds the instance by network, and by router through its interface networks', async () => {
      const expected = { instanceId: scene.web.id, projectId: scene.projectId };
      assert.deepEqual(await lookup({ networkId: scene.int.networkId, ip: scene.web.fixedIp }), expected);
      assert.deepEqual(await lookup({ routerId: scene.routerId, ip: scene.web.fixedIp }), expected);
      assert.deepEqual(await lookup({ networkId: scene.static.networkId, ip: scene.plain.fixedIp }), { instanceId: scene.plain.id, projectId: scene.projectId });
    });

    it('answers null for an address of no instance, or one not behind that router or on that network', async () => {
      assert.equal(await lookup({ networkId: scene.int.networkId, ip: '10.30.0.250' }), null);
      assert.equal(await lookup({ networkId: scene.int.networkId, ip: '10.30.0.1' }), null, "the router's own port is no instance");
      assert.equal(await lookup({ routerId: scene.routerId, ip: scene.plain.fixedIp }), null, 'static is not on the router');
      assert.equal(await lookup({ networkId: scene.static.networkId, ip: scene.web.fixedIp }), null);
      assert.equal(await lookup({ networkId: '00000000-0000-4000-8000-000000000000', ip: scene.web.fixedIp }), null);
      assert.equal(await lookup({ routerId: 'no-such-router', ip: scene.web.fixedIp }), null);
      assert.equal(await lookup({ networkId: scene.int.networkId, ip: '::1' }), null);
    });

    it('refuses malformed arguments with a message that says what is wrong', async () => {
      const cases: Array<[unknown, RegExp]> = [
        [undefined, /takes \{ ip, routerId \}/],
        [null, /takes \{ ip, routerId \}/],
        ['10.30.0.5', /takes \{ ip, routerId \}/],
        [[scene.int.networkId], /takes \{ ip, routerId \}/],
        [{ ip: scene.web.fixedIp }, /exactly one of routerId and networkId/],
        [{ routerId: scene.routerId, networkId: scene.int.networkId, ip: scene.web.fixedIp }, /exactly one of routerId and networkId/],
        [{ networkId: 42, ip: scene.web.fixedIp }, /networkId must be a non-empty string/],
        [{ networkId: '', ip: scene.web.fixedIp }, /networkId must be a non-empty string/],
        [{ routerId: 'r'.repeat(256), ip: scene.web.fixedIp }, /routerId must be a non-empty string of at most 255/],
        [{ networkId: scene.int.networkId }, /ip must be an IPv4 or IPv6 address/],
        [{ networkId: scene.int.networkId, ip: 167772161 }, /ip must be an IPv4 or IPv6 address/],
        [{ networkId: scene.int.networkId, ip: '10.30.0' }, /ip must be an IPv4 or IPv6 address, got "10.30.0"/],
        [{ networkId: scene.int.networkId, ip: '999.1.1.1' }, /ip must be/],
        [{ networkId: scene.int.networkId, ip: 'fe80::1%eth0' }, /ip must be/],
        [{ networkId: scene.int.networkId, ip: `${scene.web.fixedIp}, 10.0.0.1` }, /ip must be/],
      ];
      for (const [args, message] of cases) {
        await assert.rejects(lookup(args), (error: unknown) => {
          assert.ok(error instanceof RemoteError, String(error));
          assert.equal(error.remoteName, 'InvalidMetadataLookup');
          assert.match(error.remoteMessage, message, JSON.stringify(args));
          return true;
        });
      }
    });
  });

  describe('through the relay', () => {
    it('listens on the socket it was given', () => {
      assert.ok(existsSync(socketPath));
    });

    it("gives the guest its own metadata, on its network and behind its router", async () => {
      const { web } = scene;
      assert.equal(okBody(await viaNetwork('/latest/meta-data/instance-id', web.fixedIp)), ec2Id(web.id));
      assert.equal(okBody(await viaRouter('/latest/meta-data/instance-id', web.fixedIp)), ec2Id(web.id));
      const md = JSON.parse(okBody(await viaRouter('/openstack/latest/meta_data.json', web.fixedIp))) as Record<string, unknown>;
      assert.equal(md.uuid, web.id);
      assert.equal(okBody(await viaNetwork('/latest/meta-data/public-ipv4', web.fixedIp)), web.floatingIp);
      assert.equal(okBody(await viaNetwork('/latest/meta-data/public-keys/0/openssh-key', web.fixedIp)), web.publicKey);
      assert.equal(okBody(await viaNetwork('/', web.fixedIp)).split('\n').at(-1), 'latest');
      const plain = await viaNetwork('/openstack/latest/meta_data.json', scene.plain.fixedIp, {}, scene.static.networkId);
      assert.equal((JSON.parse(okBody(plain)) as Record<string, unknown>).uuid, scene.plain.id);
    });

    it('passes the content type and query through', async () => {
      const res = await viaNetwork('/openstack/latest/meta_data.json?x=1', scene.web.fixedIp);
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^application\/json/);
    });

    it('ignores who the guest claims to be: X-Instance-ID and friends, an extra X-Forwarded-For', async () => {
      const { web, plain } = scene;
      const secret = scene.tc.cloud.config.metadata.sharedSecret as string;
      const spoof = { 'x-instance-id': plain.id, 'x-tenant-id': scene.projectId, 'x-instance-id-signature': signInstanceId(secret, plain.id) };
      assert.equal(okBody(await viaNetwork('/latest/meta-data/instance-id', web.fixedIp, spoof)), ec2Id(web.id));
      assert.equal(okBody(await viaRouter('/openstack/latest/meta_data.json', web.fixedIp, spoof)).includes(plain.id), false);
      // haproxy appends the address it saw to whatever the guest sent.
      assert.equal(okBody(await viaNetwork('/latest/meta-data/instance-id', `${plain.fixedIp}, ${web.fixedIp}`)), ec2Id(web.id));
    });

    it('forwards a password post to the service', async () => {
      const { web } = scene;
      const post = await raw({ socketPath }, '/openstack/latest/password', { 'x-forwarded-for': web.fixedIp, 'x-neutron-network-id': scene.int.networkId, 'content-type': 'text/plain' }, 'POST', 'via-relay');
      assert.equal(post.status, 200, post.body);
      assert.equal(okBody(await viaNetwork('/openstack/latest/password', web.fixedIp)), 'via-relay');
      const again = await raw({ socketPath }, '/openstack/latest/password', { 'x-forwarded-for': web.fixedIp, 'x-neutron-network-id': scene.int.networkId }, 'POST', 'again');
      assert.equal(again.status, 409, 'the service answers, the relay passes it on');
    });

    it('404 for an address of no instance, or on the wrong network', async () => {
      for (const res of [
        await viaNetwork('/latest/meta-data/instance-id', '10.30.0.250'),
        await viaRouter('/latest/meta-data/instance-id', '10.30.0.250'),
        await viaNetwork('/latest/meta-data/instance-id', scene.web.fixedIp, {}, scene.static.networkId),
      ]) {
        assert.equal(res.status, 404, res.body);
        assert.match(String(res.headers['content-type']), /^text\/plain/);
        assert.match(res.body, /^404 Not Found/);
      }
    });

    it('400 without X-Forwarded-For or a router or network id, or with an address that is none', async () => {
      const notAddress = await viaNetwork('/latest/meta-data/', 'not-an-address');
      assert.equal(notAddress.status, 400);
      assert.match(notAddress.body, /X-Forwarded-For is not an IP address/);
      const noFor = await raw({ socketPath }, '/latest/meta-data/', { 'x-neutron-network-id': scene.int.networkId });
      assert.equal(noFor.status, 400);
      assert.match(noFor.body, /X-Forwarded-For header is missing/);
      const noWhere = await raw({ socketPath }, '/latest/meta-data/', { 'x-forwarded-for': scene.web.fixedIp });
      assert.equal(noWhere.status, 400);
      assert.match(noWhere.body, /X-Neutron-Router-ID or X-Neutron-Network-ID header is missing/);
    });
  });

  describe('when something is down', () => {
    it('502 when the metadata service cannot be reached', async () => {
      const closed = await closedPort();
      const path = join(dir, 'down.sock');
      const down = new MetadataRelay({ socketPath: path, bus: scene.tc.cloud.bus, metadataUrl: `http://127.0.0.1:${closed}`, sharedSecret: 'x', log });
      await down.start();
      try {
        const res = await raw({ socketPath: path }, '/latest/meta-data/', { 'x-forwarded-for': scene.web.fixedIp, 'x-neutron-network-id': scene.int.networkId });
        assert.equal(res.status, 502);
        assert.match(res.body, /could not be reached/);
      } finally {
        await down.stop();
      }
    });

    it('503 when the control plane does not answer, and serves again once it does', async () => {
      const lonely = await openBus('memory:');
      const path = join(dir, 'lonely.sock');
      const relayOnLonelyBus = new MetadataRelay({ socketPath: path, bus: lonely, metadataUrl: scene.tc.cloud.metadataUrl, sharedSecret: 'x', log, timeoutMs: 200 });
      await relayOnLonelyBus.start();
      try {
        const res = await raw({ socketPath: path }, '/latest/meta-data/', { 'x-forwarded-for': scene.web.fixedIp, 'x-neutron-network-id': scene.int.networkId });
        assert.equal(res.status, 503);
        assert.match(res.body, /not available/);
      } finally {
        await relayOnLonelyBus.stop();
        await lonely.close();
      }
    });

    it('403 from the service passes through when the secrets differ', async () => {
      const path = join(dir, 'wrong-secret.sock');
      const wrong = new MetadataRelay({ socketPath: path, bus: scene.tc.cloud.bus, metadataUrl: scene.tc.cloud.metadataUrl, sharedSecret: 'not-the-secret', log });
      await wrong.start();
      try {
        const res = await raw({ socketPath: path }, '/latest/meta-data/', { 'x-forwarded-for': scene.web.fixedIp, 'x-neutron-network-id': scene.int.networkId });
        assert.equal(res.status, 403);
      } finally {
        await wrong.stop();
      }
    });
  });

  describe('the socket file', () => {
    it('replaces a stale socket at start and removes its own at stop', async () => {
      const path = join(dir, 'stale.sock');
      const stale: Server = createServer();
      await new Promise<void>((resolve) => stale.listen(path, resolve));
      const fresh = new MetadataRelay({ socketPath: path, bus: scene.tc.cloud.bus, metadataUrl: scene.tc.cloud.metadataUrl, sharedSecret: scene.tc.cloud.config.metadata.sharedSecret as string, log });
      await fresh.start();
      try {
        assert.equal(okBody(await raw({ socketPath: path }, '/latest/meta-data/instance-id', { 'x-forwarded-for': scene.web.fixedIp, 'x-neutron-network-id': scene.int.networkId })), ec2Id(scene.web.id));
      } finally {
        await fresh.stop();
        await new Promise<void>((resolve) => stale.close(() => resolve()));
      }
      assert.equal(existsSync(path), false);
    });

    it('refuses to remove a file that is not a socket', async () => {
      const path = join(dir, 'precious.txt');
      writeFileSync(path, 'keep me');
      const relayOnFile = new MetadataRelay({ socketPath: path, bus: scene.tc.cloud.bus, metadataUrl: scene.tc.cloud.metadataUrl, sharedSecret: 'x', log });
      await assert.rejects(relayOnFile.start(), /is not a socket/);
      assert.ok(existsSync(path));
    });
  });
});

/** A port nobody listens on: the kernel picks it and it is released at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
