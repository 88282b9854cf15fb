import { isObject, type Json } from '../../core/http/body.js';
import { ApiError, badRequest, unauthorized } from '../../core/http/errors.js';
import type { IdentityContext } from './context.js';
import { ec2Blob, ec2CredentialId } from './credentials.js';
import { ec2Signature, s3Signature, SignatureError, signaturesEqual, type Ec2SignedRequest } from './ec2-signatures.js';
import type { ValidatedToken } from './tokens/provider.js';

/**
 * /v3/ec2tokens and /v3/s3tokens: an EC2 or S3 gateway forwards what a client signed with an
 * EC2 credential's secret; when the signature is right, the credential's user gets a token
 * scoped to the credential's project (method `ec2credential`), as Keystone issues it.
 */

/** How old an EC2 request's own timestamp may be (Keystone's [credential] auth_ttl, 15 minutes). */
const EC2_REQUEST_TTL_MS = 15 * 60_000;

export async function ec2TokenAuthenticate(ctx: IdentityContext, body: unknown): Promise<ValidatedToken> {
  const credentials = credentialsOf(body);
  const request: Ec2SignedRequest = {
    params: isObject(credentials.params) ? credentials.params : {},
    headers: stringMap(credentials.headers),
    ...optionalStrings(credentials, ['signature', 'host', 'verb', 'path', 'body_hash'] as const),
  };
  const access = accessOf(credentials);
  const { secret, cred } = await ec2Secret(ctx, access);
  if (!request.signature) throw unauthorized('EC2 signature not supplied.');
  if (!signedBy(secret, request)) throw unauthorized('Invalid EC2 signature.');
  checkTimestamp(request);
  return issue(ctx, cred.user_id, cred.project_id);
}

export async function s3TokenAuthenticate(ctx: IdentityContext, body: unknown): Promise<ValidatedToken> {
  const credentials = credentialsOf(body);
  const access = accessOf(credentials);
  const { secret, cred } = await ec2Secret(ctx, access);
  if (typeof credentials.token !== 'string' || typeof credentials.signature !== 'string') throw unauthorized('Credential signature mismatch');
  const stringToSign = Buffer.from(credentials.token, 'base64url');
  let expected: string;
  try {
    expected = s3Signature(secret, stringToSign);
  } catch (error) {
    if (error instanceof SignatureError) throw unauthorized(error.message);
    throw error;
  }
  if (!signaturesEqual(credentials.signature, expected)) throw unauthorized('Credential signature mismatch');
  return issue(ctx, cred.user_id, cred.project_id);
}

function credentialsOf(body: unknown): Json {
  const credentials = isObject(body) ? (body.credentials ?? body.ec2Credentials) : undefined;
  if (!isObject(credentials)) throw badRequest("Invalid input for field 'credentials': it is required.");
  return credentials;
}

function accessOf(credentials: Json): string {
  if (typeof credentials.access !== 'string' || credentials.access === '') throw unauthorized('EC2 access key not supplied.');
  return credentials.access;
}

async function ec2Secret(ctx: IdentityContext, access: string) {
  const cred = await ctx.stores.userCredentials.get(ec2CredentialId(access));
  if (!cred || cred.type !== 'ec2') throw unauthorized('EC2 access key not found.');
  const blob = ec2Blob(cred.blob);
  if (typeof blob.secret !== 'string') throw unauthorized('EC2 access key not found.');
  // A credential bound to a trust would give a trust-scoped token; Kumo's trusts are not redeemed this way.
  if (blob.trust_id !== undefined && blob.trust_id !== null) throw unauthorized('EC2 credentials bound to a trust are not supported by this cloud.');
  return { secret: blob.secret, cred };
}

/** As Keystone: a client that signed without the host's port is accepted too. */
function signedBy(secret: string, request: Ec2SignedRequest): boolean {
  const attempt = (req: Ec2SignedRequest) => {
    try {
      return signaturesEqual(req.signature ?? '', ec2Signature(secret, req));
    } catch (error) {
      if (error instanceof SignatureError) throw unauthorized(error.message);
      throw error;
    }
  };
  if (attempt(request)) return true;
  const host = request.host ?? '';
  return host.includes(':') && attempt({ ...request, host: host.split(':')[0] as string });
}

/** A signed request carries its time (v2's Timestamp, v4's X-Amz-Date); an old one is refused. */
function checkTimestamp(request: Ec2SignedRequest): void {
  const raw = request.params.Timestamp ?? request.params['X-Amz-Date'] ?? request.headers['X-Amz-Date'];
  if (raw === undefined) return;
  const text = String(raw);
  const compact = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  const when = compact ? Date.UTC(+compact[1]!, +compact[2]! - 1, +compact[3]!, +compact[4]!, +compact[5]!, +compact[6]!) : Date.parse(/[zZ]|[+-]\d{2}:?\d{2}$/.test(text) ? text : `${text}Z`);
  if (Number.isNaN(when)) throw unauthorized('Timestamp not in the expected format.');
  if (Date.now() - when > EC2_REQUEST_TTL_MS) throw unauthorized('Credential has expired.');
}

async function issue(ctx: IdentityContext, userId: string, projectId: string | null): Promise<ValidatedToken> {
  if (!projectId) throw unauthorized('The EC2 credential has no project.');
  const user = await ctx.directory.user(userId);
  const project = await ctx.directory.project(projectId);
  if (!user || !user.enabled || !project || !project.enabled) throw unauthorized('User or project disabled.');
  const roles = await ctx.directory.effectiveRoles(userId, { kind: 'project', id: projectId });
  if (roles.length === 0) throw unauthorized('User not valid for project.');
  const { token } = ctx.tokens.issue({ userId, methods: ['ec2credential'], scope: { kind: 'project', id: projectId } });
  try {
    return await ctx.tokens.validate(token);
  } catch (error) {
    if (error instanceof ApiError) throw unauthorized('User not valid for project.');
    throw error;
  }
}

function stringMap(value: unknown): Record<string, string> {
  if (!isObject(value)) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

function optionalStrings<K extends string>(from: Json, keys: readonly K[]): Partial<Record<K, string>> {
  const out: Partial<Record<K, string>> = {};
  for (const key of keys) {
    const value = from[key];
    if (typeof value === 'string') out[key] = value;
  }
  return out;
}
