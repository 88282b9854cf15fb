import { lstat, mkdir, unlink } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { dirname } from 'node:path';
import type { Bus } from '../../core/bus/index.js';
import type { Logger } from '../../core/log.js';
import { METADATA_HEADERS, signInstanceId } from '../../contracts/metadata.js';
import { METADATA_LOOKUP, NETWORK_SERVER_TOPIC, type MetadataLookupArgs, type MetadataLookupResult } from '../../contracts/network-agent.js';

export interface MetadataRelayOptions {
  /** Where haproxy in the namespaces connects, e.g. `<stateDir>/metadata.sock`. */
  socketPath: string;
  bus: Bus;
  /** The metadata service, e.g. http://127.0.0.1:8775 (Cloud.metadataUrl). */
  metadataUrl: string;
  /** Signs instance ids; the service must have the same (config.metadata.sharedSecret). */
  sharedSecret: string;
  log: Logger;
  /** How long an answer of the control plane is reused (Neutron's metadata agent: 5 s). */
  cacheTtlMs?: number;
  /** Limit for the control plane's answer and for the service's response to start. */
  timeoutMs?: number;
}

interface CacheEntry {
  answer: Promise<MetadataLookupResult | null>;
  expires: number;
}

/** Request headers passed on to the service besides the ones the relay sets itself. */
const PASSED_ON = ['content-type', 'content-length', 'accept', 'user-agent'] as const;
/** Response headers passed back to the guest. */
const PASSED_BACK = ['content-type', 'content-length'] as const;
/** A miss is kept briefly: a guest that has just booted should not wait out a full TTL. */
const MISS_TTL_MS = 1_000;
const MAX_CACHE_ENTRIES = 10_000;

/**
 * Neutron's metadata agent: an HTTP server on a unix socket behind the haproxy of each router
 * or network namespace. haproxy adds X-Forwarded-For (the guest) and X-Neutron-Router-ID or
 * X-Neutron-Network-ID (where it listens); the relay asks the control plane which instance
 * holds that address there, signs the instance id and forwards the request to the metadata
 * service. Whatever the guest sent as X-Instance-ID and the like is dropped, never forwarded:
 * the relay builds the upstream headers from scratch.
 */
export class MetadataRelay {
  private server: Server | undefined;
  private readonly cache = new Map<string, CacheEntry>();
  private readonly upstream: URL;
  private readonly cacheTtlMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: MetadataRelayOptions) {
    this.upstream = new URL(options.metadataUrl);
    if (this.upstream.protocol !== 'http:') throw new Error(`metadata URL ${options.metadataUrl}: only http:// is supported`);
    this.cacheTtlMs = options.cacheTtlMs ?? 5_000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  async start(): Promise<void> {
    const { socketPath } = this.options;
    await mkdir(dirname(socketPath), { recursive: true });
    await removeStaleSocket(socketPath);
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.options.log.error({ err }, 'metadata relay failed on a request');
        fail(res, 500, 'An unknown error has occurred. Please try your request again.');
      });
    });
    // A malformed request from the proxy is answered and dropped; it never reaches `handle`.
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.options.log.error({ err, socketPath }, 'metadata relay server error'));
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    this.cache.clear();
    await unlink(this.options.socketPath).catch(() => undefined);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const forwarded = header(req, METADATA_HEADERS.forwardedFor);
    // haproxy appends the address it saw; earlier entries are whatever the guest claimed.
    const address = forwarded?.split(',').pop()?.trim();
    if (!address) return fail(res, 400, 'X-Forwarded-For header is missing from request.');
    if (isIP(address) === 0) return fail(res, 400, 'X-Forwarded-For is not an IP address.');
    const networkId = header(req, METADATA_HEADERS.networkId);
    const routerId = header(req, METADATA_HEADERS.routerId);
    // Neutron's agent prefers the network when both are present.
    const where: Omit<MetadataLookupArgs, 'ip'> | undefined = networkId ? { networkId } : routerId ? { routerId } : undefined;
    if (!where) return fail(res, 400, 'X-Neutron-Router-ID or X-Neutron-Network-ID header is missing from request.');

    let owner: MetadataLookupResult | null;
    try {
      owner = await this.lookup({ ...where, ip: address });
    } catch (err) {
      this.options.log.warn({ err, address, ...where }, 'metadata relay could not ask the control plane who the guest is');
      return fail(res, 503, 'The metadata service is not available right now. Please try your request again.');
    }
    if (!owner) {
      this.options.log.debug({ address, ...where }, 'metadata request from an address of no instance');
      return fail(res, 404, 'The resource could not be found.');
    }
    this.forward(req, res, address, owner);
  }

  /** Who holds the address; answers are shared by concurrent requests and kept for a few seconds. */
  private lookup(args: MetadataLookupArgs): Promise<MetadataLookupResult | null> {
    const key = `${args.networkId ? `n:${args.networkId}` : `r:${args.routerId}`}|${args.ip}`;
    const now = Date.now();
    const cached = this.cache.get(key);
    if (cached && cached.expires > now) return cached.answer;
    if (this.cache.size >= MAX_CACHE_ENTRIES) this.prune(now);
    const answer = this.options.bus
      .call({ topic: NETWORK_SERVER_TOPIC }, METADATA_LOOKUP, args, { timeoutMs: Math.min(this.timeoutMs, 10_000) })
      .then((result) => toLookupResult(result));
    const entry: CacheEntry = { answer, expires: now + this.cacheTtlMs };
    this.cache.set(key, entry);
    answer.then(
      (result) => {
        if (result === null) entry.expires = Math.min(entry.expires, Date.now() + MISS_TTL_MS);
      },
      // A failure is not an answer: the next request asks again.
      () => {
        if (this.cache.get(key) === entry) this.cache.delete(key);
      },
    );
    return answer;
  }

  private prune(now: number): void {
    for (const [key, entry] of this.cache) if (entry.expires <= now) this.cache.delete(key);
    if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.clear();
  }

  /** Streams the request to the metadata service with the signed headers, and its answer back. */
  private forward(req: IncomingMessage, res: ServerResponse, address: string, owner: MetadataLookupResult): void {
    const headers: OutgoingHttpHeaders = {
      [METADATA_HEADERS.forwardedFor]: address,
      [METADATA_HEADERS.instanceId]: owner.instanceId,
      [METADATA_HEADERS.tenantId]: owner.projectId,
      [METADATA_HEADERS.signature]: signInstanceId(this.options.sharedSecret, owner.instanceId),
    };
    for (const name of PASSED_ON) {
      const value = req.headers[name];
      if (value !== undefined) headers[name] = value;
    }
    const upstream = httpRequest(
      {
        protocol: this.upstream.protocol,
        hostname: this.upstream.hostname.replace(/^\[|\]$/g, ''),
        port: this.upstream.port || 80,
        method: req.method,
        path: `${this.upstream.pathname.replace(/\/$/, '')}${originForm(req.url)}`,
        headers,
        timeout: this.timeoutMs,
      },
      (answer) => {
        const back: OutgoingHttpHeaders = {};
        for (const name of PASSED_BACK) {
          const value = answer.headers[name];
          if (value !== undefined) back[name] = value;
        }
        res.writeHead(answer.statusCode ?? 502, back);
        answer.pipe(res);
        answer.on('error', () => res.destroy());
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error(`no answer from ${this.options.metadataUrl} within ${this.timeoutMs} ms`)));
    upstream.on('error', (err) => {
      this.options.log.warn({ err, url: this.options.metadataUrl }, 'metadata relay could not reach the metadata service');
      if (res.headersSent) res.destroy();
      else fail(res, 502, 'The metadata service could not be reached. Please try your request again.');
    });
    req.on('error', () => upstream.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }
}

/** The path and query of a request target, also when a client sent it in absolute form. */
function originForm(target: string | undefined): string {
  if (target === undefined || target === '') return '/';
  if (target.startsWith('/')) return target;
  try {
    const url = new URL(target);
    return `${url.pathname}${url.search}`;
  } catch {
    return `/${target}`;
  }
}

/** A value of one request header, the first when repeated (haproxy sets these, never repeats them). */
function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first.trim() === '' ? undefined : first.trim();
}

/** The control plane's answer, checked: it crosses the bus as plain JSON. */
function toLookupResult(value: unknown): MetadataLookupResult | null {
  if (value === null || value === undefined) return null;
  const { instanceId, projectId } = value as Partial<MetadataLookupResult>;
  if (typeof instanceId !== 'string' || typeof projectId !== 'string') throw new Error('malformed metadata_lookup answer');
  return { instanceId, projectId };
}

/** A plain-text error, as Neutron's agent answers with webob. */
function fail(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const titles: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' };
  const body = `${status} ${titles[status] ?? 'Error'}\n\n${message}\n\n   `;
  res.writeHead(status, { 'content-type': 'text/plain; charset=UTF-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Removes a socket file a previous run left behind; refuses to remove anything else. */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    const stat = await lstat(path);
    if (!stat.isSocket()) throw new Error(`${path} exists and is not a socket; not removing it`);
    await unlink(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
