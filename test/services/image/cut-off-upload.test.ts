// Uploads that do not end well: a client killed half-way (declared length or chunked), an
// image deleted while its data arrives, two uploads racing for one image. Whatever happens,
// the image ends in a state Glance knows and the store keeps no stray file.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { bytes, createImage, download, filesOf, glance, md5, partialFileWritten, putData, rawUpload, waitFor, waitForStatus } from './helpers.js';

const MIB = 1024 * 1024;

describe('image uploads cut off, raced and orphaned', { timeout: 60_000 }, () => {
  let tc: TestCloud;
  let url: string;
  let demo: string;

  before(async () => {
    tc = await startTestCloud();
    url = tc.url;
    demo = await tc.token('demo');
  });

  after(async () => {
    await tc?.stop();
  });

  const newImage = async (name: string) => (await createImage(url, demo, { name, disk_format: 'raw', container_format: 'bare' })).id as string;

  const partialWritten = (id: string, dir = 'images') => partialFileWritten(tc.dataDir, id, dir);

  /** Waits (briefly) for the store directory to hold nothing of the image, and says what is left otherwise. */
  async function noFilesOf(id: string, dir = 'images'): Promise<void> {
    await waitFor(`no files of ${id} in ${dir}`, async () => (filesOf(tc.dataDir, id, dir).length === 0 ? true : undefined), 2000).catch(() => {
      assert.deepEqual(filesOf(tc.dataDir, id, dir), [], `files of ${id} left in DATA/${dir}`);
    });
  }

  for (const framing of [64 * MIB, 'chunked'] as const) {
    const label = framing === 'chunked' ? 'chunked' : 'with a Content-Length';
    it(`puts the image back to queued with nothing stored when the client dies half-way (${label})`, async () => {
      const id = await newImage(`cut-${framing}`);
      const upload = rawUpload(url, demo, id, framing);
      for (let i = 0; i < 4; i++) await upload.write(bytes(MIB, i + 1));
      await partialWritten(id);
      assert.equal((await glance(url, 'GET', `/v2/images/${id}`, demo)).json.status, 'saving');

      upload.req.destroy(); // the client is killed: the socket closes with the upload unfinished
      await assert.rejects(upload.response);

      const image = await waitForStatus(url, demo, id, 'queued');
      assert.equal(image.size, null);
      assert.equal(image.checksum, null);
      const file = await download(url, demo, id);
      assert.equal(file.status, 204);
      assert.equal(file.data.length, 0);
      await noFilesOf(id);

      // The image is not spoiled: a complete upload afterwards works.
      const data = bytes(2 * MIB, 99);
      assert.equal((await putData(url, demo, id, data)).status, 204);
      const active = (await glance(url, 'GET', `/v2/images/${id}`, demo)).json;
      assert.equal(active.status, 'active');
      assert.equal(active.checksum, md5(data));
      assert.deepEqual(filesOf(tc.dataDir, id), [id]);
    });
  }

  it('puts a staging upload cut off half-way back to queued with nothing staged', async () => {
    const id = await newImage('cut-stage');
    const upload = rawUpload(url, demo, id, 32 * MIB, 'stage');
    for (let i = 0; i < 3; i++) await upload.write(bytes(MIB, i + 7));
    await partialWritten(id, 'image-staging');
    assert.equal((await glance(url, 'GET', `/v2/images/${id}`, demo)).json.status, 'uploading');
    upload.req.destroy();
    await assert.rejects(upload.response);
    await waitForStatus(url, demo, id, 'queued');
    await noFilesOf(id, 'image-staging');
    await noFilesOf(id);
  });

  it('answers 410 and keeps nothing when the image is deleted while its data arrives', async () => {
    const id = await newImage('deleted-mid-upload');
    const total = 8 * MIB;
    const upload = rawUpload(url, demo, id, total);
    for (let i = 0; i < 4; i++) await upload.write(bytes(MIB, i + 20));
    await partialWritten(id);

    const deleted = await glance(url, 'DELETE', `/v2/images/${id}`, demo);
    assert.equal(deleted.status, 204);
    assert.deepEqual(filesOf(tc.dataDir, id), [], 'the delete removed the partial file at once');
    for (let i = 4; i < 8; i++) await upload.write(bytes(MIB, i + 20));
    upload.end();

    const answer = await upload.response;
    assert.equal(answer.status, 410, `upload answer: ${answer.status} ${answer.body}`);
    const body = JSON.parse(answer.body) as Record<string, unknown>;
    assert.equal(body.code, '410 Gone');
    assert.equal((await glance(url, 'GET', `/v2/images/${id}`, demo)).status, 404);
    await noFilesOf(id);
  });

  it('answers 410 and keeps nothing when the image is deleted while its data is being staged', async () => {
    const id = await newImage('deleted-mid-stage');
    const upload = rawUpload(url, demo, id, 'chunked', 'stage');
    for (let i = 0; i < 2; i++) await upload.write(bytes(MIB, i + 40));
    await partialWritten(id, 'image-staging');
    assert.equal((await glance(url, 'DELETE', `/v2/images/${id}`, demo)).status, 204);
    assert.deepEqual(filesOf(tc.dataDir, id, 'image-staging'), [], 'the delete removed the partial file at once');
    await upload.write(bytes(MIB, 42));
    upload.end();
    assert.equal((await upload.response).status, 410);
    await noFilesOf(id, 'image-staging');
  });

  it('lets one of two overlapping uploads win and answers 409 to the other', async () => {
    const id = await newImage('overlap');
    const first = rawUpload(url, demo, id, 4 * MIB);
    const firstData = bytes(4 * MIB, 50);
    await first.write(firstData.subarray(0, MIB));
    await partialWritten(id);

    const second = await putData(url, demo, id, bytes(3 * MIB, 51));
    assert.equal(second.status, 409, JSON.stringify(second.body));
    assert.equal(second.json.code, '409 Conflict');

    await first.write(firstData.subarray(MIB));
    first.end();
    assert.equal((await first.response).status, 204);
    const image = (await glance(url, 'GET', `/v2/images/${id}`, demo)).json;
    assert.equal(image.status, 'active');
    assert.equal(image.checksum, md5(firstData));
    assert.deepEqual(filesOf(tc.dataDir, id), [id]);
  });

  it('lets exactly one of two simultaneous uploads succeed', async () => {
    for (let round = 0; round < 5; round++) {
      const id = await newImage(`race-${round}`);
      const datas = [bytes(MIB + round, 60 + round), bytes(MIB + round, 70 + round)];
      const answers = await Promise.all(datas.map((data) => putData(url, demo, id, data)));
      const statuses = answers.map((a) => a.status).sort();
      assert.deepEqual(statuses, [204, 409], `round ${round}: ${JSON.stringify(answers.map((a) => [a.status, a.body]))}`);
      const winner = datas[answers.findIndex((a) => a.status === 204)]!;
      const image = (await glance(url, 'GET', `/v2/images/${id}`, demo)).json;
      assert.equal(image.status, 'active');
      assert.equal(image.checksum, md5(winner));
      const file = await download(url, demo, id);
      assert.ok(file.data.equals(winner), 'the stored data is the winner\'s');
      assert.deepEqual(filesOf(tc.dataDir, id), [id]);
    }
  });
});
