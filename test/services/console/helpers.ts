import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import WebSocket from 'ws';

/** What QEMU's VNC server says first (RFB 3.8). */
export const RFB_BANNER = 'RFB 003.008\n';

/**
 * Stands in for QEMU's VNC unix socket: greets every client with the RFB banner, then echoes
 * what it receives, so bytes can be followed both ways through the proxy.
 */
export class FakeVncServer {
  readonly received: Buffer[] = [];
  readonly clients = new Set<Socket>();
  private constructor(
    readonly path: string,
    private readonly server: Server,
  ) {}

  static async listen(path: string): Promise<FakeVncServer> {
    const server = createServer();
    const vnc = new FakeVncServer(path, server);
    server.on('connection', (socket) => {
      vnc.clients.add(socket);
      socket.on('close', () => vnc.clients.delete(socket));
      socket.on('error', () => undefined);
      socket.write(RFB_BANNER);
      socket.on('data', (chunk) => {
        vnc.received.push(chunk);
        socket.write(chunk);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, resolve);
    });
    return vnc;
  }

  /** Drops every client, as QEMU does when the guest goes away. */
  dropClients(): void {
    for (const socket of this.clients) socket.destroy();
  }

  async close(): Promise<void> {
    this.dropClients();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }
}

/** The websocket a console URL leads to, as noVNC builds it: the page's host and port, then `path`. */
export function websocketUrlOf(consoleUrl: string): string {
  const page = new URL(consoleUrl);
  const path = page.searchParams.get('path');
  if (path === null) throw new Error(`no path parameter in ${consoleUrl}`);
  return `ws://${page.host}/${path}`;
}

/** Every message of a websocket from its opening on, read in order (none lost between reads). */
export class Inbox {
  private readonly queued: Buffer[] = [];
  private waiting: { resolve: (data: Buffer) => void; reject: (error: Error) => void } | undefined;
  private closedWith: number | undefined;

  constructor(ws: WebSocket) {
    ws.on('message', (data) => {
      const bytes = data as Buffer;
      if (this.waiting) {
        this.waiting.resolve(bytes);
        this.waiting = undefined;
      } else {
        this.queued.push(bytes);
      }
    });
    ws.on('close', (code) => {
      this.closedWith = code;
      this.waiting?.reject(new Error(`closed with ${code}`));
      this.waiting = undefined;
    });
  }

  next(): Promise<Buffer> {
    const ready = this.queued.shift();
    if (ready) return Promise.resolve(ready);
    if (this.closedWith !== undefined) return Promise.reject(new Error(`closed with ${this.closedWith}`));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  /** Reads until `length` bytes have arrived. */
  async bytes(length: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let total = 0;
    while (total < length) {
      const part = await this.next();
      parts.push(part);
      total += part.length;
    }
    return Buffer.concat(parts);
  }
}

export type Opened = { ws: WebSocket; inbox: Inbox };
export type Refused = { status: number; body: string };

/**
 * Opens a websocket asking for the `binary` subprotocol (unless told otherwise); resolves
 * with the socket and its inbox, or with the HTTP answer when the upgrade is refused.
 */
export function openConsole(url: string, headers: Record<string, string> = {}, protocols: string[] = ['binary']): Promise<Opened | Refused> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers });
    const inbox = new Inbox(ws);
    ws.once('open', () => resolve({ ws, inbox }));
    ws.once('unexpected-response', (request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => {
        request.destroy();
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    // Once open, errors end in 'close', which the tests watch.
    ws.on('error', reject);
  });
}

/** Resolves with the close code once the websocket closes. */
export function closed(ws: WebSocket): Promise<number> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve) => ws.once('close', (code) => resolve(code)));
}
