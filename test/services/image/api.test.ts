// Glance v2 over raw HTTP against the whole cloud in this process: shapes, filters, paging,
// data, actions, tags, members, visibility rules, glance-direct import, info documents and
// the Keystone unified limits the image service enforces.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import {
  assertGlanceError,
  bytes,
  createImage,
  download,
  filesOf,
  glance,
  IMAGE,
  md5,
  patchImage,
  projectId,
  projectWithMember,
  putData,
  setImageLimit,
  sha512,
  upload,
  waitForStatus,
  type ProjectUser,
} from './helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const GLANCE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

describe('image API', { timeout: 120_000 }, () => {
  let tc: TestCloud;
  let url: string;
  let admin: string;
  let demo: string;
  let adminProject: string;
  let demoProject: string;
  /** A third project that is neither owner nor member of anything it did not create. */
  let other: ProjectUser;

  before(async () => {
    tc = await startTestCloud();
    url = tc.url;
    admin = await tc.token('admin');
    demo = await tc.token('demo');
    adminProject = await projectId(url, admin, 'admin');
    demoProject = await projectId(url, admin, 'demo');
    other = await projectWithMember(url, admin, 'outsider');
  });

  after(async () => {
    await tc?.stop();
  });

  /** Ids of a list answer, in order. */
  async function listIds(token: string, query: string): Promise<string[]> {
    const res = await glance(url, 'GET', `/v2/images?${query}`, token);
    assert.equal(res.status, 200, `GET /v2/images?${query}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    return (res.json.images as Array<{ id: string }>).map((i) => i.id);
  }

  describe('create, show, list, update, delete', () => {
    it('creates an image with Glance\'s shape, a Location header and custom properties', async () => {
      const res = await glance(url, 'POST', '/v2/images', demo, {
        name: 'shape',
        disk_format: 'qcow2',
        container_format: 'bare',
        min_ram: 512,
        tags: ['b', 'a'],
        os_distro: 'debian',
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const image = res.json;
      assert.match(image.id, UUID);
      // Tags are a set in Glance: no order is promised.
      image.tags.sort();
      assert.equal(res.headers.get('location')?.endsWith(`/v2/images/${image.id}`), true, `location ${res.headers.get('location')}`);
      assert.ok(res.headers.get('x-openstack-request-id'), 'request id header');
      assert.equal(res.headers.get('openstack-image-import-methods'), 'glance-direct', 'import methods header (API 2.6)');
      assert.deepEqual(
        { ...image, created_at: undefined, updated_at: undefined },
        {
          id: image.id,
          name: 'shape',
          status: 'queued',
          visibility: 'shared',
          protected: false,
          os_hidden: false,
          checksum: null,
          os_hash_algo: null,
          os_hash_value: null,
          owner: demoProject,
          size: null,
          virtual_size: null,
          container_format: 'bare',
          disk_format: 'qcow2',
          min_ram: 512,
          min_disk: 0,
          tags: ['a', 'b'],
          os_distro: 'debian',
          self: `/v2/images/${image.id}`,
          file: `/v2/images/${image.id}/file`,
          schema: '/v2/schemas/image',
          created_at: undefined,
          updated_at: undefined,
        },
      );
      assert.match(image.created_at, GLANCE_TIME);
      assert.match(image.updated_at, GLANCE_TIME);

      const shown = await glance(url, 'GET', `/v2/images/${image.id}`, demo);
      assert.equal(shown.status, 200);
      shown.json.tags.sort();
      assert.deepEqual(shown.json, image);
    });

    it('creates an image with the id asked for, and refuses the same id twice with 409', async () => {
      const id = randomUUID();
      const first = await createImage(url, demo, { id, name: 'given-id' });
      assert.equal(first.id, id);
      const again = await glance(url, 'POST', '/v2/images', demo, { id, name: 'given-id' });
      assertGlanceError(again, 409);
    });

    it('creates a nameless image from an empty body', async () => {
      const image = await createImage(url, demo, {});
      assert.equal(image.name, null);
      assert.equal(image.disk_format, null);
      assert.equal(image.container_format, null);
    });

    it('lists images with first and schema links', async () => {
      const image = await createImage(url, demo, { name: 'listed' });
      const res = await glance(url, 'GET', '/v2/images', demo);
      assert.equal(res.status, 200);
      assert.ok(Array.isArray(res.json.images));
      assert.ok(String(res.json.first).startsWith('/v2/images'), `first: ${res.json.first}`);
      assert.equal(res.json.schema, '/v2/schemas/images');
      const listed = (res.json.images as Array<Record<string, unknown>>).find((i) => i.id === image.id);
      assert.deepEqual(listed, image);
    });

    it('updates with a JSON patch: replace, add and remove, core and custom attributes', async () => {
      const image = await createImage(url, demo, { name: 'before', os_distro: 'debian', hw_disk_bus: 'virtio' });
      await new Promise((r) => setTimeout(r, 1100)); // timestamps have second precision
      const res = await patchImage(url, demo, image.id, [
        { op: 'replace', path: '/name', value: 'after' },
        { op: 'add', path: '/os_version', value: '12' },
        { op: 'replace', path: '/os_distro', value: 'ubuntu' },
        { op: 'remove', path: '/hw_disk_bus' },
        { op: 'replace', path: '/min_disk', value: 3 },
        { op: 'add', path: '/tags', value: ['x'] },
        { op: 'replace', path: '/protected', value: false },
        { op: 'replace', path: '/disk_format', value: 'raw' },
      ]);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.json.name, 'after');
      assert.equal(res.json.os_version, '12');
      assert.equal(res.json.os_distro, 'ubuntu');
      assert.equal('hw_disk_bus' in res.json, false);
      assert.equal(res.json.min_disk, 3);
      assert.deepEqual(res.json.tags, ['x']);
      assert.equal(res.json.disk_format, 'raw');
      assert.equal(res.json.created_at, image.created_at);
      assert.ok(res.json.updated_at > image.updated_at, `updated_at moved on: ${image.updated_at} -> ${res.json.updated_at}`);
      const shown = await glance(url, 'GET', `/v2/images/${image.id}`, demo);
      assert.deepEqual(shown.json, res.json);
    });

    it('answers 409 when removing or replacing a custom property that does not exist', async () => {
      const image = await createImage(url, demo, { name: 'props' });
      assertGlanceError(await patchImage(url, demo, image.id, [{ op: 'remove', path: '/nope' }]), 409);
      assertGlanceError(await patchImage(url, demo, image.id, [{ op: 'replace', path: '/nope', value: 'x' }]), 409);
    });

    it('lets only the owner (or an admin) modify and delete an image', async () => {
      const image = await createImage(url, admin, { name: 'admins-public', visibility: 'public' });
      assertGlanceError(await patchImage(url, demo, image.id, [{ op: 'replace', path: '/name', value: 'mine' }]), 403);
      assertGlanceError(await glance(url, 'DELETE', `/v2/images/${image.id}`, demo), 403);
      const own = await createImage(url, demo, { name: 'demos' });
      const renamed = await patchImage(url, admin, own.id, [{ op: 'replace', path: '/name', value: 'renamed by admin' }]);
      assert.equal(renamed.status, 200);
    });

    it('deletes with 204, after which the image is gone (404 to show, list and delete)', async () => {
      const image = await createImage(url, demo, { name: 'doomed', disk_format: 'raw', container_format: 'bare' });
      await upload(url, demo, image.id, bytes(1000));
      assert.deepEqual(filesOf(tc.dataDir, image.id), [image.id]);
      const res = await glance(url, 'DELETE', `/v2/images/${image.id}`, demo);
      assert.equal(res.status, 204);
      assert.equal(res.body, undefined);
      assertGlanceError(await glance(url, 'GET', `/v2/images/${image.id}`, demo), 404);
      assertGlanceError(await glance(url, 'DELETE', `/v2/images/${image.id}`, demo), 404);
      assert.equal((await listIds(demo, 'limit=1000')).includes(image.id), false);
      assert.deepEqual(filesOf(tc.dataDir, image.id), [], 'the data file is removed with the image');
    });

    it('refuses to delete a protected image until it is unprotected', async () => {
      const image = await createImage(url, demo, { name: 'guarded', protected: true });
      assertGlanceError(await glance(url, 'DELETE', `/v2/images/${image.id}`, demo), 403, /protected/);
      assertGlanceError(await glance(url, 'DELETE', `/v2/images/${image.id}`, admin), 403, /protected/);
      assert.equal((await glance(url, 'GET', `/v2/images/${image.id}`, demo)).status, 200);
      assert.equal((await patchImage(url, demo, image.id, [{ op: 'replace', path: '/protected', value: false }])).status, 200);
      assert.equal((await glance(url, 'DELETE', `/v2/images/${image.id}`, demo)).status, 204);
    });
  });

  describe('list filters', () => {
    const tag = `filters-${randomUUID().slice(0, 8)}`;
    const ids: Record<'a' | 'b' | 'c' | 'd', string> = { a: '', b: '', c: '', d: '' };
    let startedAt: string;

    before(async () => {
      startedAt = new Date(Date.now() - 2000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      const a = await createImage(url, admin, { name: 'flt-a', disk_format: 'qcow2', container_format: 'bare', visibility: 'private', protected: true, tags: [tag], os_distro: 'alpine' });
      await upload(url, admin, a.id, bytes(100, 1));
      const b = await createImage(url, admin, { name: 'flt-b', disk_format: 'raw', container_format: 'bare', visibility: 'public', tags: [tag] });
      await upload(url, admin, b.id, bytes(1000, 2));
      const c = await createImage(url, admin, { name: 'flt-c', disk_format: 'iso', container_format: 'ovf', visibility: 'shared', tags: [tag, `${tag}-extra`] });
      const d = await createImage(url, admin, { name: 'flt-d', disk_format: 'qcow2', container_format: 'bare', visibility: 'community', tags: [tag] });
      await upload(url, admin, d.id, bytes(5000, 4));
      Object.assign(ids, { a: a.id, b: b.id, c: c.id, d: d.id });
    });

    /** Which of a, b, c, d a filtered list (scoped to this suite's tag) returns, as sorted letters. */
    async function which(filter: string, token = admin): Promise<string> {
      const got = await listIds(token, `tag=${tag}&${filter}`);
      const letters = Object.entries(ids)
        .filter(([, id]) => got.includes(id))
        .map(([letter]) => letter);
      assert.equal(letters.length, got.length, `only this suite's images come back for ${filter}`);
      return letters.sort().join('');
    }

    it('filters by name, status and visibility', async () => {
      assert.equal(await which('name=flt-a'), 'a');
      assert.equal(await which('name=in:flt-a,flt-c'), 'ac');
      assert.equal(await which('status=queued'), 'c');
      assert.equal(await which('status=active'), 'abd');
      assert.equal(await which('visibility=private'), 'a');
      assert.equal(await which('visibility=public'), 'b');
      assert.equal(await which('visibility=shared'), 'c');
      assert.equal(await which('visibility=community'), 'd');
      assert.equal(await which('visibility=all'), 'abcd');
    });

    it('filters by owner, tag and custom property', async () => {
      assert.equal(await which(`owner=${adminProject}`), 'abcd');
      assert.equal(await which(`owner=${demoProject}`), '');
      assert.equal(await which(`tag=${tag}-extra`), 'c');
      assert.equal(await which('os_distro=alpine'), 'a');
    });

    it('filters by container and disk format, with in: lists', async () => {
      assert.equal(await which('container_format=ovf'), 'c');
      assert.equal(await which('container_format=bare'), 'abd');
      assert.equal(await which('disk_format=qcow2'), 'ad');
      assert.equal(await which('disk_format=in:raw,iso'), 'bc');
    });

    it('filters by size_min and size_max (images without data have no size)', async () => {
      assert.equal(await which('size_min=500'), 'bd');
      assert.equal(await which('size_max=500'), 'a');
      assert.equal(await which('size_min=500&size_max=2000'), 'b');
      assert.equal(await which('size_min=100&size_max=100'), 'a');
    });

    it('hides os_hidden images unless asked for', async () => {
      const hidden = await createImage(url, admin, { name: 'flt-hidden', os_hidden: true, tags: [tag] });
      try {
        assert.equal((await listIds(admin, `tag=${tag}`)).includes(hidden.id), false);
        assert.deepEqual(await listIds(admin, `tag=${tag}&os_hidden=true`), [hidden.id]);
        assert.equal((await glance(url, 'GET', `/v2/images/${hidden.id}`, admin)).status, 200, 'hidden from lists, not from show');
      } finally {
        await glance(url, 'DELETE', `/v2/images/${hidden.id}`, admin);
      }
    });

    it('filters by protected', async () => {
      assert.equal(await which('protected=true'), 'a');
      assert.equal(await which('protected=false'), 'bcd');
    });

    it('filters created_at and updated_at with comparison operators', async () => {
      const future = new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      assert.equal(await which('created_at=gte:2020-01-01T00:00:00Z'), 'abcd');
      assert.equal(await which('created_at=lt:2020-01-01T00:00:00Z'), '');
      assert.equal(await which(`created_at=gte:${startedAt}`), 'abcd');
      assert.equal(await which(`created_at=lte:${future}`), 'abcd');
      assert.equal(await which(`created_at=gt:${future}`), '');
      assert.equal(await which(`updated_at=gt:${startedAt}`), 'abcd');
      assert.equal(await which(`updated_at=lt:${startedAt}`), '');
      assert.equal(await which(`updated_at=gte:2020-01-01T00:00:00Z&updated_at=lt:${future}`), 'abcd');
    });

    it('sorts with sort_key/sort_dir and with sort=', async () => {
      const names = async (query: string) => {
        const res = await glance(url, 'GET', `/v2/images?tag=${tag}&${query}`, admin);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        return (res.json.images as Array<{ name: string }>).map((i) => i.name.slice(4)).join('');
      };
      assert.equal(await names('sort_key=name&sort_dir=asc'), 'abcd');
      assert.equal(await names('sort_key=name&sort_dir=desc'), 'dcba');
      assert.equal(await names('sort_key=name'), 'dcba', 'the default direction is desc');
      assert.equal(await names('sort=name:asc'), 'abcd');
      assert.equal(await names('sort=name'), 'dcba');
      assert.equal(await names('status=active&sort=size:desc'), 'dba');
      assert.equal(await names('status=active&sort_key=size&sort_dir=asc'), 'abd');
      // Several keys: disk_format ascending (iso, qcow2, qcow2, raw), then name descending.
      assert.equal(await names('sort_key=disk_format&sort_dir=asc&sort_key=name&sort_dir=desc'), 'cdab');
      assert.equal(await names('sort=disk_format:asc,name:desc'), 'cdab');
      assert.equal(await names('sort=container_format:desc,name:asc'), 'cabd');
    });

    it('lists newest first by default', async () => {
      const res = await glance(url, 'GET', `/v2/images?tag=${tag}`, admin);
      const created = (res.json.images as Array<{ created_at: string }>).map((i) => i.created_at);
      assert.deepEqual(created, [...created].sort().reverse());
    });
  });

  describe('pagination', () => {
    const tag = `paging-${randomUUID().slice(0, 8)}`;
    const created: string[] = [];

    before(async () => {
      for (let i = 0; i < 7; i++) created.push((await createImage(url, demo, { name: `page-${i}`, tags: [tag] })).id);
    });

    /** Follows `next` from the first page; returns every page's ids. */
    async function walk(query: string): Promise<string[][]> {
      const pages: string[][] = [];
      let path: string | undefined = `/v2/images?${query}`;
      while (path) {
        assert.ok(pages.length < 20, 'paging ends');
        const res = await glance(url, 'GET', path, demo);
        assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
        pages.push((res.json.images as Array<{ id: string }>).map((i) => i.id));
        const next = res.json.next as string | undefined;
        if (next !== undefined) assert.match(next, /^\/v2\/images\?/, 'next is a /v2/images link');
        path = next;
      }
      return pages;
    }

    it('walks every page through next links with no duplicates and no gaps', async () => {
      const all = await listIds(demo, `tag=${tag}`);
      assert.deepEqual([...all].sort(), [...created].sort());
      const pages = await walk(`tag=${tag}&limit=3`);
      assert.ok(pages.length >= 3, `at least 3 pages, got ${pages.length}`);
      for (const page of pages) assert.ok(page.length <= 3, 'no page is longer than the limit');
      const walked = pages.flat();
      assert.equal(new Set(walked).size, walked.length, 'no duplicates');
      assert.deepEqual(walked, all, 'the pages together are the unpaged list, in order');
    });

    it('keeps the filters and the sort order in next links', async () => {
      const pages = await walk(`tag=${tag}&limit=2&sort_key=name&sort_dir=asc`);
      const walked = pages.flat();
      const names = await Promise.all(walked.map(async (id) => (await glance(url, 'GET', `/v2/images/${id}`, demo)).json.name as string));
      assert.deepEqual(names, created.map((_, i) => `page-${i}`));
      const one = await walk(`tag=${tag}&limit=1&sort=name:desc`);
      assert.deepEqual(one.flat(), [...walked].reverse());
      assert.ok(one.every((page) => page.length <= 1));
    });

    it('starts after the marker', async () => {
      const all = await listIds(demo, `tag=${tag}&sort_key=name&sort_dir=asc`);
      assert.deepEqual(await listIds(demo, `tag=${tag}&sort_key=name&sort_dir=asc&marker=${all[2]}`), all.slice(3));
      assert.deepEqual(await listIds(demo, `tag=${tag}&sort_key=name&sort_dir=asc&marker=${all[2]}&limit=2`), all.slice(3, 5));
    });
  });

  describe('image data', () => {
    const data = bytes(300_000, 7);
    let image: Record<string, any>;

    before(async () => {
      image = await createImage(url, demo, { name: 'data', disk_format: 'raw', container_format: 'bare' });
      const res = await putData(url, demo, image.id, data);
      assert.equal(res.status, 204, JSON.stringify(res.body));
      assert.equal(res.body, undefined, '204 has no body');
    });

    it('activates the image with size, md5 checksum and sha512 multihash', async () => {
      const shown = (await glance(url, 'GET', `/v2/images/${image.id}`, demo)).json;
      assert.equal(shown.status, 'active');
      assert.equal(shown.size, data.length);
      assert.equal(shown.checksum, md5(data));
      assert.equal(shown.os_hash_algo, 'sha512');
      assert.equal(shown.os_hash_value, sha512(data));
      assert.equal(shown.stores, 'file');
      assert.deepEqual(filesOf(tc.dataDir, image.id), [image.id]);
    });

    it('downloads the data with Content-MD5, Content-Length and Content-Type', async () => {
      const res = await download(url, demo, image.id);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/octet-stream');
      assert.equal(res.headers.get('content-md5'), md5(data));
      assert.equal(res.headers.get('content-length'), String(data.length));
      assert.ok(res.data.equals(data), 'the bytes that went in come out');
    });

    it('answers a Range with 206 and Content-Range', async () => {
      const middle = await download(url, demo, image.id, { range: 'bytes=10-19' });
      assert.equal(middle.status, 206);
      assert.equal(middle.headers.get('content-range'), `bytes 10-19/${data.length}`);
      assert.equal(middle.headers.get('content-length'), '10');
      assert.ok(middle.data.equals(data.subarray(10, 20)));

      const open = await download(url, demo, image.id, { range: `bytes=${data.length - 7}-` });
      assert.equal(open.status, 206);
      assert.equal(open.headers.get('content-range'), `bytes ${data.length - 7}-${data.length - 1}/${data.length}`);
      assert.ok(open.data.equals(data.subarray(data.length - 7)));

      const suffix = await download(url, demo, image.id, { range: 'bytes=-5' });
      assert.equal(suffix.status, 206);
      assert.ok(suffix.data.equals(data.subarray(data.length - 5)));

      const past = await download(url, demo, image.id, { range: `bytes=${data.length - 1}-${data.length + 100}` });
      assert.equal(past.status, 206, 'a range running past the end is cut at the end');
      assert.ok(past.data.equals(data.subarray(data.length - 1)));
    });

    it('answers an unsatisfiable or malformed Range with 416', async () => {
      const beyond = await download(url, demo, image.id, { range: `bytes=${data.length}-${data.length + 10}` });
      assertGlanceError(beyond, 416);
      assert.equal(beyond.headers.get('content-range'), `bytes */${data.length}`);
      assertGlanceError(await download(url, demo, image.id, { range: 'bytes=20-10' }), 416);
      assertGlanceError(await download(url, demo, image.id, { range: 'bytes=abc' }), 416);
      assertGlanceError(await download(url, demo, image.id, { range: 'lines=1-2' }), 416);
    });

    it('answers 204 with no body for an image without data', async () => {
      const empty = await createImage(url, demo, { name: 'no-data' });
      const res = await download(url, demo, empty.id);
      assert.equal(res.status, 204);
      assert.equal(res.data.length, 0);
    });

    it('refuses a second upload to an active image with 409', async () => {
      assertGlanceError(await putData(url, demo, image.id, bytes(10)), 409);
      const shown = (await glance(url, 'GET', `/v2/images/${image.id}`, demo)).json;
      assert.equal(shown.checksum, md5(data), 'the first data stays');
    });

    it('refuses an upload before disk and container formats are set (400)', async () => {
      const bare = await createImage(url, demo, { name: 'no-formats' });
      assertGlanceError(await putData(url, demo, bare.id, bytes(10)), 400, /disk_format/);
      assert.equal((await glance(url, 'GET', `/v2/images/${bare.id}`, demo)).json.status, 'queued');
    });

    it('lets only the owner upload (403 for another project on a public image)', async () => {
      const pub = await createImage(url, admin, { name: 'pub-queued', visibility: 'public', disk_format: 'raw', container_format: 'bare' });
      assertGlanceError(await putData(url, demo, pub.id, bytes(10)), 403);
      assert.equal((await glance(url, 'GET', `/v2/images/${pub.id}`, demo)).json.status, 'queued');
    });

    it('accepts an empty image file', async () => {
      const zero = await createImage(url, demo, { name: 'zero', disk_format: 'raw', container_format: 'bare' });
      await upload(url, demo, zero.id, Buffer.alloc(0));
      const shown = (await glance(url, 'GET', `/v2/images/${zero.id}`, demo)).json;
      assert.equal(shown.status, 'active');
      assert.equal(shown.size, 0);
      assert.equal(shown.checksum, md5(Buffer.alloc(0)));
    });
  });

  describe('deactivate and reactivate', () => {
    const data = bytes(4096, 9);
    let image: Record<string, any>;

    before(async () => {
      image = await createImage(url, demo, { name: 'deact', disk_format: 'raw', container_format: 'bare' });
      await upload(url, demo, image.id, data);
    });

    // Glance's current defaults (and tempest 33): admins and the owning project, nobody else.
    it('is for admins and the owning project, not for other projects', async () => {
      const foreign = await createImage(url, admin, { name: 'deact-foreign', disk_format: 'raw', container_format: 'bare', visibility: 'public' });
      await upload(url, admin, foreign.id, data);
      assertGlanceError(await glance(url, 'POST', `/v2/images/${foreign.id}/actions/deactivate`, demo), 403);
      assert.equal((await glance(url, 'GET', `/v2/images/${foreign.id}`, demo)).json.status, 'active');
      assert.equal((await glance(url, 'POST', `/v2/images/${image.id}/actions/deactivate`, demo)).status, 204);
      assert.equal((await glance(url, 'GET', `/v2/images/${image.id}`, demo)).json.status, 'deactivated');
      assert.equal((await glance(url, 'POST', `/v2/images/${image.id}/actions/reactivate`, demo)).status, 204);
      assert.equal((await glance(url, 'GET', `/v2/images/${image.id}`, demo)).json.status, 'active');
    });

    it('refuses downloads of a deactivated image to non-admins, until reactivated', async () => {
      const res = await glance(url, 'POST', `/v2/images/${image.id}/actions/deactivate`, admin);
      assert.equal(res.status, 204, JSON.stringify(res.body));
      assert.equal((await glance(url, 'GET', `/v2/images/${image.id}`, demo)).json.status, 'deactivated');
      assertGlanceError(await download(url, demo, image.id), 403);
      const asAdmin = await download(url, admin, image.id);
      assert.equal(asAdmin.status, 200);
      assert.ok(asAdmin.data.equals(data));
      // Deactivating twice is a no-op, as in Glance.
      assert.equal((await glance(url, 'POST', `/v2/images/${image.id}/actions/deactivate`, admin)).status, 204);

      assert.equal((await glance(url, 'POST', `/v2/images/${image.id}/actions/reactivate`, admin)).status, 204);
      assert.equal((await glance(url, 'GET', `/v2/images/${image.id}`, demo)).json.status, 'active');
      const again = await download(url, demo, image.id);
      assert.equal(again.status, 200);
      assert.ok(again.data.equals(data));
    });

    it('refuses to deactivate or reactivate an image without data (403)', async () => {
      const queued = await createImage(url, demo, { name: 'deact-queued' });
      assertGlanceError(await glance(url, 'POST', `/v2/images/${queued.id}/actions/deactivate`, admin), 403);
      assertGlanceError(await glance(url, 'POST', `/v2/images/${queued.id}/actions/reactivate`, admin), 403);
      assert.equal((await glance(url, 'GET', `/v2/images/${queued.id}`, demo)).json.status, 'queued');
    });
  });

  describe('tags', () => {
    it('adds with PUT and removes with DELETE (204 each); a missing tag is 404', async () => {
      const image = await createImage(url, demo, { name: 'tagged', tags: ['one'] });
      const put = await glance(url, 'PUT', `/v2/images/${image.id}/tags/two`, demo);
      assert.equal(put.status, 204, JSON.stringify(put.body));
      assert.equal((await glance(url, 'PUT', `/v2/images/${image.id}/tags/two`, demo)).status, 204, 'adding a tag twice is fine');
      assert.deepEqual((await glance(url, 'GET', `/v2/images/${image.id}`, demo)).json.tags, ['one', 'two']);
      assert.equal((await glance(url, 'DELETE', `/v2/images/${image.id}/tags/one`, demo)).status, 204);
      assert.deepEqual((await glance(url, 'GET', `/v2/images/${image.id}`, demo)).json.tags, ['two']);
      assertGlanceError(await glance(url, 'DELETE', `/v2/images/${image.id}/tags/one`, demo), 404);
      assert.deepEqual(await listIds(demo, 'tag=two&name=tagged'), [image.id]);
    });

    it('lets only the owner change tags', async () => {
      const image = await createImage(url, admin, { name: 'pub-tags', visibility: 'public', tags: ['keep'] });
      assertGlanceError(await glance(url, 'PUT', `/v2/images/${image.id}/tags/mine`, demo), 403);
      assertGlanceError(await glance(url, 'DELETE', `/v2/images/${image.id}/tags/keep`, demo), 403);
      assert.deepEqual((await glance(url, 'GET', `/v2/images/${image.id}`, admin)).json.tags, ['keep']);
    });
  });

  describe('members', () => {
    let shared: Record<string, any>;

    before(async () => {
      shared = await createImage(url, admin, { name: 'shared-with-demo', visibility: 'shared' });
    });

    const memberPath = () => `/v2/images/${shared.id}/members/${demoProject}`;

    it('adds a member (pending), refuses a duplicate with 409, lists members', async () => {
      const res = await glance(url, 'POST', `/v2/images/${shared.id}/members`, admin, { member: demoProject });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(
        { ...res.json, created_at: undefined, updated_at: undefined },
        { image_id: shared.id, member_id: demoProject, status: 'pending', schema: '/v2/schemas/member', created_at: undefined, updated_at: undefined },
      );
      assert.match(res.json.created_at, GLANCE_TIME);
      assertGlanceError(await glance(url, 'POST', `/v2/images/${shared.id}/members`, admin, { member: demoProject }), 409);

      const list = await glance(url, 'GET', `/v2/images/${shared.id}/members`, admin);
      assert.equal(list.status, 200);
      assert.equal(list.json.schema, '/v2/schemas/members');
      assert.deepEqual(list.json.members, [res.json]);
      const one = await glance(url, 'GET', memberPath(), demo);
      assert.equal(one.status, 200);
      assert.equal(one.json.status, 'pending');
    });

    it('shows a pending image to the member, but lists it only with member_status', async () => {
      assert.equal((await glance(url, 'GET', `/v2/images/${shared.id}`, demo)).status, 200);
      assert.equal((await listIds(demo, 'limit=1000')).includes(shared.id), false, 'pending images are not listed by default');
      assert.equal((await listIds(demo, 'member_status=pending&limit=1000')).includes(shared.id), true);
      assert.equal((await listIds(demo, 'member_status=all&limit=1000')).includes(shared.id), true);
      assert.equal((await listIds(demo, 'member_status=accepted&limit=1000')).includes(shared.id), false);
      assertGlanceError(await glance(url, 'GET', `/v2/images/${shared.id}`, other.token), 404, undefined, 'a non-member');
    });

    it('lets the member accept and reject; the list follows', async () => {
      const accepted = await glance(url, 'PUT', memberPath(), demo, { status: 'accepted' });
      assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
      assert.equal(accepted.json.status, 'accepted');
      assert.equal(accepted.json.member_id, demoProject);
      assert.equal((await listIds(demo, 'limit=1000')).includes(shared.id), true, 'accepted images are listed');
      assert.equal((await listIds(demo, 'member_status=pending&limit=1000')).includes(shared.id), false);
      assert.equal((await listIds(demo, 'visibility=shared&limit=1000')).includes(shared.id), true);

      const rejected = await glance(url, 'PUT', memberPath(), demo, { status: 'rejected' });
      assert.equal(rejected.json.status, 'rejected');
      assert.equal((await listIds(demo, 'limit=1000')).includes(shared.id), false);
      assert.equal((await listIds(demo, 'member_status=rejected&limit=1000')).includes(shared.id), true);
      assert.equal((await glance(url, 'GET', `/v2/images/${shared.id}`, demo)).status, 200, 'a rejected member still sees the image');
      assertGlanceError(await glance(url, 'PUT', memberPath(), demo, { status: 'maybe' }), 400);
    });

    it('refuses members for anyone but the owner and for non-shared images (403)', async () => {
      assertGlanceError(await glance(url, 'POST', `/v2/images/${shared.id}/members`, demo, { member: other.projectId }), 403);
      const priv = await createImage(url, admin, { name: 'private-no-members', visibility: 'private' });
      assertGlanceError(await glance(url, 'POST', `/v2/images/${priv.id}/members`, admin, { member: demoProject }), 403);
      const pub = await createImage(url, admin, { name: 'public-no-members', visibility: 'public' });
      assertGlanceError(await glance(url, 'POST', `/v2/images/${pub.id}/members`, admin, { member: demoProject }), 403);
      assertGlanceError(await glance(url, 'GET', `/v2/images/${pub.id}/members`, admin), 403);
    });

    it('removes a member with 204, after which the image is invisible to it', async () => {
      const extra = await glance(url, 'POST', `/v2/images/${shared.id}/members`, admin, { member: other.projectId });
      assert.equal(extra.status, 200);
      assert.equal((await glance(url, 'GET', `/v2/images/${shared.id}`, other.token)).status, 200);
      // A member sees only its own membership.
      const seen = await glance(url, 'GET', `/v2/images/${shared.id}/members`, other.token);
      assert.deepEqual((seen.json.members as Array<{ member_id: string }>).map((m) => m.member_id), [other.projectId]);
      assertGlanceError(await glance(url, 'DELETE', `/v2/images/${shared.id}/members/${other.projectId}`, demo), 403);
      assert.equal((await glance(url, 'DELETE', `/v2/images/${shared.id}/members/${other.projectId}`, admin)).status, 204);
      assertGlanceError(await glance(url, 'GET', `/v2/images/${shared.id}`, other.token), 404);
      assertGlanceError(await glance(url, 'DELETE', `/v2/images/${shared.id}/members/${other.projectId}`, admin), 404);
    });
  });

  describe('visibility policy', () => {
    it('lets only an admin publicize an image', async () => {
      assertGlanceError(await glance(url, 'POST', '/v2/images', demo, { name: 'want-public', visibility: 'public' }), 403);
      const own = await createImage(url, demo, { name: 'to-publicize' });
      assertGlanceError(await patchImage(url, demo, own.id, [{ op: 'replace', path: '/visibility', value: 'public' }]), 403);
      assert.equal((await glance(url, 'GET', `/v2/images/${own.id}`, demo)).json.visibility, 'shared');
      const published = await patchImage(url, admin, own.id, [{ op: 'replace', path: '/visibility', value: 'public' }]);
      assert.equal(published.status, 200);
      assert.equal(published.json.visibility, 'public');
      assert.equal((await listIds(other.token, 'limit=1000')).includes(own.id), true, 'public images are listed for everyone');
    });

    it('shows community images to everyone but lists them for others only when asked', async () => {
      const community = await createImage(url, demo, { name: 'community', visibility: 'community' });
      assert.equal((await glance(url, 'GET', `/v2/images/${community.id}`, other.token)).status, 200);
      assert.equal((await listIds(other.token, 'limit=1000')).includes(community.id), false);
      assert.equal((await listIds(other.token, 'visibility=community&limit=1000')).includes(community.id), true);
      assert.equal((await listIds(demo, 'limit=1000')).includes(community.id), true, 'the owner lists its community images');
    });

    it('hides private and shared images from other projects (404)', async () => {
      const priv = await createImage(url, demo, { name: 'private', visibility: 'private' });
      const shared = await createImage(url, demo, { name: 'shared-no-members' });
      for (const image of [priv, shared]) {
        assertGlanceError(await glance(url, 'GET', `/v2/images/${image.id}`, other.token), 404);
        assertGlanceError(await patchImage(url, other.token, image.id, [{ op: 'replace', path: '/name', value: 'x' }]), 404);
        assertGlanceError(await glance(url, 'DELETE', `/v2/images/${image.id}`, other.token), 404);
        assert.equal((await listIds(other.token, 'visibility=all&limit=1000')).includes(image.id), false);
        assert.equal((await glance(url, 'GET', `/v2/images/${image.id}`, admin)).status, 200, 'an admin sees everything');
      }
    });

    it('refuses creating an image owned by another project, unless admin', async () => {
      assertGlanceError(await glance(url, 'POST', '/v2/images', demo, { name: 'theirs', owner: other.projectId }), 403);
      const byAdmin = await createImage(url, admin, { name: 'for-other', owner: other.projectId });
      assert.equal(byAdmin.owner, other.projectId);
      assert.equal((await glance(url, 'GET', `/v2/images/${byAdmin.id}`, other.token)).status, 200);
    });

    it('asks for a token (401)', async () => {
      const res = await glance(url, 'GET', '/v2/images');
      assert.equal(res.status, 401);
    });
  });

  describe('glance-direct import', () => {
    it('stages (uploading), imports (202) and activates with the checksum of the data', async () => {
      const data = bytes(200_000, 11);
      const image = await createImage(url, demo, { name: 'imported', disk_format: 'qcow2', container_format: 'bare' });
      const staged = await putData(url, demo, image.id, data, { target: 'stage' });
      assert.equal(staged.status, 204, JSON.stringify(staged.body));
      assert.equal((await glance(url, 'GET', `/v2/images/${image.id}`, demo)).json.status, 'uploading');
      assert.deepEqual(filesOf(tc.dataDir, image.id, 'image-staging'), [image.id]);

      assertGlanceError(await glance(url, 'POST', `/v2/images/${image.id}/import`, demo, { method: { name: 'web-download' } }), 400);
      assertGlanceError(await glance(url, 'POST', `/v2/images/${image.id}/import`, demo, { method: {} }), 400);
      assertGlanceError(await glance(url, 'POST', `/v2/images/${image.id}/import`, demo, {}), 400);
      assert.equal((await glance(url, 'GET', `/v2/images/${image.id}`, demo)).json.status, 'uploading');

      const res = await glance(url, 'POST', `/v2/images/${image.id}/import`, demo, { method: { name: 'glance-direct' } });
      assert.equal(res.status, 202, JSON.stringify(res.body));
      const active = await waitForStatus(url, demo, image.id, 'active');
      assert.equal(active.size, data.length);
      assert.equal(active.checksum, md5(data));
      assert.equal(active.os_hash_value, sha512(data));
      const got = await download(url, demo, image.id);
      assert.ok(got.data.equals(data));
      assert.deepEqual(filesOf(tc.dataDir, image.id, 'image-staging'), [], 'the staged copy is removed');
      assert.deepEqual(filesOf(tc.dataDir, image.id), [image.id]);
    });

    it('refuses to import an image that was not staged (409) and to stage twice (409)', async () => {
      const image = await createImage(url, demo, { name: 'not-staged', disk_format: 'raw', container_format: 'bare' });
      assertGlanceError(await glance(url, 'POST', `/v2/images/${image.id}/import`, demo, { method: { name: 'glance-direct' } }), 409);
      assert.equal((await putData(url, demo, image.id, bytes(10), { target: 'stage' })).status, 204);
      assertGlanceError(await putData(url, demo, image.id, bytes(10), { target: 'stage' }), 409);
      assertGlanceError(await putData(url, demo, image.id, bytes(10)), 409, undefined, 'no direct upload to a staged image');
    });
  });

  describe('schemas, info and versions', () => {
    it('serves the image and images schemas', async () => {
      const image = await glance(url, 'GET', '/v2/schemas/image', demo);
      assert.equal(image.status, 200);
      assert.equal(image.json.name, 'image');
      for (const key of ['id', 'name', 'status', 'visibility', 'protected', 'checksum', 'size', 'disk_format', 'container_format', 'tags', 'min_ram', 'min_disk', 'os_hash_value']) {
        assert.ok(key in image.json.properties, `schema has ${key}`);
      }
      assert.deepEqual(image.json.additionalProperties, { type: 'string' });
      assert.ok(image.json.properties.disk_format.enum.includes('qcow2'));
      const images = await glance(url, 'GET', '/v2/schemas/images', demo);
      assert.equal(images.status, 200);
      assert.equal(images.json.name, 'images');
      assert.equal(images.json.properties.images.items.name, 'image');
      assert.equal((await glance(url, 'GET', '/v2/schemas/member', demo)).json.name, 'member');
      assert.equal((await glance(url, 'GET', '/v2/schemas/members', demo)).json.name, 'members');
    });

    it('describes import methods and stores', async () => {
      const methods = await glance(url, 'GET', '/v2/info/import', demo);
      assert.equal(methods.status, 200);
      assert.deepEqual(methods.json['import-methods'].value, ['glance-direct']);
      assert.equal(methods.json['import-methods'].type, 'array');
      const stores = await glance(url, 'GET', '/v2/info/stores', demo);
      assert.equal(stores.status, 200);
      assert.deepEqual(stores.json.stores.map((s: { id: string; default?: boolean }) => [s.id, s.default]), [['file', true]]);
      assertGlanceError(await glance(url, 'GET', '/v2/info/stores/detail', demo), 403);
      assert.equal((await glance(url, 'GET', '/v2/info/stores/detail', admin)).status, 200);
    });

    it('answers version discovery without a token at /image and /image/versions', async () => {
      for (const path of ['', '/']) {
        const res = await glance(url, 'GET', path);
        assert.equal(res.status, 300, `GET ${IMAGE}${path}`);
        checkVersions(res.json.versions);
      }
      const res = await glance(url, 'GET', '/versions');
      assert.equal(res.status, 200);
      checkVersions(res.json.versions);
    });

    function checkVersions(versions: Array<{ id: string; status: string; links: Array<{ rel: string; href: string }> }>): void {
      assert.ok(Array.isArray(versions) && versions.length > 0);
      const current = versions.filter((v) => v.status === 'CURRENT');
      assert.equal(current.length, 1, 'one CURRENT version');
      assert.match(current[0]!.id, /^v2\.\d+$/);
      assert.ok(versions.some((v) => v.id === 'v2.0'));
      for (const v of versions) assert.deepEqual(v.links, [{ rel: 'self', href: `${url}/image/v2/` }]);
    }
  });

  describe('quotas (Keystone unified limits)', () => {
    it('refuses an image beyond image_count_total with 413', async () => {
      const project = await projectWithMember(url, admin, 'quota-count');
      await setImageLimit(url, admin, project.projectId, 'image_count_total', 1);
      await createImage(url, project.token, { name: 'first' });
      const second = await glance(url, 'POST', '/v2/images', project.token, { name: 'second' });
      assertGlanceError(second, 413, /image_count_total/);
      assert.equal((await listIds(project.token, `owner=${project.projectId}`)).length, 1);
    });

    it('refuses an upload beyond image_size_total with 413 and keeps nothing of it', async () => {
      const project = await projectWithMember(url, admin, 'quota-size');
      await setImageLimit(url, admin, project.projectId, 'image_size_total', 1); // MiB
      const big = await createImage(url, project.token, { name: 'too-big', disk_format: 'raw', container_format: 'bare' });
      const res = await putData(url, project.token, big.id, bytes(3 * 1024 * 1024, 5));
      assertGlanceError(res, 413, /image_size_total/);
      const shown = (await glance(url, 'GET', `/v2/images/${big.id}`, project.token)).json;
      assert.equal(shown.status, 'queued');
      assert.equal(shown.size, null);
      assert.deepEqual(filesOf(tc.dataDir, big.id), [], 'neither the image file nor a partial file is left');

      // Under the limit it works, and what is stored counts against the rest.
      const small = await createImage(url, project.token, { name: 'fits', disk_format: 'raw', container_format: 'bare' });
      await upload(url, project.token, small.id, bytes(700 * 1024, 6));
      const second = await createImage(url, project.token, { name: 'no-room-left', disk_format: 'raw', container_format: 'bare' });
      assertGlanceError(await putData(url, project.token, second.id, bytes(400 * 1024, 8)), 413, /image_size_total/);
      assert.equal((await glance(url, 'GET', `/v2/images/${second.id}`, project.token)).json.status, 'queued');
      assert.deepEqual(filesOf(tc.dataDir, second.id), []);
      // The image that failed can still take data that fits.
      await upload(url, project.token, big.id, bytes(100 * 1024, 9));
      assert.equal((await glance(url, 'GET', `/v2/images/${big.id}`, project.token)).json.status, 'active');
    });
  });
});
