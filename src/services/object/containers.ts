import { checkAcl, isOwner, isResellerAdmin } from './access.js';
import { accountMetadata, authorizeAccount, authorizeContainer } from './authorize.js';
import { httpDate, newTimestamp, type ObjectContext, type SwiftRequest, type SwiftResponse } from './context.js';
import { badRequest, notFound, preconditionFailed, SwiftError } from './errors.js';
import { CONTENT_TYPES, listingFormat, renderContainers, renderObjects, walkListing, type ListingQuery } from './listing.js';
import { applyMetadataHeaders, metadataHeaders, parseMetadata, type Metadata } from './metadata.js';
import { header, LIMITS } from './names.js';
import { WriteRefused } from './store.js';

/** limit, marker, end_marker, prefix, delimiter, path, reverse: 412 for a bad limit, as Swift. */
export function listingQuery(query: Record<string, string>, max: number): ListingQuery {
  let limit = max;
  if (query.limit !== undefined) {
    if (!/^\d+$/.test(query.limit)) throw preconditionFailed('Value of limit must be a positive integer');
    limit = Number(query.limit);
    if (limit > max) throw preconditionFailed(`Maximum limit is ${max}`);
  }
  for (const key of ['marker', 'end_marker', 'prefix', 'delimiter', 'path']) {
    const v = query[key];
    if (v !== undefined && (v.includes('\0') || Buffer.byteLength(v) > LIMITS.maxObjectNameLength)) throw preconditionFailed(`Bad ${key} parameter`);
  }
  if (query.delimiter !== undefined && query.delimiter.length > 1) throw preconditionFailed('Bad delimiter');
  const reverse = ['true', '1', 'yes', 'on', 't', 'y'].includes((query.reverse ?? '').toLowerCase());
  const q: ListingQuery = { limit, prefix: query.prefix ?? '', reverse };
  if (query.marker) q.marker = query.marker;
  if (query.end_marker) q.endMarker = query.end_marker;
  if (query.delimiter) q.delimiter = query.delimiter;
  if (query.path !== undefined) q.path = query.path;
  return q;
}

/** What a caller who does not own the container may not see of it. */
const OWNER_ONLY = ['x-container-read', 'x-container-write', 'x-container-sync-key', 'x-container-sync-to', 'x-container-meta-temp-url-key', 'x-container-meta-temp-url-key-2'];

function containerHeaders(req: SwiftRequest, row: { metadata: string; created_at: string; updated_at: string; object_count: number; bytes_used: number }): Record<string, string> {
  const meta = metadataHeaders(parseMetadata(row.metadata));
  if (!isOwner(req.auth, req.path.project)) for (const k of OWNER_ONLY) delete meta[k];
  return {
    ...meta,
    'x-container-object-count': String(row.object_count),
    'x-container-bytes-used': String(row.bytes_used),
    'x-timestamp': row.created_at,
    'x-put-timestamp': row.created_at,
    'last-modified': httpDate(row.updated_at),
    'x-storage-policy': 'Policy-0',
    'accept-ranges': 'bytes',
  };
}

export async function getContainer(ctx: ObjectContext, req: SwiftRequest): Promise<SwiftResponse> {
  const account = req.path.account;
  const name = req.path.container as string;
  const row = await ctx.records.container(account, name);
  authorizeContainer(req, row);
  if (!row) throw notFound();
  const format = listingFormat(req.query.format, header(req.headers, 'accept'));
  const headers = { ...containerHeaders(req, row), 'content-type': CONTENT_TYPES[format] };
  if (req.method === 'HEAD') return { status: 204, headers: { ...headers, 'content-length': '0' } };
  const query = listingQuery(req.query, LIMITS.containerListingLimit);
  const entries = await walkListing(query, (range) => ctx.records.objects(account, name, range));
  const now = Date.now() / 1000;
  const live = entries.filter((e) => 'subdir' in e || e.delete_at === null || e.delete_at > now);
  if (live.length === 0 && format === 'plain') return { status: 204, headers: { ...headers, 'content-length': '0' } };
  const body = renderObjects(name, live, format);
  return { status: 200, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, body };
}

function checkContainerHeaders(req: SwiftRequest): void {
  for (const h of ['x-container-read', 'x-container-write']) {
    const v = header(req.headers, h);
    if (v !== undefined) checkAcl(h, v);
  }
  for (const h of ['x-versions-location', 'x-history-location']) {
    const v = header(req.headers, h);
    if (v !== undefined && v !== '' && (v.includes('/') || v.length > LIMITS.maxContainerNameLength)) throw badRequest(`${h} header must be a valid container name`);
  }
  if (header(req.headers, 'x-versions-location') && header(req.headers, 'x-history-location')) {
    throw badRequest('Only one of X-Versions-Location or X-History-Location may be specified');
  }
  for (const h of ['x-container-meta-quota-bytes', 'x-container-meta-quota-count']) {
    const v = header(req.headers, h);
    if (v !== undefined && v !== '' && !/^\d+$/.test(v)) throw badRequest(`Invalid ${h}: must be an integer`);
  }
}

export async function putContainer(ctx: ObjectContext, req: SwiftRequest): Promise<SwiftResponse> {
  authorizeAccount(req);
  const name = req.path.container as string;
  if (req.path.object !== undefined) throw notFound();
  checkContainerHeaders(req);
  const existing = await ctx.records.container(req.path.account, name);
  const metadata: Metadata = applyMetadataHeaders('container', req.headers, existing ? parseMetadata(existing.metadata) : {}, false);
  const now = newTimestamp();
  const made = await ctx.records.putContainer({
    account: req.path.account,
    name,
    metadata: JSON.stringify(metadata),
    created_at: now,
    updated_at: now,
    object_count: 0,
    bytes_used: 0,
  });
  return { status: made ? 201 : 202, headers: { 'content-type': 'text/html; charset=UTF-8', 'content-length': '0' } };
}

export async function postContainer(ctx: ObjectContext, req: SwiftRequest): Promise<SwiftResponse> {
  authorizeAccount(req);
  const name = req.path.container as string;
  checkContainerHeaders(req);
  const existing = await ctx.records.container(req.path.account, name);
  if (!existing) throw notFound();
  const metadata = applyMetadataHeaders('container', req.headers, parseMetadata(existing.metadata), false);
  await ctx.records.setContainerMetadata(req.path.account, name, JSON.stringify(metadata));
  return { status: 204, headers: { 'content-type': 'text/html; charset=UTF-8', 'content-length': '0' } };
}

export async function deleteContainer(ctx: ObjectContext, req: SwiftRequest): Promise<SwiftResponse> {
  authorizeAccount(req);
  try {
    if (!(await ctx.records.deleteContainer(req.path.account, req.path.container as string))) throw notFound();
  } catch (error) {
    if (error instanceof WriteRefused) throw new SwiftError(409, '<html><h1>Conflict</h1><p>There was a conflict when trying to complete your request.</p></html>');
    throw error;
  }
  return { status: 204, headers: { 'content-type': 'text/html; charset=UTF-8', 'content-length': '0' } };
}

function accountHeaders(meta: Metadata, totals: { containers: number; objects: number; bytes: number }, created: string): Record<string, string> {
  return {
    ...metadataHeaders(meta),
    'x-account-container-count': String(totals.containers),
    'x-account-object-count': String(totals.objects),
    'x-account-bytes-used': String(totals.bytes),
    'x-account-storage-policy-policy-0-container-count': String(totals.containers),
    'x-account-storage-policy-policy-0-object-count': String(totals.objects),
    'x-account-storage-policy-policy-0-bytes-used': String(totals.bytes),
    'x-timestamp': created,
    'x-put-timestamp': created,
    'accept-ranges': 'bytes',
  };
}

export async function getAccount(ctx: ObjectContext, req: SwiftRequest): Promise<SwiftResponse> {
  authorizeAccount(req);
  const account = req.path.account;
  const row = await ctx.records.account(account);
  const totals = await ctx.records.accountTotals(account);
  const format = listingFormat(req.query.format, header(req.headers, 'accept'));
  const headers = { ...accountHeaders(row ? parseMetadata(row.metadata) : {}, totals, row?.created_at ?? newTimestamp()), 'content-type': CONTENT_TYPES[format] };
  if (req.method === 'HEAD') return { status: 204, headers: { ...headers, 'content-length': '0' } };
  const query = listingQuery(req.query, LIMITS.accountListingLimit);
  const entries = await walkListing(query, (range) => ctx.records.containers(account, range));
  if (entries.length === 0 && format === 'plain') return { status: 204, headers: { ...headers, 'content-length': '0' } };
  const body = renderContainers(account, entries, format);
  return { status: 200, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, body };
}

export async function postAccount(ctx: ObjectContext, req: SwiftRequest): Promise<SwiftResponse> {
  authorizeAccount(req);
  const quota = header(req.headers, 'x-account-meta-quota-bytes') ?? header(req.headers, 'x-remove-account-meta-quota-bytes');
  // Only a reseller admin sets an account's quota (the account_quotas middleware).
  if (quota !== undefined && !isResellerAdmin(req.auth)) throw new SwiftError(403);
  const v = header(req.headers, 'x-account-meta-quota-bytes');
  if (v !== undefined && v !== '' && !/^\d+$/.test(v)) throw badRequest('Invalid bytes quota.');
  const existing = await accountMetadata(ctx, req.path.account);
  const row = await ctx.records.account(req.path.account);
  const metadata = applyMetadataHeaders('account', req.headers, existing, false);
  await ctx.records.saveAccount({ account: req.path.account, metadata: JSON.stringify(metadata), created_at: row?.created_at ?? newTimestamp() });
  return { status: 204, headers: { 'content-type': 'text/html; charset=UTF-8', 'content-length': '0' } };
}
