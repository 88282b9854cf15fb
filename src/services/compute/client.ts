import type { ConsoleGrant } from '../../contracts/console.js';
import type { ComputeContext } from './context.js';
import { ConsoleAuthTokens } from './console-tokens.js';
import { InstancePasswords } from './store/instance-passwords.js';
import type { Instance } from './instances/model.js';
import { InstanceRecords } from './store/instances.js';
import { findKeypair } from './keypairs.js';

/**
 * Compute's public surface for other services: what the console proxy and the metadata service
 * (both Nova's) may ask it, as typed interfaces with their in-process implementations; the
 * interfaces it asks its peers to implement; and the types those carry. Nothing else in this
 * folder is theirs to import (scripts/check-imports.mjs keeps it so); a split deployment can
 * put the same interfaces over HTTP or the bus.
 */

export type { Instance } from './instances/model.js';
/** The interfaces compute asks its peers to implement (images are Glance's, ports and security groups Neutron's, the config drive the metadata service's). */
export type {
  ComputeFloatingIp,
  ComputeImage,
  ComputeNetwork,
  ComputeSecurityGroup,
  ComputeSecurityGroupRule,
  FloatingIpProxy,
  NetworkListProxy,
  NewSecurityGroupRule,
  ConfigDriveSource,
  ImageActor,
  ImageLookup,
  InstanceRef,
  NetworkPorts,
  RequestedNetwork,
  SecurityGroupCaller,
  SecurityGroupProxy,
  ServerAddress,
  ServerNetworkView,
} from './peers.js';
/** What the network service throws when a port's binding fails (Nova's PortBindingFailed). */
export { PortBindingFailed } from './peers.js';
/** What it throws when it refuses a boot's or an attach's networks (Nova's exceptions, worded by compute per API). */
export { FixedIpAlreadyInUse, NetworkAmbiguous, NetworkNotFound, PortInUse, PortNotFound } from './peers.js';
/** Nova's error shape: the console proxy answers in it too. */
export { NOVA_ERROR_KEYS } from './context.js';
/** Nova's sanitized hostname of a server name, which the metadata service serves as well. */
export { hostnameOf } from './servers/render.js';

/** Nova's instance, key pair and password records, as the metadata service reads them. */
export interface InstanceSource {
  /** The instance unless it is unknown or deleted. */
  instance(id: string): Promise<Instance | undefined>;
  /** The key pair's type (`ssh`, `x509`) when it still exists. */
  keypairType(userId: string, name: string): Promise<string | undefined>;
  password(instanceId: string): Promise<string | undefined>;
  /** False when a password was already set. */
  setPasswordOnce(instanceId: string, password: string): Promise<boolean>;
}

/** The metadata service is part of Nova: in the all-in-one it reads the compute tables through compute's own classes. */
export class ComputeInstanceSource implements InstanceSource {
  private readonly instances: InstanceRecords;
  private readonly passwords: InstancePasswords;

  constructor(private readonly ctx: ComputeContext) {
    this.instances = new InstanceRecords(ctx.db);
    this.passwords = new InstancePasswords(ctx.database);
  }

  async instance(id: string): Promise<Instance | undefined> {
    const instance = await this.instances.get(id);
    return instance && !instance.deleted ? instance : undefined;
  }

  async keypairType(userId: string, name: string): Promise<string | undefined> {
    return (await findKeypair(this.ctx, userId, name))?.type;
  }

  password(instanceId: string): Promise<string | undefined> {
    return this.passwords.get(instanceId);
  }

  setPasswordOnce(instanceId: string, password: string): Promise<boolean> {
    return this.passwords.setOnce(instanceId, password);
  }
}

/** What a console token opens, or why it opens nothing. */
export type ConsoleTokenVerdict =
  | { ok: true; grant: ConsoleGrant }
  | { ok: false; reason: 'invalid' }
  /** The instance is deleted, or no longer on the host the token was issued for: the token is revoked. */
  | { ok: false; reason: 'instance-gone'; instanceId: string };

/** Console tokens, as the console proxy (Nova's nova-novncproxy) checks them. */
export interface ConsoleTokenCheck {
  /** A token opens its instance's console only while the instance is where the token was issued. */
  check(token: string): Promise<ConsoleTokenVerdict>;
}

export class InProcessConsoleTokens implements ConsoleTokenCheck {
  private readonly tokens: ConsoleAuthTokens;
  private readonly instances: InstanceRecords;

  constructor(ctx: Pick<ComputeContext, 'db'>) {
    this.tokens = new ConsoleAuthTokens(ctx.db);
    this.instances = new InstanceRecords(ctx.db);
  }

  async check(token: string): Promise<ConsoleTokenVerdict> {
    const grant = await this.tokens.check(token);
    if (!grant) return { ok: false, reason: 'invalid' };
    const instance = await this.instances.get(grant.instanceId);
    if (!instance || instance.deleted || instance.host !== grant.computeHost) {
      await this.tokens.revoke(token);
      return { ok: false, reason: 'instance-gone', instanceId: grant.instanceId };
    }
    return { ok: true, grant };
  }
}
