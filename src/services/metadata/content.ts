import { createHash, randomBytes } from 'node:crypto';
import { hostnameOf, type Instance } from '../compute/client.js';
import { ec2Addresses, networkData, type NetworkData } from './network-data.js';
import type { InstanceNetwork } from './sources.js';

/**
 * What an instance learns about itself, in Nova's two formats (nova/api/metadata/base.py):
 * EC2's tree of meta-data keys and OpenStack's JSON documents, by version. Built once per
 * request from records already read; the metadata service serves it over HTTP and the config
 * drive writes the same content to files.
 */

/** EC2 versions, oldest first; `latest` is the last. */
export const EC2_VERSIONS = ['1.0', '2007-01-19', '2007-03-01', '2007-08-29', '2007-10-10', '2007-12-15', '2008-02-01', '2008-09-01', '2009-04-04'] as const;

const FOLSOM = '2012-08-10';
const GRIZZLY = '2013-04-04';
const HAVANA = '2013-10-17';
const LIBERTY = '2015-10-15';
const NEWTON_ONE = '2016-06-30';
const NEWTON_TWO = '2016-10-06';
const VICTORIA = '2020-10-14';

/** OpenStack versions, oldest first; `latest` is the last. */
export const OPENSTACK_VERSIONS = [FOLSOM, GRIZZLY, HAVANA, LIBERTY, NEWTON_ONE, NEWTON_TWO, '2017-02-22', '2018-08-27', VICTORIA, '2025-04-04'] as const;

/** Nova's dhcp_domain default: hostnames are `<name>.novalocal`. */
export const DHCP_DOMAIN = 'novalocal';

/**
 * How a directory is listed by its parent when it is not `name/`: EC2 lists public-keys/ as
 * `0=<keyname>`. A symbol, so JSON renderings (the config drive's meta-data.json) leave it out.
 */
export const LISTED_AS: unique symbol = Symbol('listed as');

export type Ec2Leaf = string | number | Buffer | readonly string[];
export interface Ec2Dir {
  [key: string]: Ec2Node;
  [LISTED_AS]?: string;
}
export type Ec2Node = Ec2Leaf | Ec2Dir;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** One entry of an OpenStack version directory; `password` is served, never written to a drive. */
export type OpenStackFile = { kind: 'json'; value: JsonObject | NetworkData } | { kind: 'bytes'; value: Buffer } | { kind: 'password' };

export interface MetadataInput {
  instance: Instance;
  network: InstanceNetwork;
  /** The key pair's type when it still exists; `ssh` is assumed when it was deleted since the boot. */
  keypairType?: string;
  /** Where the request came from (X-Forwarded-For): EC2's local-ipv4 when the instance has no IPv4. */
  address?: string;
  /** Config drive only: Nova hands the admin password to the drive, never to the metadata service. */
  adminPass?: string;
}

export function instanceMetadata(input: MetadataInput): InstanceMetadata {
  return new InstanceMetadata(input);
}

export class InstanceMetadata {
  readonly uuid: string;
  /** The user data decoded (Nova keeps it base64, as the API takes it); null when none was given. */
  readonly userData: Buffer | null;
  readonly hostname: string;
  readonly availabilityZone: string;

  constructor(private readonly input: MetadataInput) {
    const { instance } = input;
    this.uuid = instance.id;
    this.userData = instance.userData === null ? null : Buffer.from(instance.userData, 'base64');
    this.hostname = `${hostnameOf(instance.name)}.${DHCP_DOMAIN}`;
    this.availabilityZone = instance.availabilityZone ?? 'nova';
  }

  /** The EC2 tree of one version (`latest` included): meta-data/ and, when given, user-data. Undefined for an unknown version. */
  ec2(version: string): Ec2Dir | undefined {
    const v = version === 'latest' ? EC2_VERSIONS.length - 1 : (EC2_VERSIONS as readonly string[]).indexOf(version);
    if (v < 0) return undefined;
    const since = (required: (typeof EC2_VERSIONS)[number]) => v >= EC2_VERSIONS.indexOf(required);
    const { instance, network } = this.input;
    const { fixedIps, floatingIps } = ec2Addresses(network);
    const meta: Ec2Dir = {
      'ami-id': ec2Id('ami', instance.imageRef),
      'ami-launch-index': instance.launchIndex,
      'ami-manifest-path': 'FIXME',
      'instance-id': ec2InstanceId(instance.id),
      hostname: this.hostname,
      'local-ipv4': fixedIps[0] ?? this.input.address ?? '',
      'reservation-id': instance.reservationId,
      'security-groups': network.securityGroups,
    };
    if (instance.keyName) {
      meta['public-keys'] = { '0': { [LISTED_AS]: `0=${instance.keyName}`, 'openssh-key': instance.keyData ?? '' } };
    }
    if (since('2007-01-19')) {
      meta['local-hostname'] = this.hostname;
      meta['public-hostname'] = this.hostname;
      meta['public-ipv4'] = floatingIps[0] ?? '';
    }
    if (since('2007-08-29')) meta['instance-type'] = instance.flavor.name;
    if (since('2007-12-15')) meta['block-device-mapping'] = blockDeviceMapping(instance);
    if (since('2008-02-01')) meta.placement = { 'availability-zone': this.availabilityZone };
    if (since('2008-09-01')) meta['instance-action'] = 'none';
    const tree: Ec2Dir = { 'meta-data': meta };
    if (this.userData !== null) tree['user-data'] = this.userData;
    return tree;
  }

  /** The entries of one OpenStack version directory, in Nova's listing order. Undefined for an unknown version. */
  openstack(version: string): Map<string, OpenStackFile> | undefined {
    const v = version === 'latest' ? OPENSTACK_VERSIONS.length - 1 : (OPENSTACK_VERSIONS as readonly string[]).indexOf(version);
    if (v < 0) return undefined;
    const since = (required: (typeof OPENSTACK_VERSIONS)[number]) => v >= OPENSTACK_VERSIONS.indexOf(required);
    const files = new Map<string, OpenStackFile>();
    files.set('meta_data.json', { kind: 'json', value: this.metaData(since) });
    if (this.userData !== null) files.set('user_data', { kind: 'bytes', value: this.userData });
    if (since(GRIZZLY)) files.set('password', { kind: 'password' });
    // No vendor data providers are configured: Nova's StaticJSON provider without a file.
    if (since(HAVANA)) files.set('vendor_data.json', { kind: 'json', value: {} });
    if (since(LIBERTY)) files.set('network_data.json', { kind: 'json', value: networkData(this.input.network) });
    if (since(NEWTON_TWO)) files.set('vendor_data2.json', { kind: 'json', value: { static: {} } });
    return files;
  }

  private metaData(since: (required: (typeof OPENSTACK_VERSIONS)[number]) => boolean): JsonObject {
    const { instance } = this.input;
    const meta: JsonObject = { uuid: instance.id };
    if (Object.keys(instance.metadata).length > 0) meta.meta = instance.metadata;
    if (this.input.adminPass !== undefined) meta.admin_pass = this.input.adminPass;
    if (instance.keyName && instance.keyData) {
      meta.public_keys = { [instance.keyName]: instance.keyData };
      meta.keys = [{ name: instance.keyName, type: this.input.keypairType ?? 'ssh', data: instance.keyData }];
    }
    meta.hostname = this.hostname;
    meta.name = instance.name;
    meta.launch_index = instance.launchIndex;
    meta.availability_zone = this.availabilityZone;
    if (since(GRIZZLY)) meta.random_seed = randomBytes(512).toString('base64');
    if (since(LIBERTY)) meta.project_id = instance.projectId;
    // Kumo records no device tags or pinned CPUs yet, so both lists are empty.
    if (since(NEWTON_ONE)) meta.devices = [];
    if (since(VICTORIA)) meta.dedicated_cpus = [];
    return meta;
  }
}

/**
 * Nova numbers instances (and images) in EC2 mapping tables and shows `i-%08x` of that number.
 * Kumo has no such number, so the first 8 hex digits of the UUID stand in: as wide as Nova's,
 * stable for the instance's life, and recognisable next to the server id.
 */
export function ec2InstanceId(uuid: string): string {
  return ec2Id('i', uuid);
}

function ec2Id(prefix: string, uuid: string): string {
  if (uuid === '') return '';
  const hex = uuid.replaceAll('-', '').toLowerCase();
  const digits = /^[0-9a-f]{8}/.test(hex) ? hex.slice(0, 8) : createHash('sha256').update(uuid).digest('hex').slice(0, 8);
  return `${prefix}-${digits}`;
}

/** Nova's mapping for a disk booted from an image: virtio disks, root first, then ephemeral and swap. */
function blockDeviceMapping(instance: Instance): Ec2Dir {
  const mapping: Ec2Dir = { ami: 'vda', root: '/dev/vda' };
  const disks = ['/dev/vdb', '/dev/vdc'];
  if (instance.flavor.ephemeralGb > 0) mapping.ephemeral0 = disks.shift() as string;
  if (instance.flavor.swapMb > 0) mapping.swap = disks.shift() as string;
  return mapping;
}
