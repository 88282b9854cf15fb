import type { Readable } from 'node:stream';
import type { AuthContext, TokenValidator } from '../../core/auth/context.js';
import type { Logger } from '../../core/log.js';
import type { ObjectFiles } from './files.js';
import type { SwiftPath } from './names.js';
import type { ObjectRecords } from './store.js';

/** Everything the object service's logic shares. */
export interface ObjectContext {
  records: ObjectRecords;
  files: ObjectFiles;
  tokens: TokenValidator;
  log: Logger;
  /** How often the expirer looks for objects past their X-Delete-At. */
  expirerIntervalMs: number;
  /** How often the auditor reads every object back against its md5. */
  auditorIntervalMs: number;
}

/** One request as the handlers see it (HTTP-neutral enough to be called from a copy or a manifest). */
export interface SwiftRequest {
  method: string;
  path: SwiftPath;
  /** The URL path as sent (temp URL signatures are over it). */
  rawPath: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  auth: AuthContext | undefined;
  body: Readable;
  /** The unread bytes the body promised (Content-Length), or undefined when chunked or absent. */
  contentLength: number | undefined;
  chunked: boolean;
}

export interface SwiftResponse {
  status: number;
  headers: Record<string, string>;
  body?: string | Buffer | Readable;
}

let lastTimestamp = 0;

/** Swift's X-Timestamp: Unix seconds with five decimals, never twice the same in one process. */
export function newTimestamp(): string {
  let now = Math.floor(Date.now() * 100) / 100000;
  if (now <= lastTimestamp) now = lastTimestamp + 0.00001;
  lastTimestamp = now;
  return now.toFixed(5);
}

/** Last-Modified is the timestamp rounded up to the second, as Swift renders it. */
export function httpDate(timestamp: string): string {
  return new Date(Math.ceil(Number(timestamp)) * 1000).toUTCString();
}
