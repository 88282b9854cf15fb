import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestCloud, type TestCloud } from '../../helpers/cloud.js';

// Route schemas compile on their first request (lazy-validation.ts), so a broken one would only
// show when a client first calls its route: this compiles every one the cloud declares.
describe('every route schema of the whole cloud', () => {
  let cloud: TestCloud;
  before(async () => {
    cloud = await startTestCloud();
  });
  after(async () => {
    await cloud.stop();
  });

  it('compiles', () => {
    const compiled = cloud.cloud.http.compileRouteSchemas();
    assert.ok(compiled > 50, `only ${compiled} schemas were waiting to compile`);
    assert.equal(cloud.cloud.http.compileRouteSchemas(), 0, 'each compiles once');
  });
});
