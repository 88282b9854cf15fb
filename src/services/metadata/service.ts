import type { IncomingHttpHeaders } from 'node:http';
import { METADATA_HEADERS, signatureMatches } from '../../contracts/metadata.js';
import { ApiError } from '../../core/http/errors.js';
import type { Logger } from '../../core/log.js';
import { instanceMetadata, type InstanceMetadata } from './content.js';
import type { InstanceNetworkSource, InstanceSource } from './sources.js';

/** Nova's password handler stores at most 4 chunks of 255 characters. */
export const MAX_PASSWORD_LENGTH = 4 * 255;

/**
 * Nova's metadata request handler with service_metadata_proxy on: a request is answered only
 * when the relay vouches for it (X-Instance-ID signed with the shared secret) and the instance
 * belongs to the tenant the relay names.
 */
export class MetadataService {
  constructor(
    private readonly instances: InstanceSource,
    private readonly network: InstanceNetworkSource,
    private readonly sharedSecret: string,
    private readonly log: Logger,
  ) {}

  /**
   * The metadata of the instance the relay named. Throws Nova's 400 (headers missing or
   * repeated), 403 (bad signature) and 404 (no such instance, or another tenant's).
   */
  async metadataFor(headers: IncomingHttpHeaders, distinct: NodeJS.Dict<string[]>): Promise<InstanceMetadata> {
    const instanceId = single(distinct, METADATA_HEADERS.instanceId, 'X-Instance-ID');
    const signature = single(distinct, METADATA_HEADERS.signature, 'X-Instance-ID-Signature');
    const tenantId = single(distinct, METADATA_HEADERS.tenantId, 'X-Tenant-ID');
    const address = headers[METADATA_HEADERS.forwardedFor];
    if (!signatureMatches(this.sharedSecret, instanceId, signature)) {
      this.log.warn({ instanceId, address }, 'metadata request with a signature that does not match the instance id');
      throw new ApiError(403, 'Invalid proxy request signature.');
    }
    const instance = await this.instances.instance(instanceId);
    if (!instance) {
      this.log.warn({ instanceId }, 'metadata requested for an unknown instance');
      throw notFound();
    }
    if (instance.projectId !== tenantId) {
      // Nova answers as if the instance did not exist, so the tenant cannot probe other projects.
      this.log.warn({ instanceId, tenantId }, 'metadata request names a tenant that does not own the instance');
      throw notFound();
    }
    const [network, keypairType] = await Promise.all([
      this.network.forInstance(instance),
      instance.keyName ? this.instances.keypairType(instance.userId, instance.keyName) : Promise.resolve(undefined),
    ]);
    const from = typeof address === 'string' ? lastForwarded(address) : undefined;
    return instanceMetadata({ instance, network, ...(keypairType ? { keypairType } : {}), ...(from ? { address: from } : {}) });
  }

  /** GET openstack/<version>/password: what the guest posted, or nothing. */
  async password(md: InstanceMetadata): Promise<string> {
    return (await this.instances.password(md.uuid)) ?? '';
  }

  /** POST openstack/<version>/password: set once (409 after), at most MAX_PASSWORD_LENGTH characters. */
  async setPassword(md: InstanceMetadata, body: Buffer): Promise<void> {
    if ((await this.instances.password(md.uuid)) !== undefined) throw new ApiError(409, 'There was a conflict when trying to complete your request.');
    const password = body.toString('utf8');
    if (body.length > MAX_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) throw new ApiError(400, 'Request is too large.');
    if (!(await this.instances.setPasswordOnce(md.uuid, password))) throw new ApiError(409, 'There was a conflict when trying to complete your request.');
  }
}

export const notFound = () => new ApiError(404, 'The resource could not be found.');

/** The one value of a header; Nova's 400 when it is missing or repeated. */
function single(distinct: NodeJS.Dict<string[]>, name: string, display: string): string {
  const values = distinct[name];
  if (values === undefined || values.length === 0) throw new ApiError(400, `${display} header is missing from request.`);
  if (values.length > 1) throw new ApiError(400, `Multiple ${display} headers found within request.`);
  return values[0] as string;
}

/** The address the last proxy added; entries before it are whatever the client claimed. */
function lastForwarded(value: string): string | undefined {
  const last = value.split(',').pop()?.trim();
  return last === '' ? undefined : last;
}
