import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { Microversion, requestedMicroversion, resolveMicroversion } from '../../../src/core/http/microversion.js';

const request = (headers: Record<string, string | string[]>) => ({ headers }) as unknown as FastifyRequest;
const MIN = { major: 2, minor: 1 };
const MAX = { major: 2, minor: 37 };

describe('microversions, as every versioned OpenStack API negotiates them', () => {
  it('reads the value naming the service, the last one winning, else the legacy header', () => {
    assert.equal(requestedMicroversion(request({ 'openstack-api-version': 'volume 3.10, compute 2.5, compute 2.7' }), 'compute'), '2.7');
    assert.equal(requestedMicroversion(request({ 'openstack-api-version': ['volume 3.10', 'Compute 2.9'] }), 'compute'), '2.9');
    assert.equal(requestedMicroversion(request({ 'openstack-api-version': 'volume 3.10' }), 'compute'), undefined);
    assert.equal(requestedMicroversion(request({ 'x-openstack-nova-api-version': '2.3' }), 'compute', 'x-openstack-nova-api-version'), '2.3');
    assert.equal(requestedMicroversion(request({ 'openstack-api-version': 'compute 2.4', 'x-openstack-nova-api-version': '2.3' }), 'compute', 'x-openstack-nova-api-version'), '2.4');
  });

  it('answers the minimum when none is asked, the maximum for latest, and refuses the rest', () => {
    assert.equal(String(resolveMicroversion(undefined, MIN, MAX)), '2.1');
    assert.equal(String(resolveMicroversion('LATEST', MIN, MAX)), '2.37');
    assert.equal(String(resolveMicroversion(' 2.10 ', MIN, MAX)), '2.10');
    assert.equal(resolveMicroversion('2', MIN, MAX), 'malformed');
    assert.equal(resolveMicroversion('2.x', MIN, MAX), 'malformed');
    assert.deepEqual(resolveMicroversion('2.099', MIN, MAX), { unsupported: new Microversion(2, 99) });
    assert.deepEqual(resolveMicroversion('2.0', MIN, MAX), { unsupported: new Microversion(2, 0) });
    assert.deepEqual(resolveMicroversion('3.1', MIN, MAX), { unsupported: new Microversion(3, 1) });
  });

  it('compares versions by number, not as text', () => {
    assert.ok(new Microversion(2, 10).atLeast('2.9'));
    assert.ok(!new Microversion(2, 9).atLeast('2.10'));
    assert.ok(new Microversion(3, 0).atLeast('2.99'));
  });
});
