import { createHash } from 'node:crypto';
import { badRequest, conflict, notFound, nowIso, type ComputeContext } from './context.js';
import { checkQuota } from './quotas.js';
import { KeypairRecords } from './store/keypairs.js';
import { generateSshKeypair, sshFingerprint, x509Fingerprint } from './ssh-keys.js';
import type { KeypairRow } from './tables.js';
import { generateX509Keypair } from './x509.js';

/** Key pairs: a user's, by name. */

const invalidKeypair = (reason: string) => badRequest(`Keypair data is invalid: ${reason}`);
const keypairNotFound = (name: string, userId: string) => notFound(`Keypair ${name} not found for user ${userId}`);

export function validKeypairName(value: unknown): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 255) {
    throw invalidKeypair('Keypair name must be string and between 1 and 255 characters long');
  }
  if (!/^[A-Za-z0-9 _.@-]+$/.test(value)) throw invalidKeypair('Keypair name contains unsafe characters');
  return value;
}

export interface KeypairRequest {
  name: string;
  type: 'ssh' | 'x509';
  publicKey?: string;
  /** The owner, when an admin (from 2.10) creates a key pair for someone else. */
  userId?: string;
}

/** POST /os-keypairs' body as its schema (schemas/keypairs.ts) lets it through; `type` from 2.2, `user_id` from 2.10. */
export interface KeypairBody {
  keypair: { name: unknown; public_key?: string; type?: 'ssh' | 'x509'; user_id?: string };
}

/** The request, its name checked as Nova's key pair API checks it. */
export function parseKeypairRequest(body: KeypairBody): KeypairRequest {
  const keypair = body.keypair;
  const request: KeypairRequest = { name: validKeypairName(keypair.name), type: keypair.type ?? 'ssh' };
  if (keypair.public_key !== undefined) request.publicKey = keypair.public_key;
  if (keypair.user_id !== undefined) request.userId = keypair.user_id;
  return request;
}

export interface CreatedKeypair {
  row: KeypairRow;
  /** Only when the key was generated here: returned once, never stored. */
  privateKey?: string;
}

export async function createKeypair(ctx: ComputeContext, projectId: string, userId: string, request: KeypairRequest): Promise<CreatedKeypair> {
  await checkQuota(ctx, projectId, userId, { key_pairs: 1 });
  let publicKey: string;
  let fingerprint: string;
  let privateKey: string | undefined;
  if (request.publicKey !== undefined) {
    publicKey = request.publicKey;
    fingerprint = request.type === 'x509' ? x509Fingerprint(publicKey) : sshFingerprint(publicKey);
  } else if (request.type === 'x509') {
    const generated = await generateX509Keypair(userId, projectId);
    ({ certificate: publicKey, fingerprint, privateKey } = generated);
  } else {
    const generated = await generateSshKeypair();
    ({ publicKey, fingerprint, privateKey } = generated);
  }
  const row: KeypairRow = { user_id: userId, name: request.name, type: request.type, fingerprint, public_key: publicKey, created_at: nowIso() };
  if (!(await new KeypairRecords(ctx.db).insert(row))) throw conflict(`Key pair '${request.name}' already exists.`);
  return privateKey === undefined ? { row } : { row, privateKey };
}

/** A user's key pair by name (servers boot with `key_name`), or Nova's 404. */
export async function getKeypair(ctx: ComputeContext, userId: string, name: string): Promise<KeypairRow> {
  const row = await findKeypair(ctx, userId, name);
  if (!row) throw keypairNotFound(name, userId);
  return row;
}

/** A user's key pair by name, when it exists. */
export async function findKeypair(ctx: ComputeContext, userId: string, name: string): Promise<KeypairRow | undefined> {
  return new KeypairRecords(ctx.db).get(userId, name);
}

export async function listKeypairs(ctx: ComputeContext, userId: string): Promise<KeypairRow[]> {
  return new KeypairRecords(ctx.db).list(userId);
}

export async function deleteKeypair(ctx: ComputeContext, userId: string, name: string): Promise<void> {
  if (!(await new KeypairRecords(ctx.db).delete(userId, name))) throw keypairNotFound(name, userId);
}

/**
 * Nova's keypairs carry an integer id from its own table; ours are keyed by (user, name),
 * so a stable number is derived from that key instead.
 */
function keypairId(row: KeypairRow): number {
  return createHash('sha256').update(`${row.user_id}\u0000${row.name}`).digest().readUInt32BE(0) >>> 1;
}

export function renderKeypairSummary(row: KeypairRow, withType: boolean): Record<string, unknown> {
  return { name: row.name, public_key: row.public_key, fingerprint: row.fingerprint, ...(withType ? { type: row.type } : {}) };
}

export function renderKeypairCreated(created: CreatedKeypair, withType: boolean): Record<string, unknown> {
  return {
    ...renderKeypairSummary(created.row, withType),
    user_id: created.row.user_id,
    ...(created.privateKey !== undefined ? { private_key: created.privateKey } : {}),
  };
}

export function renderKeypairDetail(row: KeypairRow, withType: boolean): Record<string, unknown> {
  return {
    ...renderKeypairSummary(row, withType),
    user_id: row.user_id,
    id: keypairId(row),
    created_at: `${row.created_at.slice(0, 23)}000`,
    deleted: false,
    deleted_at: null,
    updated_at: null,
  };
}
