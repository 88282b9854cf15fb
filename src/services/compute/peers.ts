import type { Credentials } from '../../core/policy/index.js';

/**
 * What compute needs from its peer services, as narrow interfaces: in the all-in-one they
 * are in-process adapters (peers-in-process.ts); a split deployment can put the same
 * interfaces over HTTP without touching compute's logic.
 */

/** An image as compute sees it. */
export interface ComputeImage {
  id: string;
  name: string | null;
  status: string;
  size: number | null;
  minDisk: number;
  minRam: number;
  diskFormat: string | null;
  containerFormat: string | null;
  properties: Record<string, string>;
  /** Glance's times (ISO 8601), for the compute images proxy (GET /images/{id}, before 2.36). */
  createdAt?: string;
  updatedAt?: string;
}

export interface ImageLookup {
  /** The image when the project may use it, else undefined. */
  get(projectId: string, imageId: string): Promise<ComputeImage | undefined>;
  /** A snapshot record owned by the project, `queued`, ready for `upload`. */
  createSnapshot(projectId: string, name: string, properties: Record<string, string>, like: ComputeImage | undefined): Promise<ComputeImage>;
  upload(projectId: string, imageId: string, data: AsyncIterable<Buffer> | Buffer): Promise<void>;
  /**
   * The data of an `active` image the project may use (public, community, shared with it or its
   * own), with what the image service says about it, for a host's image cache to verify.
   */
  download(projectId: string, imageId: string): Promise<{ data: AsyncIterable<Buffer>; diskFormat: string | null; checksum: string | null }>;
  /** Removes a snapshot that could not be completed. */
  discard(projectId: string, imageId: string): Promise<void>;
}

/** One address of a server, as Nova's `addresses` lists it. */
export interface ServerAddress {
  networkName: string;
  networkId: string;
  portId: string;
  address: string;
  version: 4 | 6;
  mac: string;
}

/** What a boot asks of the network: Nova's `networks` entries. */
export type RequestedNetwork = { uuid?: string; port?: string; fixed_ip?: string; tag?: string };

/** A Neutron security group as Nova's os-security-groups proxy shows it (ingress rules only). */
export interface ComputeSecurityGroup {
  id: string;
  name: string;
  description: string;
  projectId: string;
  rules: Array<{ id: string; protocol: string | null; portMin: number | null; portMax: number | null; remoteIpPrefix: string | null; remoteGroupId: string | null }>;
}

/** The caller Neutron checks a proxied security-group request against. */
export type SecurityGroupCaller = { projectId: string; isAdmin: boolean; credentials: Credentials };

/** Nova's os-security-groups (before 2.36): Neutron's security groups, as the user. */
export interface SecurityGroupProxy {
  list(caller: SecurityGroupCaller, allProjects: boolean): Promise<ComputeSecurityGroup[]>;
  get(caller: SecurityGroupCaller, id: string): Promise<ComputeSecurityGroup>;
  create(caller: SecurityGroupCaller, name: string, description: string): Promise<ComputeSecurityGroup>;
  update(caller: SecurityGroupCaller, id: string, name: string, description: string): Promise<ComputeSecurityGroup>;
  delete(caller: SecurityGroupCaller, id: string): Promise<void>;
}

/**
 * The network service bound a port to the instance's host, and the binding failed (Neutron's
 * `binding:vif_type` `binding_failed`): the host cannot realise the port's network. Nova's
 * PortBindingFailed; the build is aborted rather than tried again and again.
 */
export class PortBindingFailed extends Error {
  constructor(readonly portId: string) {
    super(`Binding failed for port ${portId}, please check neutron logs for more information.`);
    this.name = 'PortBindingFailed';
  }
}

export interface NetworkPorts {
  /** Security groups for the os-security-groups proxy, when the network service offers them. */
  readonly securityGroups?: SecurityGroupProxy;
  /** Checks a boot's request before the instance is recorded: unknown networks/ports are 400s. */
  validate(projectId: string, requested: RequestedNetwork[] | 'auto'): Promise<void>;
  /** Creates or binds the instance's ports on `host`; returns their ids. Throws PortBindingFailed (having undone its work) when a binding fails. */
  allocate(instance: { id: string; projectId: string; host: string; securityGroups: string[] }, requested: RequestedNetwork[] | 'auto'): Promise<string[]>;
  /** Deletes the ports compute created; unbinds those the user passed in (`preserve`). */
  deallocate(instanceId: string, preserve: string[]): Promise<void>;
  /** Takes one port off the instance: deleted when compute made it, unbound when `preserve`. */
  detach(instanceId: string, portId: string, preserve: boolean): Promise<void>;
  addresses(instanceId: string): Promise<ServerAddress[]>;
  /** Security groups by name for os-security-groups on a server. */
  ports(instanceId: string): Promise<Array<{ id: string; networkId: string; mac: string; fixedIps: Array<{ subnetId: string; ipAddress: string }>; status: string }>>;
}

/**
 * The metadata service's content as a config drive needs it (Nova's InstanceMetadata built
 * for ConfigDriveBuilder): the drive's files for an instance, relative path -> content.
 */
export interface ConfigDriveSource {
  /** Throws when the instance is unknown or deleted. `adminPass` goes onto the drive only. */
  files(instanceId: string, options?: { adminPass?: string }): Promise<ReadonlyMap<string, Buffer>>;
}
