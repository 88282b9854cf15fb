import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AuthContext } from '../../core/auth/context.js';
import { SwiftError } from './errors.js';
import type { Metadata } from './metadata.js';

/** keystoneauth's defaults: these roles on the account's project own it; this role owns every account. */
export const OPERATOR_ROLES = ['admin', 'member'];
/** keystoneauth's reseller_admin_role is ResellerAdmin; this cloud's admin role is one too. */
export const RESELLER_ADMIN_ROLES = ['admin', 'reselleradmin'];

export type Verdict = 'owner' | 'acl' | 'tempurl';

export function isResellerAdmin(auth: AuthContext | undefined): boolean {
  return !!auth && auth.roles.some((r) => RESELLER_ADMIN_ROLES.includes(r.toLowerCase()));
}

/** True when the caller may do anything in the account (keystoneauth's "operator" or reseller admin). */
export function isOwner(auth: AuthContext | undefined, project: string): boolean {
  if (!auth) return false;
  if (isResellerAdmin(auth)) return true;
  return auth.projectId === project && auth.roles.some((r) => OPERATOR_ROLES.includes(r.toLowerCase()));
}

/** A refusal: 401 for an anonymous caller (authenticate and retry), 403 for a known one. */
export function denied(auth: AuthContext | undefined): SwiftError {
  return new SwiftError(auth ? 403 : 401);
}

interface ParsedAcl {
  referrers: string[];
  listings: boolean;
  grants: string[];
}

/** Swift's clean_acl/parse_acl: `.r:*`, `.r:-host`, `.rlistings` and `project:user` entries. */
export function parseAcl(text: string | undefined): ParsedAcl {
  const acl: ParsedAcl = { referrers: [], listings: false, grants: [] };
  if (!text) return acl;
  for (const raw of text.split(',')) {
    const value = raw.trim();
    if (!value) continue;
    if (value === '.rlistings') acl.listings = true;
    else if (value.startsWith('.r:') || value.startsWith('.ref:') || value.startsWith('.referer:') || value.startsWith('.referrer:')) {
      acl.referrers.push(value.slice(value.indexOf(':') + 1));
    } else acl.grants.push(value);
  }
  return acl;
}

/** Swift refuses ACLs it cannot parse when they are set: a 400 with the reason. */
export function checkAcl(header: string, text: string): void {
  for (const raw of text.split(',')) {
    const value = raw.trim();
    if (!value) continue;
    if (value.startsWith('.') && value !== '.rlistings' && !/^\.(r|ref|referer|referrer):-?[^\s:]*$/.test(value)) {
      throw new SwiftError(400, `Unknown designator ${value} in ${header}`);
    }
    if (/^\.(r|ref|referer|referrer):-?$/.test(value)) throw new SwiftError(400, `No host/domain value after referrer designation in ${header}`);
  }
}

function referrerAllows(referrers: string[], referer: string | undefined): boolean {
  let host = '';
  if (referer) {
    try {
      host = new URL(referer).hostname;
    } catch {
      host = '';
    }
  }
  let allow = false;
  for (const r of referrers) {
    const negative = r.startsWith('-');
    const mine = negative ? r.slice(1) : r;
    const matches = mine === '*' || (mine.startsWith('.') ? host.endsWith(mine) : host === mine);
    if (matches) allow = !negative;
  }
  return allow;
}

function grantAllows(grants: string[], auth: AuthContext | undefined): boolean {
  if (!auth) return false;
  const projects = ['*', auth.projectId, auth.projectName].filter((x): x is string => !!x);
  const users = ['*', auth.userId, auth.userName];
  for (const grant of grants) {
    const colon = grant.indexOf(':');
    if (colon < 0) {
      // A role name alone (keystoneauth allows roles in ACLs).
      if (auth.roles.includes(grant.toLowerCase())) return true;
      continue;
    }
    const project = grant.slice(0, colon);
    const user = grant.slice(colon + 1);
    if (projects.includes(project) && users.includes(user)) return true;
  }
  return false;
}

/** May this caller read the container's objects (`listing`: or list it) through its read ACL? */
export function readAclAllows(metadata: Metadata, auth: AuthContext | undefined, referer: string | undefined, listing: boolean): boolean {
  const acl = parseAcl(metadata['x-container-read']);
  if (grantAllows(acl.grants, auth)) return true;
  if (referrerAllows(acl.referrers, referer)) return !listing || acl.listings;
  return false;
}

export function writeAclAllows(metadata: Metadata, auth: AuthContext | undefined): boolean {
  return grantAllows(parseAcl(metadata['x-container-write']).grants, auth);
}

export const TEMPURL_DIGESTS = ['sha1', 'sha256', 'sha512'] as const;
type Digest = (typeof TEMPURL_DIGESTS)[number];
const HEX_LENGTHS: Record<number, Digest> = { 40: 'sha1', 64: 'sha256', 128: 'sha512' };

export interface TempUrlQuery {
  temp_url_sig: string;
  temp_url_expires: string;
  temp_url_prefix?: string;
}

/** The expiry of a temp URL: Unix seconds, or an ISO 8601 UTC time (`swift tempurl --iso8601`). */
function expiryOf(text: string): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const match = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(text) ? Date.parse(text) : NaN;
  return Number.isNaN(match) ? undefined : Math.floor(match / 1000);
}

/**
 * Swift's tempurl middleware: HMAC of "<method>\n<expires>\n<path>" (or "prefix:<path prefix>")
 * under one of the keys; a HEAD is allowed by a signature for GET, HEAD or PUT.
 */
export function tempUrlValid(query: TempUrlQuery, method: string, paths: string[], keys: string[], nowSeconds: number): boolean {
  return paths.some((path) => tempUrlValidFor(query, method, path, keys, nowSeconds));
}

function tempUrlValidFor(query: TempUrlQuery, method: string, path: string, keys: string[], nowSeconds: number): boolean {
  const expires = expiryOf(query.temp_url_expires);
  if (expires === undefined || expires <= nowSeconds || keys.length === 0) return false;
  let digest: Digest | undefined;
  let signature: Buffer;
  const sig = query.temp_url_sig;
  const colon = sig.indexOf(':');
  if (colon > 0) {
    const name = sig.slice(0, colon);
    if (!(TEMPURL_DIGESTS as readonly string[]).includes(name)) return false;
    digest = name as Digest;
    signature = Buffer.from(sig.slice(colon + 1).replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  } else {
    if (!/^[0-9a-fA-F]+$/.test(sig)) return false;
    digest = HEX_LENGTHS[sig.length];
    signature = Buffer.from(sig, 'hex');
  }
  if (!digest) return false;
  let signedPath = path;
  if (query.temp_url_prefix !== undefined) {
    const v1 = path.indexOf('/v1/');
    const containerPath = path.slice(0, v1) + path.slice(v1).split('/').slice(0, 4).join('/');
    if (!path.startsWith(`${containerPath}/${query.temp_url_prefix}`)) return false;
    signedPath = `prefix:${containerPath}/${query.temp_url_prefix}`;
  }
  const methods = method === 'HEAD' ? ['HEAD', 'GET', 'PUT'] : [method];
  for (const key of keys) {
    for (const m of methods) {
      const expected = createHmac(digest, key).update(`${m}\n${query.temp_url_expires}\n${signedPath}`).digest();
      if (expected.length === signature.length && timingSafeEqual(expected, signature)) return true;
    }
  }
  return false;
}

export function tempUrlKeys(accountMeta: Metadata, containerMeta: Metadata | undefined): string[] {
  return [
    accountMeta['x-account-meta-temp-url-key'],
    accountMeta['x-account-meta-temp-url-key-2'],
    containerMeta?.['x-container-meta-temp-url-key'],
    containerMeta?.['x-container-meta-temp-url-key-2'],
  ].filter((k): k is string => !!k);
}
