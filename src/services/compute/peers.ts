import type { Credentials } from '../../core/policy/index.js';
import { ApiError } from '../../core/http/errors.js';

/**
 * What compute needs from its peer services, as narrow interfaces: in the all-in-one they
 * are in-process adapters (image/client.ts, network/client.ts); a split deployment can put the same
 * interfaces over HTTP without touching compute's logic. A peer refuses with core's ApiError
 * (status and message chosen as Nova words them), which compute answers in Nova's error shape.
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

/**
 * Who a user's request acts as: Nova passes the user's token on to Glance, so an admin sees
 * every image and a reader may not delete one. Calls without one act for the project.
 */
export interface ImageActor {
  projectId: string;
  isAdmin: boolean;
  credentials: Credentials;
}

export interface ImageLookup {
  /** The image when the project (or `actor`) may see it, else undefined. */
  get(projectId: string, imageId: string, actor?: ImageActor): Promise<ComputeImage | undefined>;
  /**
   * The images `actor` may see, a page at a time (Glance's limit and marker; `name` filters),
   * for the compute images proxy (GET /images, before 2.36). `nextMarker` when the page is full.
   */
  list(actor: ImageActor, query: { limit?: number; marker?: string; name?: string }): Promise<{ images: ComputeImage[]; nextMarker?: string }>;
  /** A snapshot record owned by the project, `queued`, ready for `upload`. */
  createSnapshot(projectId: string, name: string, properties: Record<string, string>, like: ComputeImage | undefined): Promise<ComputeImage>;
  upload(projectId: string, imageId: string, data: AsyncIterable<Buffer> | Buffer): Promise<void>;
  /**
   * The data of an `active` image the project may use (public, community, shared with it or its
   * own), with what the image service says about it, for a host's image cache to verify.
   */
  download(projectId: string, imageId: string): Promise<{ data: AsyncIterable<Buffer>; diskFormat: string | null; checksum: string | null }>;
  /** Deletes an image: a snapshot that could not be completed, or one a user deletes through the proxy (`actor`). */
  discard(projectId: string, imageId: string, actor?: ImageActor): Promise<void>;
}

/** One address of a server, as Nova's `addresses` lists it. */
export interface ServerAddress {
  networkName: string;
  networkId: string;
  portId: string;
  address: string;
  version: 4 | 6;
  mac: string;
  /** Nova's OS-EXT-IPS:type: a port's own address, or a floating IP associated with it. */
  type: 'fixed' | 'floating';
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

/** One ingress rule of a group, as the proxy shows it. */
export type ComputeSecurityGroupRule = ComputeSecurityGroup['rules'][number];

/**
 * A rule Nova's os-security-group-rules builds (ingress, checked by Nova's own rules before
 * Neutron sees it): a protocol and port range, and either a CIDR or a remote group.
 */
export type NewSecurityGroupRule = { protocol: string | null; portMin: number | null; portMax: number | null; cidr: string | null; remoteGroupId: string | null };

/** The caller Neutron checks a proxied security-group request against. */
export type SecurityGroupCaller = { projectId: string; isAdmin: boolean; credentials: Credentials };

/**
 * An instance as the network service knows it. Its ports are those of its own project whose
 * device_id is its id (Nova's search: tenant_id = instance.project_id, device_id = uuid): a port
 * of another project naming the instance as its device is not the instance's.
 */
export type InstanceRef = { id: string; projectId: string };

/**
 * Nova's os-security-groups (before 2.36), and the groups of a server's ports (Nova's
 * security_group_api with Neutron): Neutron's security groups, as the user.
 */
export interface SecurityGroupProxy {
  list(caller: SecurityGroupCaller, allProjects: boolean): Promise<ComputeSecurityGroup[]>;
  get(caller: SecurityGroupCaller, id: string): Promise<ComputeSecurityGroup>;
  create(caller: SecurityGroupCaller, name: string, description: string): Promise<ComputeSecurityGroup>;
  update(caller: SecurityGroupCaller, id: string, name: string, description: string): Promise<ComputeSecurityGroup>;
  delete(caller: SecurityGroupCaller, id: string): Promise<void>;
  /** os-security-group-rules create: the rule in the group the caller may see (404 when not, 400 for a rule Neutron refuses or already has). */
  addRule(caller: SecurityGroupCaller, groupId: string, rule: NewSecurityGroupRule): Promise<ComputeSecurityGroupRule & { groupId: string }>;
  /** os-security-group-rules delete: 404 for a rule the caller may not see. */
  deleteRule(caller: SecurityGroupCaller, ruleId: string): Promise<void>;
  /**
   * A boot's requested groups (names or ids) as ids of the caller's project's groups, checked
   * before anything is recorded: an unknown group, or another project's, is a 400 (a name two
   * groups share, a 409). `default` stays `default`: allocation makes it when it is missing.
   */
  resolveForBoot(caller: SecurityGroupCaller, requested: string[]): Promise<string[]>;
  /** The groups on the instance's ports that the caller may see, once per port, as Nova lists them. */
  onInstance(caller: SecurityGroupCaller, instance: InstanceRef): Promise<ComputeSecurityGroup[]>;
  /** addSecurityGroup: the group (a name in the caller's project, or an id it may see) onto every port of the instance. */
  addToInstance(caller: SecurityGroupCaller, instance: InstanceRef, nameOrId: string): Promise<void>;
  /** removeSecurityGroup: the group off every port of the instance that has it. */
  removeFromInstance(caller: SecurityGroupCaller, instance: InstanceRef, nameOrId: string): Promise<void>;
}

/** A Neutron floating IP as Nova's os-floating-ips proxy shows it. */
export interface ComputeFloatingIp {
  id: string;
  address: string;
  fixedAddress: string | null;
  /** The device of the associated port (the instance), when associated. */
  instanceId: string | null;
  portId: string | null;
  /** The external network's name (its id when unnamed): Nova's pool. */
  pool: string;
}

/**
 * Nova's os-floating-ips, os-floating-ip-pools and the addFloatingIp/removeFloatingIp actions
 * (before 2.36 / 2.44): Neutron's floating IPs, as the user, refusals worded as Nova's.
 */
export interface FloatingIpProxy {
  /** The caller's project's floating IPs. */
  list(caller: SecurityGroupCaller): Promise<ComputeFloatingIp[]>;
  /** 404 `Floating IP not found for ID {id}` for one the caller may not see. */
  get(caller: SecurityGroupCaller, id: string): Promise<ComputeFloatingIp>;
  /** 404 `floating IP not found` when the caller sees no floating IP with that address. */
  byAddress(caller: SecurityGroupCaller, address: string): Promise<ComputeFloatingIp>;
  /** A new floating IP from the external network named `pool` (`public` when none is named). */
  allocate(caller: SecurityGroupCaller, pool: string | undefined): Promise<ComputeFloatingIp>;
  /** Disassociates and releases it. */
  release(caller: SecurityGroupCaller, id: string): Promise<void>;
  /** The names of the external networks the caller may see. */
  pools(caller: SecurityGroupCaller): Promise<string[]>;
  /** Points the floating IP at the instance's port holding `fixedAddress`. */
  associate(caller: SecurityGroupCaller, instance: InstanceRef, address: string, fixedAddress: string): Promise<void>;
  disassociate(caller: SecurityGroupCaller, id: string): Promise<void>;
}

/** A Neutron network as Nova's os-networks and os-tenant-networks proxies show it. */
export interface ComputeNetwork {
  id: string;
  name: string;
}

/** The networks the caller may see, as Nova's network_api.get_all and get (404 `Network not found`). */
export interface NetworkListProxy {
  list(caller: SecurityGroupCaller): Promise<ComputeNetwork[]>;
  get(caller: SecurityGroupCaller, id: string): Promise<ComputeNetwork>;
}

/** What a server's view shows of its ports. */
export interface ServerNetworkView {
  addresses: ServerAddress[];
  /** Names of the groups on its ports that the viewer may see, once per port (Nova's `security_groups`). */
  securityGroups: string[];
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

/**
 * What the network service refuses in a boot's or an attach's request, as Nova's exceptions
 * name it. The status is the one a boot answers (Nova's servers API); a route that answers
 * otherwise (os-interface) re-words it by class, as Nova's attach_interfaces does.
 */
export class NetworkRequestRefused extends ApiError {
  constructor(status: 400 | 409, message: string, kind: string) {
    super(status, message, kind);
    this.name = kind;
  }
}

export class NetworkNotFound extends NetworkRequestRefused {
  constructor(readonly networkId: string) {
    super(400, `Network ${networkId} could not be found.`, 'NetworkNotFound');
  }
}

export class PortNotFound extends NetworkRequestRefused {
  constructor(readonly portId: string) {
    super(400, `Port id ${portId} could not be found.`, 'PortNotFound');
  }
}

export class PortInUse extends NetworkRequestRefused {
  constructor(readonly portId: string) {
    super(409, `Port ${portId} is still in use.`, 'PortInUse');
  }
}

export class FixedIpAlreadyInUse extends NetworkRequestRefused {
  constructor(
    readonly address: string,
    readonly instanceId: string,
  ) {
    super(400, `Fixed IP address ${address} is already in use on instance ${instanceId}.`, 'FixedIpAlreadyInUse');
  }
}

/** No network was named and the project has more than one. */
export class NetworkAmbiguous extends NetworkRequestRefused {
  constructor() {
    super(409, 'Multiple possible networks found, use a Network ID to be more specific.', 'NetworkAmbiguous');
  }
}

export interface NetworkPorts {
  /** Security groups for the os-security-groups proxy, when the network service offers them. */
  readonly securityGroups?: SecurityGroupProxy;
  /** Floating IPs and their pools for the os-floating-ips proxies, when the network service offers them. */
  readonly floatingIps?: FloatingIpProxy;
  /** Networks for the os-networks and os-tenant-networks proxies. */
  readonly networks?: NetworkListProxy;
  /**
   * Checks a boot's or an attach's request before anything is recorded, with the caller's own
   * rights as Nova asks Neutron with the user's token: unknown networks/ports are 400s, and a
   * port attribute the network's policy keeps from the caller (a chosen fixed IP on someone
   * else's shared network) is a 403, although the port itself is later made with admin rights.
   */
  validate(caller: SecurityGroupCaller, projectId: string, requested: RequestedNetwork[] | 'auto'): Promise<void>;
  /** Creates or binds the instance's ports on `host`; returns their ids. Throws PortBindingFailed (having undone its work) when a binding fails. */
  allocate(instance: InstanceRef & { host: string; securityGroups: string[] }, requested: RequestedNetwork[] | 'auto'): Promise<string[]>;
  /** Deletes the ports compute created; unbinds those the user passed in (`preserve`). */
  deallocate(instance: InstanceRef, preserve: string[]): Promise<void>;
  /** Takes one port off the instance: deleted when compute made it, unbound when `preserve`. */
  detach(instance: InstanceRef, portId: string, preserve: boolean): Promise<void>;
  addresses(instance: InstanceRef): Promise<ServerAddress[]>;
  /** Addresses and security groups in one read of the ports, for the server views. */
  view(viewer: SecurityGroupCaller, instance: InstanceRef): Promise<ServerNetworkView>;
  /** The instance's ports, for os-interface and the virt driver's NICs. */
  ports(instance: InstanceRef): Promise<Array<{ id: string; networkId: string; mac: string; fixedIps: Array<{ subnetId: string; ipAddress: string }>; status: string }>>;
}

/**
 * The metadata service's content as a config drive needs it (Nova's InstanceMetadata built
 * for ConfigDriveBuilder): the drive's files for an instance, relative path -> content.
 */
export interface ConfigDriveSource {
  /** Throws when the instance is unknown or deleted. `adminPass` goes onto the drive only. */
  files(instanceId: string, options?: { adminPass?: string }): Promise<ReadonlyMap<string, Buffer>>;
}
