/**
 * The scheduler's view of the cloud (Nova's HostState and RequestSpec). The scheduler is a
 * pure function of these: filters drop hosts that cannot take the request, weighers order
 * the rest. Claims are made afterwards, atomically, against the database (hosts.ts).
 */

export interface HostState {
  host: string;
  availabilityZone: string;
  hypervisorType: string;
  vcpus: number;
  memoryMb: number;
  localGb: number;
  vcpusUsed: number;
  memoryMbUsed: number;
  localGbUsed: number;
  runningVms: number;
  cpuAllocationRatio: number;
  ramAllocationRatio: number;
  diskAllocationRatio: number;
  reservedHostMemoryMb: number;
  /** The compute service is enabled (not `openstack compute service set --disable`). */
  enabled: boolean;
  /** The agent's heartbeat is recent and the service is not forced down. */
  up: boolean;
}

export interface RequestSpec {
  instanceId: string;
  projectId: string;
  vcpus: number;
  memoryMb: number;
  /** root + ephemeral + swap (in GB, swap rounded up) */
  diskGb: number;
  availabilityZone?: string;
  /** Image properties that constrain hosts (e.g. `hypervisor_type`, `img_hv_type`, `architecture`). */
  imageProperties: Record<string, string>;
  /** The server group the instance boots into, with the hosts its other members are on. */
  group?: { id: string; policy: 'affinity' | 'anti-affinity' | 'soft-affinity' | 'soft-anti-affinity'; memberHosts: string[]; maxServerPerHost?: number };
  /** Hosts of the instances named by same_host / different_host hints. */
  sameHost?: string[];
  differentHost?: string[];
  /** Hosts already tried for this boot (reschedules) and hosts to leave out. */
  ignoreHosts: ReadonlySet<string>;
  /** Admin's `zone:host` forced host, bypassing filters as Nova does. */
  forceHost?: string;
}

/** The filters' and weighers' settings (Nova's [filter_scheduler]). */
export interface SchedulerOptions {
  /** `spread`: hosts with more free resources first; `stack`: fuller hosts first. */
  weigh: 'spread' | 'stack';
}

export interface Scheduler {
  /** Candidate hosts for the request, best first; empty when no host passes every filter. */
  select(spec: RequestSpec, hosts: readonly HostState[], limit?: number): HostState[];
}
