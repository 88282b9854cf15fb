import { EC2_VERSIONS, OPENSTACK_VERSIONS, type InstanceMetadata } from './content.js';

/**
 * Nova's [api] config_drive_skip_versions default: the EC2 versions left off a drive (only
 * 2009-04-04 and `latest` are written).
 */
export const CONFIG_DRIVE_SKIP_EC2_VERSIONS: readonly string[] = EC2_VERSIONS.filter((v) => v !== '2009-04-04');

/**
 * The files of an instance's config drive, path -> content, as Nova's
 * InstanceMetadata.metadata_for_config_drive lays them out: `ec2/<version>/meta-data.json`
 * (and `user-data`), then `openstack/<version>/` with meta_data.json, user_data,
 * vendor_data.json, network_data.json and vendor_data2.json as each version has them. The
 * password entry is the metadata service's alone: a drive is written once, before the guest
 * could post one.
 */
export function configDriveFiles(md: InstanceMetadata): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const version of [...EC2_VERSIONS, 'latest']) {
    if (CONFIG_DRIVE_SKIP_EC2_VERSIONS.includes(version)) continue;
    const tree = md.ec2(version);
    if (!tree) continue;
    const userData = tree['user-data'];
    if (Buffer.isBuffer(userData)) files.set(`ec2/${version}/user-data`, userData);
    // JSON leaves out the LISTED_AS symbol, as Nova deletes public-keys' `_name` here.
    files.set(`ec2/${version}/meta-data.json`, Buffer.from(JSON.stringify(tree['meta-data'])));
  }
  for (const version of [...OPENSTACK_VERSIONS, 'latest']) {
    for (const [name, file] of md.openstack(version) ?? []) {
      if (file.kind === 'password') continue;
      files.set(`openstack/${version}/${name}`, file.kind === 'bytes' ? file.value : Buffer.from(JSON.stringify(file.value)));
    }
  }
  return files;
}
