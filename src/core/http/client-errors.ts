import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { STATUS_TITLES } from './errors.js';

/** How long a refused connection may keep sending what is left of its request before it is cut. */
const DRAIN_GRACE_MS = 5_000;

/** Sockets already answered: the parser may report the same broken request more than once. */
const answered = new WeakSet<Socket>();

const STATUS_OF: Readonly<Record<string, number>> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

const TITLES: Readonly<Record<number, string>> = { ...STATUS_TITLES, 431: 'Request Header Fields Too Large' };

const MESSAGES: Readonly<Record<number, string>> = {
  400: 'The request could not be parsed as HTTP.',
  408: 'The request took too long to arrive.',
  431: 'The request headers are too large.',
};

/**
 * Answers a request the HTTP parser refused (no route, hook or service ever sees it): the
 * whole response with `Connection: close`, then a half-close once it is flushed. Whatever
 * the client still sends is read and dropped until it closes too, because closing a socket
 * with unread bytes makes the kernel send a reset, which a keep-alive client reports as
 * ECONNRESET on its next request instead of opening a new connection.
 */
export function answerClientError(error: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed || answered.has(socket)) return;
  answered.add(socket);
  const status = STATUS_OF[error.code ?? ''] ?? 400;
  const title = TITLES[status] ?? 'Bad Request';
  // No service owns the request yet: Keystone's shape, the most common among OpenStack clients.
  // A body only where the request line shows a method that may have one: a HEAD client reads
  // none, and would take the bytes for a broken next response.
  const start = Buffer.isBuffer(error.rawPacket) ? error.rawPacket.subarray(0, 8).toString('latin1') : '';
  const body = /^(GET|POST|PUT|PATCH|DELETE|OPTIONS) /.test(start)
    ? JSON.stringify({ error: { code: status, title, message: MESSAGES[status] ?? MESSAGES[400] } })
    : '';
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${title}\r\nConnection: close\r\n${body ? 'Content-Type: application/json\r\n' : ''}Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-OpenStack-Request-ID: req-${randomUUID()}\r\n\r\n${body}`,
    );
  }
  socket.on('data', () => undefined);
  socket.resume();
  const cut = setTimeout(() => socket.destroy(), DRAIN_GRACE_MS);
  cut.unref();
  socket.once('close', () => clearTimeout(cut));
}
