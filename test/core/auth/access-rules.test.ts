// Application credential access rules as keystonemiddleware matches them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptablePathPattern, accessRulesAllow, requestServicePath } from '../../../src/core/auth/context.js';

describe('access rule matching', () => {
  const rule = (path: string, method = 'GET', service = 'compute') => [{ service, method, path }];

  it('matches one segment with * or {name}, any number with **, and nothing else', () => {
    assert.equal(accessRulesAllow(rule('/v2.1/servers'), 'compute', 'GET', '/v2.1/servers'), true);
    assert.equal(accessRulesAllow(rule('/v2.1/servers'), 'compute', 'GET', '/v2.1/servers/x'), false);
    assert.equal(accessRulesAllow(rule('/v2.1/servers/*'), 'compute', 'GET', '/v2.1/servers/abc'), true);
    assert.equal(accessRulesAllow(rule('/v2.1/servers/*'), 'compute', 'GET', '/v2.1/servers/abc/action'), false);
    assert.equal(accessRulesAllow(rule('/v2.1/servers/{server_id}/action'), 'compute', 'GET', '/v2.1/servers/abc/action'), true);
    assert.equal(accessRulesAllow(rule('/v2.1/servers/**'), 'compute', 'GET', '/v2.1/servers/abc/os-interface/def'), true);
    assert.equal(accessRulesAllow(rule('/v2.1/servers.json'), 'compute', 'GET', '/v2.1/serversXjson'), false, 'a dot is a dot');
  });

  it('needs the same service type and method', () => {
    assert.equal(accessRulesAllow(rule('/v2.1/servers'), 'image', 'GET', '/v2.1/servers'), false);
    assert.equal(accessRulesAllow(rule('/v2.1/servers'), 'compute', 'DELETE', '/v2.1/servers'), false);
  });

  it('takes the path below the endpoint prefix, without the query', () => {
    assert.equal(requestServicePath('/compute/v2.1/servers?limit=1'), '/v2.1/servers');
    assert.equal(requestServicePath('/identity'), '/');
  });

  it('refuses patterns that would make matching slow, and very long paths', () => {
    assert.equal(acceptablePathPattern('/v2.1/servers/{id}/**'), true);
    assert.equal(acceptablePathPattern('/**/a/**/b/**'), false, 'three **');
    assert.equal(acceptablePathPattern('/v2/*{id}'), false, 'two wildcards side by side');
    assert.equal(accessRulesAllow(rule('/**'), 'compute', 'GET', `/${'a'.repeat(5000)}`), false);
  });
});
