// Keystone's inexact list filters (name__contains, __icontains, __startswith, __endswith,
// __equals, and their case-insensitive forms) on users, projects, groups, roles and domains.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { V3 } from './helpers.js';

describe('identity: inexact list filters', () => {
  let tc: TestCloud;
  let admin: string;
  const tag = randomUUID().slice(0, 6);

  before(async () => {
    tc = await startTestCloud();
    admin = await tc.token('admin');
    for (const name of [`Web-${tag}-One`, `web-${tag}-two`, `db-${tag}-three`]) {
      for (const [path, key, extra] of [
        ['/users', 'user', {}],
        ['/projects', 'project', {}],
        ['/groups', 'group', {}],
        ['/roles', 'role', {}],
        ['/domains', 'domain', {}],
      ] as const) {
        const res = await api(tc.url, 'POST', `${V3}${path}`, admin, { [key]: { name, ...extra } });
        assert.equal(res.status, 201, `${path} ${name}: ${JSON.stringify(res.json)}`);
      }
    }
  });

  after(async () => {
    await tc?.stop();
  });

  const names = async (path: string, collection: string, query: string) => {
    const res = await api(tc.url, 'GET', `${V3}${path}?${query}`, admin);
    assert.equal(res.status, 200, JSON.stringify(res.json));
    return (res.json[collection] as Array<{ name: string }>).map((e) => e.name).filter((n) => n.includes(tag)).sort();
  };

  for (const [path, collection] of [
    ['/users', 'users'],
    ['/projects', 'projects'],
    ['/groups', 'groups'],
    ['/roles', 'roles'],
    ['/domains', 'domains'],
  ] as const) {
    it(`filters ${collection} as Keystone does`, async () => {
      assert.deepEqual(await names(path, collection, `name__contains=${tag}-t`), [`db-${tag}-three`, `web-${tag}-two`]);
      assert.deepEqual(await names(path, collection, 'name__startswith=web-'), [`web-${tag}-two`]);
      assert.deepEqual(await names(path, collection, 'name__istartswith=WEB-'), [`Web-${tag}-One`, `web-${tag}-two`]);
      assert.deepEqual(await names(path, collection, `name__icontains=${tag}-ONE`), [`Web-${tag}-One`]);
      assert.deepEqual(await names(path, collection, 'name__endswith=three'), [`db-${tag}-three`]);
      assert.deepEqual(await names(path, collection, 'name__iendswith=ONE'), [`Web-${tag}-One`]);
      assert.deepEqual(await names(path, collection, `name__equals=web-${tag}-two`), [`web-${tag}-two`]);
      assert.deepEqual(await names(path, collection, `name__iequals=WEB-${tag}-TWO`), [`web-${tag}-two`]);
      assert.deepEqual(await names(path, collection, 'name__contains=web&name__endswith=two'), [`web-${tag}-two`], 'filters combine');
      // A comparator Keystone does not know filters nothing, as there.
      assert.equal((await names(path, collection, 'name__like=x')).length, 3);
    });
  }
});
