import { SwiftError } from './errors.js';
import { denied, isOwner, readAclAllows, tempUrlKeys, tempUrlValid, writeAclAllows, type TempUrlQuery } from './access.js';
import type { ObjectContext, SwiftRequest } from './context.js';
import { header } from './names.js';
import { parseMetadata, type Metadata } from './metadata.js';
import type { ObjectContainerRow } from './tables.js';

export async function accountMetadata(ctx: ObjectContext, account: string): Promise<Metadata> {
  const row = await ctx.records.account(account);
  return row ? parseMetadata(row.metadata) : {};
}

/** Account-level requests: the account's operators and reseller admins only. */
export function authorizeAccount(req: SwiftRequest): void {
  if (!isOwner(req.auth, req.path.project)) throw denied(req.auth);
}

/** Container-level: owners, and for GET/HEAD whoever its read ACL lets list it. */
export function authorizeContainer(req: SwiftRequest, container: ObjectContainerRow | undefined): void {
  if (isOwner(req.auth, req.path.project)) return;
  const read = req.method === 'GET' || req.method === 'HEAD';
  if (read && container && readAclAllows(parseMetadata(container.metadata), req.auth, header(req.headers, 'referer'), true)) return;
  throw denied(req.auth);
}

export function hasTempUrl(req: SwiftRequest): boolean {
  return req.query.temp_url_sig !== undefined || req.query.temp_url_expires !== undefined;
}

/**
 * Object-level: a valid temp URL, an owner, or the container's read ACL (GET/HEAD) or write ACL
 * (PUT/POST/DELETE/COPY). Resolves to how the caller got in.
 */
export async function authorizeObject(ctx: ObjectContext, req: SwiftRequest, container: ObjectContainerRow | undefined, method = req.method): Promise<'owner' | 'acl' | 'tempurl'> {
  if (hasTempUrl(req)) {
    const query: TempUrlQuery = { temp_url_sig: req.query.temp_url_sig ?? '', temp_url_expires: req.query.temp_url_expires ?? '' };
    if (req.query.temp_url_prefix !== undefined) query.temp_url_prefix = req.query.temp_url_prefix;
    const keys = tempUrlKeys(await accountMetadata(ctx, req.path.account), container ? parseMetadata(container.metadata) : undefined);
    if (['GET', 'HEAD', 'PUT', 'POST', 'DELETE'].includes(method) && tempUrlValid(query, method, signedPaths(req.rawPath), keys, Date.now() / 1000)) return 'tempurl';
    throw new TempUrlInvalid();
  }
  if (isOwner(req.auth, req.path.project)) return 'owner';
  if (container) {
    const meta = parseMetadata(container.metadata);
    if ((method === 'GET' || method === 'HEAD') && readAclAllows(meta, req.auth, header(req.headers, 'referer'), false)) return 'acl';
    if (['PUT', 'POST', 'DELETE', 'COPY'].includes(method) && writeAclAllows(meta, req.auth)) return 'acl';
  }
  throw denied(req.auth);
}

export class TempUrlInvalid extends SwiftError {
  constructor() {
    super(401, 'Temp URL invalid\n', { 'www-authenticate': 'Swift realm="swift"' });
  }
}

/** Signed over the path from /v1 (Swift's own) or, behind this cloud's mount, over the whole path. */
function signedPaths(rawPath: string): string[] {
  const at = rawPath.indexOf('/v1/');
  return at > 0 ? [rawPath.slice(at), rawPath] : [rawPath];
}
