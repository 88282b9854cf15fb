// What the image API answers to wrong input: the right 4xx, Glance's error body
// {"message", "code", "title"}, and never a 500.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestCloud, type ApiResponse, type TestCloud } from '../../helpers/cloud.js';
import { assertGlanceError, bytes, createImage, glance, IMAGE, patchImage, putData, upload } from './helpers.js';

describe('image API: bad input', { timeout: 60_000 }, () => {
  let tc: TestCloud;
  let url: string;
  let demo: string;
  let admin: string;
  /** A queued image of demo with formats set, for the PATCH and upload cases. */
  let queued: Record<string, any>;

  before(async () => {
    tc = await startTestCloud();
    url = tc.url;
    demo = await tc.token('demo');
    admin = await tc.token('admin');
    queued = await createImage(url, demo, { name: 'target', disk_format: 'raw', container_format: 'bare' });
  });

  after(async () => {
    await tc?.stop();
  });

  /** A request with a raw body and exactly these headers (plus the token). */
  async function raw(method: string, path: string, body: string | Buffer | undefined, headers: Record<string, string>): Promise<ApiResponse> {
    const response = await fetch(`${url}${IMAGE}${path}`, { method, headers: { 'x-auth-token': demo, accept: 'application/json', ...headers }, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // keep the text
    }
    return { status: response.status, headers: response.headers, body: parsed, json: (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, any> };
  }

  describe('POST /v2/images', () => {
    const cases: Array<[string, Record<string, unknown>, number]> = [
      ['unknown disk_format', { disk_format: 'floppy' }, 400],
      ['unknown container_format', { container_format: 'tarball' }, 400],
      ['disk_format of the wrong type', { disk_format: 7 }, 400],
      ['unknown visibility', { visibility: 'secret' }, 400],
      ['name longer than 255', { name: 'n'.repeat(256) }, 400],
      ['name of the wrong type', { name: 12 }, 400],
      ['negative min_ram', { min_ram: -1 }, 400],
      ['fractional min_disk', { min_disk: 1.5 }, 400],
      ['min_ram as a string', { min_ram: '512' }, 400],
      ['min_disk beyond 32 bits', { min_disk: 2 ** 31 }, 400],
      ['protected as a string', { protected: 'yes' }, 400],
      ['os_hidden as a number', { os_hidden: 1 }, 400],
      ['tags not a list', { tags: 'a,b' }, 400],
      ['an empty tag', { tags: [''] }, 400],
      ['a tag longer than 255', { tags: ['t'.repeat(256)] }, 400],
      ['a non-string tag', { tags: [1] }, 400],
      ['too many tags', { tags: Array.from({ length: 129 }, (_, i) => `tag-${i}`) }, 413],
      ['an id that is not a UUID', { id: 'not-a-uuid' }, 400],
      ['a property value that is not a string', { os_distro: 12 }, 400],
      ['a property value that is an object', { os_distro: { a: 1 } }, 400],
      ['a property value longer than 65535', { os_distro: 'v'.repeat(65_536) }, 400],
      ['a property name longer than 255', { ['p'.repeat(256)]: 'v' }, 400],
      ['too many properties', Object.fromEntries(Array.from({ length: 129 }, (_, i) => [`prop_${i}`, 'v'])), 413],
      ['an owner that is not a string', { owner: 5 }, 400],
    ];
    for (const [what, body, status] of cases) {
      it(`answers ${status} to ${what}`, async () => {
        assertGlanceError(await glance(url, 'POST', '/v2/images', demo, { name: 'bad', ...body }), status);
      });
    }

    for (const attribute of ['status', 'checksum', 'size', 'virtual_size', 'os_hash_algo', 'os_hash_value', 'created_at', 'updated_at', 'self', 'file', 'schema', 'direct_url', 'locations', 'stores']) {
      it(`refuses the read-only ${attribute} with 403`, async () => {
        const value = attribute === 'size' || attribute === 'virtual_size' ? 10 : attribute === 'locations' ? [] : 'x';
        assertGlanceError(await glance(url, 'POST', '/v2/images', demo, { name: 'ro', [attribute]: value }), 403, new RegExp(attribute));
      });
    }

    it('refuses reserved os_glance_* properties with 403', async () => {
      assertGlanceError(await glance(url, 'POST', '/v2/images', demo, { os_glance_import_task: 'x' }), 403);
    });

    it('answers 400 to a body that is not a JSON object', async () => {
      for (const body of ['[]', '"image"', 'null', '42']) {
        assertGlanceError(await raw('POST', '/v2/images', body, { 'content-type': 'application/json' }), 400, undefined, body);
      }
    });

    it('answers 400 to malformed or empty JSON', async () => {
      for (const body of ['{"name": ', '{name: "x"}', '{"name": "x"}}', '']) {
        assertGlanceError(await raw('POST', '/v2/images', body, { 'content-type': 'application/json' }), 400, undefined, JSON.stringify(body));
      }
    });

    it('answers 415 to a body in a media type it does not take', async () => {
      assertGlanceError(await raw('POST', '/v2/images', '<image/>', { 'content-type': 'application/xml' }), 415);
    });

    it('answers 413 to a JSON body over the size limit', async () => {
      const body = JSON.stringify({ name: 'big', description: 'd'.repeat(2 * 1024 * 1024) });
      assertGlanceError(await raw('POST', '/v2/images', body, { 'content-type': 'application/json' }), 413);
    });

    it('creates nothing on any of these', async () => {
      const res = await glance(url, 'GET', '/v2/images?limit=1000', demo);
      assert.deepEqual((res.json.images as Array<{ name: string }>).map((i) => i.name), ['target']);
    });
  });

  describe('PATCH /v2/images/{id}', () => {
    for (const attribute of ['id', 'status', 'checksum', 'size', 'virtual_size', 'os_hash_algo', 'os_hash_value', 'created_at', 'updated_at', 'self', 'file', 'schema', 'direct_url', 'locations', 'stores']) {
      it(`refuses a change of the read-only ${attribute} with 403`, async () => {
        for (const op of ['replace', 'add'] as const) {
          const value = attribute === 'size' || attribute === 'virtual_size' ? 10 : attribute === 'locations' ? [] : 'x';
          assertGlanceError(await patchImage(url, demo, queued.id, [{ op, path: `/${attribute}`, value }]), 403, undefined, `${op} ${attribute}`);
        }
        assertGlanceError(await patchImage(url, demo, queued.id, [{ op: 'remove', path: `/${attribute}` }]), 403, undefined, `remove ${attribute}`);
      });
    }

    it('refuses removing core attributes with 403', async () => {
      for (const attribute of ['name', 'visibility', 'disk_format', 'min_ram']) {
        assertGlanceError(await patchImage(url, demo, queued.id, [{ op: 'remove', path: `/${attribute}` }]), 403, undefined, attribute);
      }
    });

    const malformed: Array<[string, unknown]> = [
      ['an object instead of a list', { op: 'replace', path: '/name', value: 'x' }],
      ['a string', 'replace /name'],
      ['null', null],
      ['a list with a non-object', ['replace']],
      ['an unknown op', [{ op: 'move', from: '/name', path: '/title' }]],
      ['the test op', [{ op: 'test', path: '/name', value: 'target' }]],
      ['a missing op', [{ path: '/name', value: 'x' }]],
      ['a path without a slash', [{ op: 'replace', path: 'name', value: 'x' }]],
      ['an empty path', [{ op: 'replace', path: '', value: 'x' }]],
      ['a path of two levels', [{ op: 'replace', path: '/name/first', value: 'x' }]],
      ['a path that is not a string', [{ op: 'replace', path: 5, value: 'x' }]],
      ['a missing path', [{ op: 'replace', value: 'x' }]],
      ['a replace without a value', [{ op: 'replace', path: '/name' }]],
      ['an add without a value', [{ op: 'add', path: '/os_distro' }]],
      ['a bad value for a core attribute', [{ op: 'replace', path: '/visibility', value: 'everyone' }]],
      ['a bad disk_format', [{ op: 'replace', path: '/disk_format', value: 'floppy' }]],
      ['min_ram as a string', [{ op: 'replace', path: '/min_ram', value: 'lots' }]],
      ['tags as a string', [{ op: 'replace', path: '/tags', value: 'a' }]],
      ['a property value that is not a string', [{ op: 'add', path: '/os_distro', value: 3 }]],
      ['a property value longer than 65535', [{ op: 'add', path: '/os_distro', value: 'v'.repeat(65_536) }]],
      ['a property name longer than 255', [{ op: 'add', path: `/${'p'.repeat(256)}`, value: 'v' }]],
    ];
    for (const [what, body] of malformed) {
      it(`answers 400 to ${what}`, async () => {
        assertGlanceError(await patchImage(url, demo, queued.id, JSON.stringify(body)), 400);
      });
    }

    it('answers 409 to removing or replacing a missing property named like an Object method', async () => {
      for (const name of ['constructor', 'toString', 'hasOwnProperty']) {
        assertGlanceError(await patchImage(url, demo, queued.id, [{ op: 'remove', path: `/${name}` }]), 409, undefined, `remove ${name}`);
        assertGlanceError(await patchImage(url, demo, queued.id, [{ op: 'replace', path: `/${name}`, value: 'x' }]), 409, undefined, `replace ${name}`);
      }
    });

    it('answers 400 to a property named __proto__', async () => {
      assertGlanceError(await patchImage(url, demo, queued.id, [{ op: 'add', path: '/__proto__', value: 'x' }]), 400);
      assertGlanceError(await raw('POST', '/v2/images', '{"name": "p", "__proto__": "x"}', { 'content-type': 'application/json' }), 400);
    });

    it('answers 413 to too many tags or properties', async () => {
      const tags = Array.from({ length: 129 }, (_, i) => `t${i}`);
      assertGlanceError(await patchImage(url, demo, queued.id, [{ op: 'replace', path: '/tags', value: tags }]), 413);
      const props = Array.from({ length: 129 }, (_, i) => ({ op: 'add', path: `/prop_${i}`, value: 'v' }));
      assertGlanceError(await patchImage(url, demo, queued.id, props), 413);
    });

    it('answers 400 to malformed JSON', async () => {
      for (const body of ['[{"op": "replace"', 'not json', '']) {
        assertGlanceError(await patchImage(url, demo, queued.id, body), 400, undefined, JSON.stringify(body));
      }
    });

    it('answers 415 to a JSON patch sent as application/json or text/plain', async () => {
      const body = [{ op: 'replace', path: '/name', value: 'x' }];
      assertGlanceError(await patchImage(url, demo, queued.id, body, 'application/json'), 415);
      assertGlanceError(await patchImage(url, demo, queued.id, body, 'text/plain'), 415);
      assertGlanceError(await raw('PATCH', `/v2/images/${queued.id}`, JSON.stringify(body), {}), 415);
    });

    it('changes nothing on any of these', async () => {
      const res = await glance(url, 'GET', `/v2/images/${queued.id}`, demo);
      assert.equal(res.json.name, 'target');
      assert.equal(res.json.status, 'queued');
      assert.deepEqual(res.json.tags, []);
      assert.equal(res.json.os_distro, undefined);
      assert.equal(res.json.prop_0, undefined, 'a refused patch is applied not even in part');
    });

    it('refuses a format change once the image has data (403)', async () => {
      const active = await createImage(url, demo, { name: 'formats', disk_format: 'raw', container_format: 'bare' });
      await upload(url, demo, active.id, bytes(100));
      assertGlanceError(await patchImage(url, demo, active.id, [{ op: 'replace', path: '/disk_format', value: 'qcow2' }]), 403);
      assertGlanceError(await patchImage(url, demo, active.id, [{ op: 'replace', path: '/container_format', value: 'ovf' }]), 403);
    });

    it('refuses an owner change by a non-admin (403)', async () => {
      assertGlanceError(await patchImage(url, demo, queued.id, [{ op: 'replace', path: '/owner', value: 'someone-else' }]), 403);
    });
  });

  describe('image data', () => {
    it('answers 415 to an upload that is not application/octet-stream', async () => {
      const cases: Array<[string, Record<string, string>, string | Buffer]> = [
        ['application/json with JSON', { 'content-type': 'application/json' }, '{"data": 1}'],
        ['application/json with bytes', { 'content-type': 'application/json' }, bytes(1000)],
        ['text/plain', { 'content-type': 'text/plain' }, 'hello'],
        ['an unknown type', { 'content-type': 'image/png' }, bytes(100)],
        ['no content type', {}, bytes(100)],
      ];
      for (const [what, headers, body] of cases) {
        for (const target of ['file', 'stage']) {
          assertGlanceError(await raw('PUT', `/v2/images/${queued.id}/${target}`, body, headers), 415, undefined, `${target}: ${what}`);
        }
      }
      assertGlanceError(await putData(url, demo, queued.id, bytes(3 * 1024 * 1024), { contentType: 'application/json' }), 415, undefined, 'a large JSON-typed upload');
      assert.equal((await glance(url, 'GET', `/v2/images/${queued.id}`, demo)).json.status, 'queued');
    });

    it('answers 409 to an upload to an active image, and to staging it', async () => {
      const active = await createImage(url, demo, { name: 'active', disk_format: 'raw', container_format: 'bare' });
      await upload(url, demo, active.id, bytes(100));
      assertGlanceError(await putData(url, demo, active.id, bytes(100)), 409);
      assertGlanceError(await putData(url, demo, active.id, bytes(100), { target: 'stage' }), 409);
      assertGlanceError(await glance(url, 'POST', `/v2/images/${active.id}/import`, demo, { method: { name: 'glance-direct' } }), 409);
    });

    it('answers 400 to a malformed import request', async () => {
      for (const body of [{}, { method: 'glance-direct' }, { method: { name: 5 } }, { method: { name: 'web-download' } }, { method: { name: 'x'.repeat(5000) } }]) {
        assertGlanceError(await glance(url, 'POST', `/v2/images/${queued.id}/import`, demo, body), 400, undefined, JSON.stringify(body).slice(0, 60));
      }
      assertGlanceError(await raw('POST', `/v2/images/${queued.id}/import`, '{"method": ', { 'content-type': 'application/json' }), 400);
    });
  });

  describe('members and tags', () => {
    let shared: Record<string, any>;
    before(async () => {
      shared = await createImage(url, demo, { name: 'shared' });
    });

    it('answers 400 to a malformed member body', async () => {
      for (const body of [{}, { member: '' }, { member: 5 }, { member: 'm'.repeat(256) }, [], { members: ['x'] }]) {
        assertGlanceError(await glance(url, 'POST', `/v2/images/${shared.id}/members`, demo, body), 400, undefined, JSON.stringify(body).slice(0, 60));
      }
      assertGlanceError(await raw('POST', `/v2/images/${shared.id}/members`, '{"member"', { 'content-type': 'application/json' }), 400);
    });

    it('answers 400 to a malformed member status, 404 to an unknown member', async () => {
      const added = await glance(url, 'POST', `/v2/images/${shared.id}/members`, demo, { member: 'some-project' });
      assert.equal(added.status, 200);
      for (const body of [{}, { status: 'ACCEPTED' }, { status: true }, []]) {
        assertGlanceError(await glance(url, 'PUT', `/v2/images/${shared.id}/members/some-project`, admin, body), 400, undefined, JSON.stringify(body));
      }
      assertGlanceError(await glance(url, 'PUT', `/v2/images/${shared.id}/members/nobody`, admin, { status: 'accepted' }), 404);
      assertGlanceError(await glance(url, 'GET', `/v2/images/${shared.id}/members/nobody`, demo), 404);
      assertGlanceError(await glance(url, 'DELETE', `/v2/images/${shared.id}/members/nobody`, demo), 404);
    });

    it('answers 403 when the owner would accept on behalf of the member', async () => {
      assertGlanceError(await glance(url, 'PUT', `/v2/images/${shared.id}/members/some-project`, demo, { status: 'accepted' }), 403);
    });

    it('answers 413 to a tag beyond the tag limit, and 400 to an oversized tag', async () => {
      const full = await createImage(url, demo, { name: 'full-of-tags', tags: Array.from({ length: 128 }, (_, i) => `tag-${i}`) });
      assertGlanceError(await glance(url, 'PUT', `/v2/images/${full.id}/tags/one-more`, demo), 413);
      assert.equal((await glance(url, 'PUT', `/v2/images/${full.id}/tags/tag-5`, demo)).status, 204, 'a tag it already has is fine');
      assertGlanceError(await glance(url, 'PUT', `/v2/images/${shared.id}/tags/${'t'.repeat(256)}`, demo), 400);
      assert.equal((await glance(url, 'GET', `/v2/images/${full.id}`, demo)).json.tags.length, 128);
    });
  });

  describe('ids in paths', () => {
    const bad = ['not-a-uuid', '12345', `${randomUUID()}x`, 'a'.repeat(300), '%00', '..%2F..%2Fetc%2Fpasswd', randomUUID()];
    for (const id of bad) {
      it(`answers 404 for image id ${id.slice(0, 40)}`, async () => {
        const paths: Array<[string, string, unknown?]> = [
          ['GET', `/v2/images/${id}`],
          ['DELETE', `/v2/images/${id}`],
          ['GET', `/v2/images/${id}/file`],
          ['GET', `/v2/images/${id}/members`],
          ['POST', `/v2/images/${id}/members`, { member: 'x' }],
          ['GET', `/v2/images/${id}/members/x`],
          ['PUT', `/v2/images/${id}/members/x`, { status: 'accepted' }],
          ['DELETE', `/v2/images/${id}/members/x`],
          ['PUT', `/v2/images/${id}/tags/x`],
          ['DELETE', `/v2/images/${id}/tags/x`],
          ['POST', `/v2/images/${id}/actions/deactivate`],
          ['POST', `/v2/images/${id}/actions/reactivate`],
          ['POST', `/v2/images/${id}/import`, { method: { name: 'glance-direct' } }],
        ];
        for (const [method, path, body] of paths) {
          const token = method === 'POST' && path.includes('/actions/') ? admin : demo;
          assertGlanceError(await glance(url, method, path, token, body), 404, undefined, `${method} ${path.slice(0, 80)}`);
        }
        assertGlanceError(await patchImage(url, demo, id, [{ op: 'replace', path: '/name', value: 'x' }]), 404, undefined, 'PATCH');
        for (const target of ['file', 'stage']) {
          assertGlanceError(await putData(url, demo, id, bytes(10), { target: target as 'file' | 'stage' }), 404, undefined, `PUT ${target}`);
        }
      });
    }

    it('answers 404 in Glance\'s shape for an unknown path', async () => {
      assertGlanceError(await glance(url, 'GET', '/v2/nothing-here', demo), 404);
      assertGlanceError(await glance(url, 'GET', `/v2/images/${queued.id}/nothing`, demo), 404);
    });
  });

  describe('GET /v2/images parameters', () => {
    const cases = [
      'limit=-1',
      'limit=abc',
      'limit=1.5',
      'marker=not-a-uuid',
      `marker=${randomUUID()}`,
      'sort_key=bogus',
      'sort_key=properties',
      'sort_dir=sideways',
      'sort_key=name&sort_dir=up',
      'sort_key=name&sort_dir=asc&sort_dir=desc',
      'sort=bogus',
      'sort=name:sideways',
      'sort=name:asc&sort_key=size',
      'sort=name:asc&sort_dir=asc',
      'size_min=abc',
      'size_max=-5',
      'protected=maybe',
      'os_hidden=perhaps',
      'created_at=2020-01-01T00:00:00Z',
      'created_at=gte:yesterday',
      'updated_at=between:2020-01-01T00:00:00Z',
      'visibility=everyone',
      'member_status=maybe',
    ];
    for (const query of cases) {
      it(`answers 400 to ${query}`, async () => {
        assertGlanceError(await glance(url, 'GET', `/v2/images?${query}`, demo), 400);
      });
    }
  });
});
