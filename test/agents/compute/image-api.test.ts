// A compute host's image data over the Image API (issue 15): downloads into its own cache and
// snapshot uploads go over HTTP as the `nova` service user, never through the controller's disk.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ImageApiTransfer } from '../../../src/agents/compute/image-api.js';
import { ServiceSession, type CloudAuth } from '../../../src/core/service-session.js';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';

async function collect(data: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of data) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('image data over the Image API as the nova service user', () => {
  let cloud: TestCloud;
  let auth: CloudAuth;

  before(async () => {
    cloud = await startTestCloud();
    const password = cloud.cloud.createdCredentials.novaPassword;
    assert.ok(password, 'the first start made the nova service user');
    auth = { authUrl: `${cloud.url}/identity`, username: 'nova', password, projectName: 'service', userDomainName: 'Default', projectDomainName: 'Default' };
  });
  after(() => cloud?.stop());

  it("downloads a project's private image with its checksum, and uploads a snapshot into it", async () => {
    const demo = await cloud.token('demo');
    const bytes = Buffer.from('a private disk image of the demo project '.repeat(1000));
    const created = await api(cloud.url, 'POST', '/image/v2/images', demo, { name: 'private', disk_format: 'raw', container_format: 'bare' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.json.id as string;
    const put = await fetch(`${cloud.url}/image/v2/images/${id}/file`, { method: 'PUT', headers: { 'x-auth-token': demo, 'content-type': 'application/octet-stream' }, body: bytes });
    assert.equal(put.status, 204);

    const transfer = new ImageApiTransfer(new ServiceSession(auth));
    const got = await transfer.download('ignored', id);
    assert.equal(got.diskFormat, 'raw');
    assert.equal(got.checksum, createHash('md5').update(bytes).digest('hex'));
    assert.deepEqual(await collect(got.data), bytes);

    const snapshot = await api(cloud.url, 'POST', '/image/v2/images', demo, { name: 'snap', disk_format: 'qcow2', container_format: 'bare' });
    const snapId = snapshot.json.id as string;
    const data = Buffer.from('snapshot data '.repeat(5000));
    await transfer.upload('ignored', snapId, (async function* () {
      yield data.subarray(0, 1000);
      yield data.subarray(1000);
    })());
    const shown = await api(cloud.url, 'GET', `/image/v2/images/${snapId}`, demo);
    assert.equal(shown.json.status, 'active');
    assert.equal(shown.json.size, data.length);
    const back = await fetch(`${cloud.url}/image/v2/images/${snapId}/file`, { headers: { 'x-auth-token': demo } });
    assert.deepEqual(Buffer.from(await back.arrayBuffer()), data);

    await transfer.discard('ignored', snapId);
    assert.equal((await api(cloud.url, 'GET', `/image/v2/images/${snapId}`, demo)).status, 404);
  });

  it('refuses an image that is not active, and a wrong password', async () => {
    const demo = await cloud.token('demo');
    const queued = await api(cloud.url, 'POST', '/image/v2/images', demo, { name: 'empty', disk_format: 'raw', container_format: 'bare' });
    const transfer = new ImageApiTransfer(new ServiceSession(auth));
    await assert.rejects(transfer.download('ignored', queued.json.id as string), /is queued/);
    await assert.rejects(transfer.download('ignored', '../../etc'), /not an image id/);
    const wrong = new ImageApiTransfer(new ServiceSession({ ...auth, password: 'wrong' }));
    await assert.rejects(wrong.download('ignored', queued.json.id as string), /Keystone refused nova@service: 401/);
  });
});
