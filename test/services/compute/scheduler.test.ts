import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  AvailabilityZoneFilter,
  ComputeFilter,
  CoreFilter,
  CpuWeigher,
  defaultFilters,
  defaultWeighers,
  DifferentHostFilter,
  DiskFilter,
  DiskWeigher,
  FilterScheduler,
  IgnoreHostsFilter,
  ImagePropertiesFilter,
  normaliseWeights,
  RamFilter,
  RamWeigher,
  SameHostFilter,
  ServerGroupAffinityFilter,
  ServerGroupAntiAffinityFilter,
  ServerGroupSoftAffinityWeigher,
  ServerGroupSoftAntiAffinityWeigher,
  type HostState,
  type RequestSpec,
  type SchedulerOptions,
} from '../../../src/services/compute/scheduler/index.js';
import { RADIX_SORT_MIN, sortBestFirst } from '../../../src/services/compute/scheduler/ranking.js';

function host(overrides: Partial<HostState> = {}): HostState {
  return {
    host: 'compute-1',
    availabilityZone: 'nova',
    hypervisorType: 'QEMU',
    vcpus: 8,
    memoryMb: 16_384,
    localGb: 100,
    vcpusUsed: 0,
    memoryMbUsed: 0,
    localGbUsed: 0,
    runningVms: 0,
    cpuAllocationRatio: 1,
    ramAllocationRatio: 1,
    diskAllocationRatio: 1,
    reservedHostMemoryMb: 0,
    enabled: true,
    up: true,
    ...overrides,
  };
}

function spec(overrides: Partial<RequestSpec> = {}): RequestSpec {
  return {
    instanceId: 'instance-1',
    projectId: 'project-1',
    vcpus: 1,
    memoryMb: 512,
    diskGb: 1,
    imageProperties: {},
    ignoreHosts: new Set(),
    ...overrides,
  };
}

const spread: SchedulerOptions = { weigh: 'spread' };
const stack: SchedulerOptions = { weigh: 'stack' };
const names = (hosts: readonly HostState[]) => hosts.map((h) => h.host);

describe('scheduler filters', () => {
  it('ComputeFilter passes enabled hosts that are up, and nothing else', () => {
    const filter = new ComputeFilter();
    assert.equal(filter.passes(host(), spec()), true);
    assert.equal(filter.passes(host({ enabled: false }), spec()), false);
    assert.equal(filter.passes(host({ up: false }), spec()), false);
    assert.equal(filter.passes(host({ enabled: false, up: false }), spec()), false);
  });

  it('AvailabilityZoneFilter passes every host without a requested zone, else only that zone', () => {
    const filter = new AvailabilityZoneFilter();
    assert.equal(filter.passes(host({ availabilityZone: 'az1' }), spec()), true);
    assert.equal(filter.passes(host({ availabilityZone: 'az1' }), spec({ availabilityZone: 'az1' })), true);
    assert.equal(filter.passes(host({ availabilityZone: 'az2' }), spec({ availabilityZone: 'az1' })), false);
  });

  it('RamFilter: exactly at capacity passes, one MB over fails', () => {
    const filter = new RamFilter();
    const h = host({ memoryMb: 4096, memoryMbUsed: 1024 });
    assert.equal(filter.passes(h, spec({ memoryMb: 3072 })), true);
    assert.equal(filter.passes(h, spec({ memoryMb: 3073 })), false);
  });

  it('RamFilter overcommits by ram_allocation_ratio and subtracts the reserved host memory', () => {
    const filter = new RamFilter();
    // 4096 × 1.5 − 512 reserved − 2048 used = 3584
    const h = host({ memoryMb: 4096, ramAllocationRatio: 1.5, reservedHostMemoryMb: 512, memoryMbUsed: 2048 });
    assert.equal(filter.passes(h, spec({ memoryMb: 3584 })), true);
    assert.equal(filter.passes(h, spec({ memoryMb: 3585 })), false);
    // The reserve alone can make an otherwise empty host too small.
    assert.equal(filter.passes(host({ memoryMb: 1024, reservedHostMemoryMb: 512 }), spec({ memoryMb: 513 })), false);
  });

  it('DiskFilter: at capacity passes, one GB over fails, disk_allocation_ratio overcommits', () => {
    const filter = new DiskFilter();
    assert.equal(filter.passes(host({ localGb: 100, localGbUsed: 60 }), spec({ diskGb: 40 })), true);
    assert.equal(filter.passes(host({ localGb: 100, localGbUsed: 60 }), spec({ diskGb: 41 })), false);
    // 100 × 2 − 150 = 50
    const overcommitted = host({ localGb: 100, diskAllocationRatio: 2, localGbUsed: 150 });
    assert.equal(filter.passes(overcommitted, spec({ diskGb: 50 })), true);
    assert.equal(filter.passes(overcommitted, spec({ diskGb: 51 })), false);
  });

  it('CoreFilter: at capacity passes, one over fails, cpu_allocation_ratio overcommits', () => {
    const filter = new CoreFilter();
    assert.equal(filter.passes(host({ vcpus: 8, vcpusUsed: 6 }), spec({ vcpus: 2 })), true);
    assert.equal(filter.passes(host({ vcpus: 8, vcpusUsed: 6 }), spec({ vcpus: 3 })), false);
    // 4 × 4 − 12 = 4
    const overcommitted = host({ vcpus: 4, cpuAllocationRatio: 4, vcpusUsed: 12 });
    assert.equal(filter.passes(overcommitted, spec({ vcpus: 4 })), true);
    assert.equal(filter.passes(overcommitted, spec({ vcpus: 5 })), false);
  });

  it('CoreFilter refuses an instance with more vCPUs than the host has, whatever the ratio (as Nova)', () => {
    const filter = new CoreFilter();
    assert.equal(filter.passes(host({ vcpus: 4, cpuAllocationRatio: 16 }), spec({ vcpus: 4 })), true);
    assert.equal(filter.passes(host({ vcpus: 4, cpuAllocationRatio: 16 }), spec({ vcpus: 5 })), false);
  });

  it('filters refuse overfull hosts even for an empty request', () => {
    assert.equal(new RamFilter().passes(host({ memoryMb: 1024, memoryMbUsed: 2048 }), spec({ memoryMb: 0 })), false);
    assert.equal(new DiskFilter().passes(host({ localGb: 10, localGbUsed: 11 }), spec({ diskGb: 0 })), false);
  });

  it('ImagePropertiesFilter matches hypervisor_type or img_hv_type, canonicalised; ignores other properties', () => {
    const filter = new ImagePropertiesFilter();
    const qemu = host({ hypervisorType: 'QEMU' });
    assert.equal(filter.passes(qemu, spec()), true);
    assert.equal(filter.passes(qemu, spec({ imageProperties: { hypervisor_type: 'qemu' } })), true);
    assert.equal(filter.passes(qemu, spec({ imageProperties: { hypervisor_type: 'xen' } })), false);
    assert.equal(filter.passes(qemu, spec({ imageProperties: { img_hv_type: 'QEMU' } })), true);
    assert.equal(filter.passes(qemu, spec({ imageProperties: { img_hv_type: 'lxc' } })), false);
    assert.equal(filter.passes(host({ hypervisorType: 'xen' }), spec({ imageProperties: { hypervisor_type: 'xapi' } })), true);
    assert.equal(filter.passes(qemu, spec({ imageProperties: { architecture: 'ppc64le', os_distro: 'ubuntu' } })), true);
    assert.equal(filter.passes(qemu, spec({ imageProperties: { hypervisor_type: '' } })), true);
  });

  it('ServerGroupAffinityFilter keeps members together once the group has a host', () => {
    const filter = new ServerGroupAffinityFilter();
    const affinity = (memberHosts: string[]) => spec({ group: { id: 'g', policy: 'affinity', memberHosts } });
    assert.equal(filter.passes(host({ host: 'a' }), spec()), true);
    assert.equal(filter.passes(host({ host: 'a' }), affinity([])), true);
    assert.equal(filter.passes(host({ host: 'a' }), affinity(['a', 'a'])), true);
    assert.equal(filter.passes(host({ host: 'b' }), affinity(['a'])), false);
    // Other policies are not this filter's business.
    assert.equal(filter.passes(host({ host: 'b' }), spec({ group: { id: 'g', policy: 'soft-affinity', memberHosts: ['a'] } })), true);
  });

  it('ServerGroupAntiAffinityFilter avoids members, counting up to max_server_per_host', () => {
    const filter = new ServerGroupAntiAffinityFilter();
    const anti = (memberHosts: string[], maxServerPerHost?: number) =>
      spec({ group: { id: 'g', policy: 'anti-affinity', memberHosts, ...(maxServerPerHost !== undefined ? { maxServerPerHost } : {}) } });
    assert.equal(filter.passes(host({ host: 'a' }), anti([])), true);
    assert.equal(filter.passes(host({ host: 'a' }), anti(['a'])), false);
    assert.equal(filter.passes(host({ host: 'b' }), anti(['a'])), true);
    assert.equal(filter.passes(host({ host: 'a' }), anti(['a'], 2)), true);
    assert.equal(filter.passes(host({ host: 'a' }), anti(['a', 'b', 'a'], 2)), false);
    assert.equal(filter.passes(host({ host: 'b' }), anti(['a', 'b', 'a'], 2)), true);
    assert.equal(filter.passes(host({ host: 'a' }), spec({ group: { id: 'g', policy: 'soft-anti-affinity', memberHosts: ['a'] } })), true);
  });

  it('SameHostFilter and DifferentHostFilter follow the hints; absent or empty hints constrain nothing', () => {
    const same = new SameHostFilter();
    const different = new DifferentHostFilter();
    const a = host({ host: 'a' });
    const b = host({ host: 'b' });
    assert.equal(same.passes(a, spec({ sameHost: ['a', 'c'] })), true);
    assert.equal(same.passes(b, spec({ sameHost: ['a', 'c'] })), false);
    assert.equal(same.passes(b, spec({ sameHost: [] })), true);
    assert.equal(same.passes(b, spec()), true);
    assert.equal(different.passes(a, spec({ differentHost: ['a'] })), false);
    assert.equal(different.passes(b, spec({ differentHost: ['a'] })), true);
    assert.equal(different.passes(a, spec({ differentHost: [] })), true);
    assert.equal(different.passes(a, spec()), true);
  });

  it('IgnoreHostsFilter drops the hosts already tried', () => {
    const filter = new IgnoreHostsFilter();
    assert.equal(filter.passes(host({ host: 'a' }), spec({ ignoreHosts: new Set(['a']) })), false);
    assert.equal(filter.passes(host({ host: 'b' }), spec({ ignoreHosts: new Set(['a']) })), true);
  });
});

describe('scheduler weighers', () => {
  it('normalises like Nova: 0..1 over the set, all 0 when equal', () => {
    assert.deepEqual(normaliseWeights([10, 20, 30]), [0, 0.5, 1]);
    assert.deepEqual(normaliseWeights([5, 5]), [0, 0]);
    assert.deepEqual(normaliseWeights([]), []);
  });

  it('raw weights are free resources as Nova computes them', () => {
    const h = host({ memoryMb: 8192, reservedHostMemoryMb: 512, memoryMbUsed: 1024, ramAllocationRatio: 1.5, vcpus: 8, cpuAllocationRatio: 2, vcpusUsed: 3, localGb: 100, localGbUsed: 30, diskAllocationRatio: 3 });
    assert.equal(new RamWeigher(1).weigh(h), 6656);
    assert.equal(new CpuWeigher(1).weigh(h), 13);
    assert.equal(new DiskWeigher(1).weigh(h), 70);
  });

  it('spread puts the emptiest host first, stack the fullest', () => {
    const hosts = [
      host({ host: 'half', memoryMbUsed: 8192, vcpusUsed: 4, localGbUsed: 50 }),
      host({ host: 'empty' }),
      host({ host: 'full', memoryMbUsed: 15_000, vcpusUsed: 7, localGbUsed: 90 }),
    ];
    assert.deepEqual(names(new FilterScheduler(spread).select(spec(), hosts)), ['empty', 'half', 'full']);
    assert.deepEqual(names(new FilterScheduler(stack).select(spec(), hosts)), ['full', 'half', 'empty']);
  });

  it('sums the normalised weights: two resources outweigh one', () => {
    const hosts = [
      host({ host: 'ram-rich', memoryMbUsed: 0, vcpusUsed: 4, localGbUsed: 50 }),
      host({ host: 'cpu-and-disk-rich', memoryMbUsed: 8192, vcpusUsed: 0, localGbUsed: 0 }),
    ];
    assert.deepEqual(names(new FilterScheduler(spread).select(spec(), hosts)), ['cpu-and-disk-rich', 'ram-rich']);
  });

  it('equal weights come back in host-name order, whatever the input order', () => {
    const hosts = ['c', 'a', 'b'].map((name) => host({ host: name }));
    assert.deepEqual(names(new FilterScheduler(spread).select(spec(), hosts)), ['a', 'b', 'c']);
    assert.deepEqual(names(new FilterScheduler(stack).select(spec(), [...hosts].reverse())), ['a', 'b', 'c']);
  });

  it('soft-affinity prefers the host with the most members; soft-anti-affinity the fewest; neither filters', () => {
    const hosts = ['a', 'b', 'c'].map((name) => host({ host: name }));
    const memberHosts = ['b', 'b', 'c'];
    const soft = new FilterScheduler(spread);
    assert.deepEqual(names(soft.select(spec({ group: { id: 'g', policy: 'soft-affinity', memberHosts } }), hosts)), ['b', 'c', 'a']);
    assert.deepEqual(names(soft.select(spec({ group: { id: 'g', policy: 'soft-anti-affinity', memberHosts } }), hosts)), ['a', 'c', 'b']);
    const weigher = new ServerGroupSoftAffinityWeigher();
    assert.equal(weigher.weigh(host({ host: 'b' }), spec({ group: { id: 'g', policy: 'soft-affinity', memberHosts } })), 2);
    assert.equal(new ServerGroupSoftAntiAffinityWeigher().weigh(host({ host: 'b' }), spec({ group: { id: 'g', policy: 'soft-anti-affinity', memberHosts } })), -2);
    assert.equal(weigher.weigh(host({ host: 'b' }), spec({ group: { id: 'g', policy: 'anti-affinity', memberHosts } })), 0);
  });
});

describe('FilterScheduler', () => {
  it('lists its filters cheapest first and its weighers with their multipliers', () => {
    const scheduler = new FilterScheduler(stack);
    assert.equal(scheduler.filterNames()[0], 'ComputeFilter');
    assert.equal(scheduler.filterNames().length, 11);
    assert.ok(scheduler.weigherNames().includes('RAMWeigher(-1)'));
  });

  it('hard affinity and anti-affinity filter hosts', () => {
    const hosts = ['a', 'b', 'c'].map((name) => host({ host: name }));
    const scheduler = new FilterScheduler(spread);
    assert.deepEqual(names(scheduler.select(spec({ group: { id: 'g', policy: 'affinity', memberHosts: ['b'] } }), hosts)), ['b']);
    assert.deepEqual(names(scheduler.select(spec({ group: { id: 'g', policy: 'anti-affinity', memberHosts: ['b'] } }), hosts)), ['a', 'c']);
    assert.deepEqual(names(scheduler.select(spec({ group: { id: 'g', policy: 'affinity', memberHosts: [] } }), hosts)), ['a', 'b', 'c']);
  });

  it('applies same_host, different_host and ignoreHosts together', () => {
    const hosts = ['a', 'b', 'c', 'd'].map((name) => host({ host: name }));
    const request = spec({ sameHost: ['a', 'b', 'c'], differentHost: ['b'], ignoreHosts: new Set(['c']) });
    assert.deepEqual(names(new FilterScheduler(spread).select(request, hosts)), ['a']);
  });

  it('a forced host skips the filters and matches case-insensitively, but ignoreHosts still applies', () => {
    const hosts = [host({ host: 'a' }), host({ host: 'Broken', enabled: false, up: false, memoryMb: 0 })];
    const scheduler = new FilterScheduler(spread);
    assert.deepEqual(names(scheduler.select(spec({ forceHost: 'Broken' }), hosts)), ['Broken']);
    assert.deepEqual(names(scheduler.select(spec({ forceHost: 'broken' }), hosts)), ['Broken']);
    assert.deepEqual(scheduler.select(spec({ forceHost: 'missing' }), hosts), []);
    assert.deepEqual(scheduler.select(spec({ forceHost: 'a', ignoreHosts: new Set(['a']) }), hosts), []);
  });

  it('returns an empty list when nothing fits, or there are no hosts', () => {
    const scheduler = new FilterScheduler(spread);
    assert.deepEqual(scheduler.select(spec({ memoryMb: 1_000_000 }), [host(), host({ host: 'b' })]), []);
    assert.deepEqual(scheduler.select(spec(), []), []);
    assert.deepEqual(scheduler.select(spec(), [host({ up: false })]), []);
  });

  it('limit returns the best few: the prefix of the full order', () => {
    const hosts = Array.from({ length: 50 }, (_, i) => host({ host: `h${String(i).padStart(2, '0')}`, memoryMbUsed: (i * 7919) % 16_000, vcpusUsed: i % 8 }));
    const scheduler = new FilterScheduler(spread);
    const all = names(scheduler.select(spec(), hosts));
    assert.equal(all.length, 50);
    for (const limit of [1, 2, 3, 10, 49, 50, 51]) {
      assert.deepEqual(names(scheduler.select(spec(), hosts, limit)), all.slice(0, limit), `limit ${limit}`);
    }
    assert.deepEqual(scheduler.select(spec(), hosts, 0), []);
    assert.deepEqual(names(scheduler.select(spec(), hosts, 2.7)), all.slice(0, 2));
    assert.throws(() => scheduler.select(spec(), hosts, Number.NaN), RangeError);
  });
});

/** What the scheduler should return, computed the slow, obvious way from the public pieces. */
function referenceSelect(options: SchedulerOptions, request: RequestSpec, hosts: readonly HostState[]): string[] {
  const filters = defaultFilters();
  const passing = hosts.filter((h) => filters.every((f) => f.passes(h, request)));
  const totals = passing.map(() => 0);
  if (passing.length > 1) {
    for (const weigher of defaultWeighers(options)) {
      const normalised = normaliseWeights(passing.map((h) => weigher.weigh(h, request)));
      normalised.forEach((weight, i) => (totals[i]! += weigher.multiplier * weight));
    }
  }
  return passing
    .map((h, i) => ({ name: h.host, weight: totals[i]! }))
    .sort((x, y) => y.weight - x.weight || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0))
    .map((x) => x.name);
}

describe('FilterScheduler, randomized', () => {
  const hostNames = Array.from({ length: 40 }, (_, i) => `node-${i}`);
  /** true 9 times in 10, so most hosts are usable. */
  const mostly = fc.integer({ min: 0, max: 9 }).map((roll) => roll > 0);
  const arbitraryHost = (name: string) =>
    fc.record({
      host: fc.constant(name),
      availabilityZone: fc.constantFrom('az1', 'az2'),
      hypervisorType: fc.constantFrom('QEMU', 'kvm', 'xen'),
      // Capacities and usage overlap enough that some hosts are full and most are not.
      vcpus: fc.integer({ min: 2, max: 16 }),
      memoryMb: fc.integer({ min: 2048, max: 16_384 }),
      localGb: fc.integer({ min: 40, max: 200 }),
      vcpusUsed: fc.integer({ min: 0, max: 16 }),
      memoryMbUsed: fc.integer({ min: 0, max: 6000 }),
      localGbUsed: fc.integer({ min: 0, max: 120 }),
      runningVms: fc.integer({ min: 0, max: 20 }),
      cpuAllocationRatio: fc.constantFrom(1, 2, 4, 16),
      ramAllocationRatio: fc.constantFrom(1, 1.5),
      diskAllocationRatio: fc.constantFrom(1, 2),
      reservedHostMemoryMb: fc.constantFrom(0, 512),
      enabled: mostly,
      up: mostly,
    });
  // The count is drawn uniformly (fast-check would favour short lists) and the order shuffled,
  // so the name tie-break is tested against input order.
  const arbitraryHosts = fc
    .integer({ min: 0, max: hostNames.length })
    .chain((count) => fc.shuffledSubarray(hostNames, { minLength: count, maxLength: count }))
    .chain((chosen) => fc.tuple(...chosen.map(arbitraryHost)));
  const someHosts = fc.subarray(hostNames, { maxLength: 6 });
  /** Hints naming many hosts, so same_host still leaves a choice. */
  const manyHosts = fc.subarray(hostNames, { minLength: 10 });
  const arbitrarySpec: fc.Arbitrary<RequestSpec> = fc.record(
    {
      instanceId: fc.constant('instance'),
      projectId: fc.constant('project'),
      vcpus: fc.integer({ min: 1, max: 4 }),
      memoryMb: fc.integer({ min: 0, max: 4096 }),
      diskGb: fc.integer({ min: 0, max: 40 }),
      availabilityZone: fc.constantFrom('az1', 'az2'),
      imageProperties: fc.oneof(
        { arbitrary: fc.constant<Record<string, string>>({}), weight: 4 },
        fc.constantFrom('qemu', 'KVM', 'xapi').map((type): Record<string, string> => ({ hypervisor_type: type })),
        fc.constantFrom('qemu', 'lxc').map((type): Record<string, string> => ({ img_hv_type: type, architecture: 'x86_64' })),
      ),
      group: fc.record(
        {
          id: fc.constant('group'),
          policy: fc.constantFrom('affinity' as const, 'anti-affinity' as const, 'soft-affinity' as const, 'soft-anti-affinity' as const),
          memberHosts: fc.array(fc.constantFrom(...hostNames), { maxLength: 12 }),
          maxServerPerHost: fc.integer({ min: 1, max: 3 }),
        },
        { requiredKeys: ['id', 'policy', 'memberHosts'] },
      ),
      sameHost: manyHosts,
      differentHost: someHosts,
      ignoreHosts: someHosts.map((chosen): ReadonlySet<string> => new Set(chosen)),
    },
    { requiredKeys: ['instanceId', 'projectId', 'vcpus', 'memoryMb', 'diskGb', 'imageProperties', 'ignoreHosts'] },
  );

  it('returns exactly the hosts that pass every filter, in the reference order, and limit is its prefix', () => {
    // One scheduler per policy, reused across runs of different sizes: the scratch arrays must not leak state.
    const schedulers = { spread: new FilterScheduler(spread), stack: new FilterScheduler(stack) };
    const filters = defaultFilters();
    let runsWithSeveralHosts = 0;
    fc.assert(
      fc.property(arbitraryHosts, arbitrarySpec, fc.constantFrom(spread, stack), fc.integer({ min: 1, max: 5 }), (hosts, request, options, limit) => {
        const scheduler = schedulers[options.weigh];
        const selected = scheduler.select(request, hosts);
        if (selected.length > 1) runsWithSeveralHosts++;
        for (const chosen of selected) {
          const failed = filters.filter((f) => !f.passes(chosen, request)).map((f) => f.name);
          assert.deepEqual(failed, [], `${chosen.host} was selected but fails ${failed.join(', ')}`);
        }
        assert.deepEqual(names(selected), referenceSelect(options, request, hosts));
        assert.deepEqual(names(scheduler.select(request, hosts, limit)), names(selected).slice(0, limit));
      }),
      { numRuns: 500, seed: 0x5c4ed },
    );
    // Guards the generators: if most requests fitted nowhere, the property would prove little.
    assert.ok(runsWithSeveralHosts >= 100, `only ${runsWithSeveralHosts} of 500 runs selected more than one host`);
  });
});

describe('sortBestFirst', () => {
  /** Orders by the rule directly: heavier first, then name, then index. */
  function referenceOrder(weights: Float64Array, hosts: readonly HostState[]): number[] {
    return hosts
      .map((_, index) => index)
      .sort((a, b) => weights[b]! - weights[a]! || (hosts[a]!.host < hosts[b]!.host ? -1 : hosts[a]!.host > hosts[b]!.host ? 1 : a - b));
  }

  // Sizes on both sides of the radix threshold; weights distinct, on few levels (long tie
  // runs), all equal, negative and positive (the sign handling of the radix keys), and duplicate
  // host names (the index decides).
  const sizes = [0, 1, 2, 17, 1000, RADIX_SORT_MIN, RADIX_SORT_MIN + 777];
  const weightings: Record<string, (random: () => number) => number> = {
    distinct: (random) => random() * 6 - 3,
    'five levels': (random) => Math.floor(random() * 5) - 2,
    'all equal': () => 0,
    'tiny and huge': (random) => (random() < 0.5 ? -1 : 1) * (random() < 0.5 ? Number.MIN_VALUE * Math.floor(random() * 4) : 1e300 * random()),
  };
  for (const size of sizes) {
    for (const [label, weighting] of Object.entries(weightings)) {
      it(`${size} candidates, ${label}`, () => {
        let seed = size + 1;
        const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
        const hosts = Array.from({ length: size }, () => host({ host: `h${Math.floor(random() * size * 0.8)}` }));
        const weights = Float64Array.from(hosts, () => weighting(random));
        const indexes = Int32Array.from(hosts, (_, index) => index);
        sortBestFirst(indexes, size, weights, hosts);
        assert.deepEqual(Array.from(indexes), referenceOrder(weights, hosts));
      });
    }
  }
});
