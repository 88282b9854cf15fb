// The conformance runner's readers for its two client suites: which service an openstacksdk
// functional test or a gophercloud acceptance test belongs to, what `go test -json` says about
// each test (and why one failed), and how a suite's report replaces only its own section.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gophercloudServiceOf, goReason, parseGoTestJson } from '../../conformance/gophercloud.js';
import { spliceSection } from '../../conformance/report.js';
import { sdkServiceOf } from '../../conformance/sdk.js';

describe('conformance suites', () => {
  it('maps openstacksdk tests to services, leaving out-of-scope trees and cloud modules out', () => {
    assert.equal(sdkServiceOf('openstack.tests.functional.block_storage.v3.test_volume.TestVolume.test_get'), 'volume');
    assert.equal(sdkServiceOf('openstack.tests.functional.object_store.v1.test_obj.TestObject.test_list'), 'object_storage');
    assert.equal(sdkServiceOf('openstack.tests.functional.cloud.test_users.TestUsers.test_list_users'), 'identity');
    assert.equal(sdkServiceOf('setUpClass (openstack.tests.functional.cloud.test_router.TestRouter)'), 'network');
    assert.equal(sdkServiceOf('openstack.tests.functional.cloud.test_stack.TestStack.test_stack_simple'), undefined);
    assert.equal(sdkServiceOf('openstack.tests.functional.dns.v2.test_zone.TestZone.test_get_zone'), undefined);
  });

  it('maps gophercloud tests to services by package', () => {
    assert.equal(gophercloudServiceOf('networking/v2/extensions/layer3.TestLayer3RouterCreateDelete'), 'network');
    assert.equal(gophercloudServiceOf('blockstorage/v3.TestVolumes'), 'volume');
    assert.equal(gophercloudServiceOf('networking/v2/extensions/lbaas_v2.TestLoadbalancersCRUD'), undefined);
  });

  it('reads go test -json: one result per top-level test, subtests rolled up, a failed build as the package', () => {
    const pkg = 'github.com/gophercloud/gophercloud/acceptance/openstack/compute/v2';
    const events = [
      { Action: 'run', Package: pkg, Test: 'TestA' },
      { Action: 'output', Package: pkg, Test: 'TestA', Output: '    compute.go:449: Attempting to create server\n' },
      { Action: 'output', Package: pkg, Test: 'TestA/sub', Output: '    convenience.go:35: \u001b[1;31mFailure in a_test.go, line 9: unexpected error "Resource not found"\u001b[0m\n' },
      { Action: 'output', Package: pkg, Test: 'TestA', Output: '    compute.go:915: Deleted server: x\n' },
      { Action: 'fail', Package: pkg, Test: 'TestA/sub' },
      { Action: 'fail', Package: pkg, Test: 'TestA' },
      { Action: 'output', Package: pkg, Test: 'TestB', Output: '    conditions.go:18: must be a non-admin to run this test\n' },
      { Action: 'skip', Package: pkg, Test: 'TestB' },
      { Action: 'pass', Package: pkg, Test: 'TestC' },
      { Action: 'output', Package: `${pkg}x`, Output: 'cannot find package\n' },
      { Action: 'fail', Package: `${pkg}x` },
    ];
    const results = parseGoTestJson(events.map((e) => JSON.stringify(e)).join('\n'));
    assert.deepEqual(results, [
      { id: 'compute/v2.TestA', status: 'fail', reason: 'convenience.go:35: Failure in a_test.go, line 9: unexpected error "Resource not found"' },
      { id: 'compute/v2.TestB', status: 'skip', reason: 'conditions.go:18: must be a non-admin to run this test' },
      { id: 'compute/v2.TestC', status: 'success', reason: '' },
      { id: 'compute/v2x.(package)', status: 'fail', reason: 'cannot find package' },
    ]);
  });

  it('gives the last located line when none says what went wrong', () => {
    assert.equal(goReason(['    a.go:1: one\n', '    b.go:2: two\n', 'trailing\n']), 'b.go:2: two');
  });

  it("replaces a suite's own section and appends one it has not written yet", () => {
    const page = '# Conformance\n\n<!-- conformance:tempest:start -->\nT\n<!-- conformance:tempest:end -->\n';
    const first = spliceSection(page, 'sdk', '## SDK\nold');
    assert.equal(first, `${page}\n<!-- conformance:sdk:start -->\n## SDK\nold\n<!-- conformance:sdk:end -->\n`);
    // A single-suite report (no markers at all) is replaced whole, as before sections.
    assert.equal(spliceSection('# Old trees report\n', 'tempest', 'New'), '<!-- conformance:tempest:start -->\nNew\n<!-- conformance:tempest:end -->\n');
    const both = spliceSection(first, 'gophercloud', '## Go\nx');
    const updated = spliceSection(both, 'sdk', '## SDK\nnew');
    assert.match(updated, /## SDK\nnew\n<!-- conformance:sdk:end -->\n\n<!-- conformance:gophercloud:start -->\n## Go\nx/);
    assert.doesNotMatch(updated, /old/);
  });
});
