import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';
import { projectIdOf, swift } from './helpers.js';

/** Swift's bulk delete (POST ?bulk-delete): 200 with the summary the bulk middleware writes. */
describe('object storage bulk delete', () => {
  let cloud: TestCloud;
  let admin: string;
  let account: string;

  before(async () => {
    cloud = await startTestCloud();
    admin = await cloud.token('admin');
    account = `/v1/AUTH_${await projectIdOf(cloud.url, admin, 'admin')}`;
  });

  after(async () => {
    await cloud?.stop();
  });

  const bulk = (lines: string[], accept = 'application/json') =>
    swift(cloud.url, 'POST', `${account}?bulk-delete=true`, admin, { headers: { accept, 'content-type': 'text/plain' }, body: `${lines.join('\n')}\n` });

  it('deletes objects and containers, counts what was missing and answers JSON when asked', async () => {
    const container = encodeURIComponent('bulk&one?');
    assert.equal((await swift(cloud.url, 'PUT', `${account}/${container}`, admin)).status, 201);
    for (const name of ['a', 'b c']) assert.equal((await swift(cloud.url, 'PUT', `${account}/${container}/${encodeURIComponent(name)}`, admin, { body: 'x' })).status, 201);
    // Lines are URL-quoted paths, with or without the leading slash; the container last, once empty.
    const reply = await bulk([`${container}/a`, `/${container}/b%20c`, `${container}/gone`, container]);
    assert.equal(reply.status, 200);
    assert.match(reply.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(JSON.parse(reply.text), { 'Number Deleted': 3, 'Number Not Found': 1, 'Response Body': '', 'Response Status': '200 OK', Errors: [] });
    assert.equal((await swift(cloud.url, 'HEAD', `${account}/${container}`, admin)).status, 404);
  });

  it('reports a container that is not empty as an error, in plain text without Accept JSON', async () => {
    assert.equal((await swift(cloud.url, 'PUT', `${account}/full`, admin)).status, 201);
    assert.equal((await swift(cloud.url, 'PUT', `${account}/full/o`, admin, { body: 'x' })).status, 201);
    const reply = await bulk(['full'], 'text/plain');
    assert.equal(reply.status, 200);
    assert.match(reply.text, /^Number Deleted: 0\nNumber Not Found: 0\nResponse Body: \nResponse Status: 400 Bad Request\nErrors:\nfull, 409 Conflict\n$/);
    assert.equal((await swift(cloud.url, 'HEAD', `${account}/full/o`, admin)).status, 200);
  });

  it('lets no one delete through another account', async () => {
    const demo = await cloud.token('demo');
    assert.equal((await swift(cloud.url, 'PUT', `${account}/mine`, admin)).status, 201);
    assert.equal((await swift(cloud.url, 'PUT', `${account}/mine/o`, admin, { body: 'x' })).status, 201);
    const reply = await swift(cloud.url, 'POST', `${account}?bulk-delete=true`, demo, { headers: { accept: 'application/json' }, body: 'mine/o\n' });
    const summary = JSON.parse(reply.text) as { 'Number Deleted': number; Errors: string[][] };
    assert.equal(summary['Number Deleted'], 0);
    assert.deepEqual(summary.Errors, [['mine/o', '403 Forbidden']]);
    assert.equal((await swift(cloud.url, 'HEAD', `${account}/mine/o`, admin)).status, 200);
  });
});
