import { createHash, randomBytes } from 'node:crypto';
import { isObject } from '../../core/http/body.js';
import { ApiError, badRequest } from '../../core/http/errors.js';
import { newHexId } from '../../core/ids.js';
import type { IdentityContext } from './context.js';
import { notFoundError } from './errors.js';
import type { Credential } from './store/user-credentials.js';
import { loadUser } from './users.js';

/** Keystone's /v3/credentials and their OS-EC2 view: the rules of stored credentials, ec2 keys above all. */

export type { Credential };

/** Keystone derives an EC2 credential's id from its access key, so a signature can find it. */
export const ec2CredentialId = (access: string): string => createHash('sha256').update(access, 'utf8').digest('hex');

export interface Ec2Blob {
  access: string;
  secret?: unknown;
  trust_id?: unknown;
}

/** The parsed blob of an ec2 credential, or a 400 in Keystone's words. */
export function ec2Blob(blob: string): Ec2Blob {
  let parsed: unknown;
  try {
    parsed = JSON.parse(blob);
  } catch {
    throw badRequest('Invalid blob in credential');
  }
  if (!isObject(parsed)) throw badRequest('Invalid blob in credential');
  if (typeof parsed.access !== 'string' || parsed.access === '') throw badRequest("'access' is a required attribute of 'blob'.");
  return { ...parsed, access: parsed.access };
}

const conflictId = (id: string) => new ApiError(409, `Conflict occurred attempting to store credential - Duplicate ID, ${id}.`);

/** The rules every stored credential obeys, on create and after an update alike. */
function check(cred: Omit<Credential, 'id'>): void {
  if (cred.type !== 'ec2') return;
  ec2Blob(cred.blob);
  if (!cred.project_id) throw badRequest("Invalid input for field 'project_id': it is required for a credential of type ec2.");
}

async function insert(ctx: IdentityContext, cred: Credential): Promise<void> {
  const store = ctx.stores.userCredentials;
  if (await store.get(cred.id)) throw conflictId(cred.id);
  try {
    await store.create(cred);
  } catch (error) {
    if (ctx.stores.database.isUniqueViolation(error)) throw conflictId(cred.id);
    throw error;
  }
}

export async function loadCredential(ctx: IdentityContext, id: string): Promise<Credential> {
  return (await ctx.stores.userCredentials.get(id)) ?? Promise.reject(notFoundError('credential', id));
}

/** A new credential; an ec2 one is named by its access key, any other gets a random id. */
export async function createCredential(ctx: IdentityContext, fields: Omit<Credential, 'id'>): Promise<Credential> {
  check(fields);
  const id = fields.type === 'ec2' ? ec2CredentialId(ec2Blob(fields.blob).access) : newHexId();
  const cred: Credential = { id, ...fields };
  await insert(ctx, cred);
  return cred;
}

export function listCredentials(ctx: IdentityContext, filters: { user_id?: string; type?: string }): Promise<Credential[]> {
  return ctx.stores.userCredentials.list(filters);
}

/** Stores `updated` (the same credential, changed) once it obeys the rules. */
export async function updateCredential(ctx: IdentityContext, updated: Credential): Promise<Credential> {
  check(updated);
  await ctx.stores.userCredentials.update(updated);
  return updated;
}

export async function deleteCredential(ctx: IdentityContext, cred: Credential): Promise<void> {
  await ctx.stores.userCredentials.delete(cred.id);
}

/** OS-EC2: a new access/secret pair for the user on the project (random hex, as Keystone's uuid4().hex). */
export async function createEc2Credential(ctx: IdentityContext, userId: string, projectId: string): Promise<Credential> {
  const user = await loadUser(ctx, userId);
  if (!(await ctx.stores.resources.getProject(projectId))) throw notFoundError('project', projectId);
  // The access key names the credential, the secret signs.
  const access = randomBytes(16).toString('hex');
  const secret = randomBytes(16).toString('hex');
  const cred: Credential = {
    id: ec2CredentialId(access),
    user_id: user.id,
    project_id: projectId,
    type: 'ec2',
    blob: JSON.stringify({ access, secret, trust_id: null }),
  };
  await insert(ctx, cred);
  return cred;
}

export async function listEc2Credentials(ctx: IdentityContext, userId: string): Promise<Credential[]> {
  const user = await loadUser(ctx, userId);
  return ctx.stores.userCredentials.list({ user_id: user.id, type: 'ec2' });
}

/** The user's ec2 credential with this access key; another user's is as absent as a missing one. */
export async function loadEc2Credential(ctx: IdentityContext, userId: string, access: string): Promise<Credential> {
  const cred = await ctx.stores.userCredentials.get(ec2CredentialId(access));
  if (!cred || cred.type !== 'ec2' || cred.user_id !== userId) throw notFoundError('credential', access);
  return cred;
}
