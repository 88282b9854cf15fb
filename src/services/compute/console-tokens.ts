import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ConsoleEndpoint, ConsoleGrant } from '../../contracts/console.js';
import { ConsoleTokenRecords } from './store/console-tokens.js';
import type { ComputeTables, ConsoleAuthTokenRow } from './tables.js';

export type { ConsoleEndpoint, ConsoleGrant } from '../../contracts/console.js';

/** Tokens are 32 random bytes in base64url: anything else is not worth a database lookup. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Nova's console auth tokens (nova/objects/console_auth_token.py): a random token per console
 * URL, kept only as its hash, bound to one instance, one host and one endpoint until it
 * expires. Issuing a token sweeps out the expired ones, as Nova's periodic clean-up does.
 */
export class ConsoleAuthTokens {
  private readonly records: ConsoleTokenRecords;

  constructor(db: Kysely<ComputeTables>) {
    this.records = new ConsoleTokenRecords(db);
  }

  async issue(grant: Omit<ConsoleGrant, 'expiresAt'>, ttlSeconds: number, now = new Date()): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.records.deleteExpired(now);
    const endpoint = grant.endpoint;
    await this.records.insert({
      token_hash: hashOf(token),
      instance_id: grant.instanceId,
      console_type: grant.consoleType,
      unix_socket: 'unixSocket' in endpoint ? endpoint.unixSocket : null,
      target_host: 'host' in endpoint ? endpoint.host : null,
      target_port: 'port' in endpoint ? endpoint.port : null,
      compute_host: grant.computeHost,
      expires_at: new Date(now.getTime() + ttlSeconds * 1000).toISOString(),
      created_at: now.toISOString(),
    });
    return token;
  }

  /** What the token opens, unless it is malformed, unknown or expired. */
  async check(token: string, now = new Date()): Promise<ConsoleGrant | undefined> {
    if (!TOKEN_SHAPE.test(token)) return undefined;
    const row = await this.records.byHash(hashOf(token));
    if (!row || row.expires_at <= now.toISOString()) return undefined;
    const endpoint = endpointOf(row);
    if (!endpoint) return undefined;
    return { instanceId: row.instance_id, consoleType: row.console_type, endpoint, computeHost: row.compute_host, expiresAt: row.expires_at };
  }

  async revoke(token: string): Promise<void> {
    await this.records.deleteByHash(hashOf(token));
  }
}

function endpointOf(row: ConsoleAuthTokenRow): ConsoleEndpoint | undefined {
  if (row.unix_socket !== null) return { unixSocket: row.unix_socket };
  if (row.target_host !== null && row.target_port !== null) return { host: row.target_host, port: row.target_port };
  return undefined;
}
