import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Inside the namespace: accept on a unix socket, connect to 127.0.0.1:PORT there. */
const INSIDE = `
const net = require('node:net');
const [socket, port] = process.argv.slice(1);
net.createServer((c) => {
  const u = net.connect(Number(port), '127.0.0.1');
  c.pipe(u).pipe(c);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
}).listen(socket);
`;

function splice(a: Socket, b: Socket): void {
  a.pipe(b).pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
}

/**
 * Makes 127.0.0.1:`port` inside a network namespace answer on 127.0.0.1:`port` of the test's
 * own loopback, through a unix socket (the file system is shared, the loopbacks are not): a
 * cloud running in the lab's "host" namespace is then reachable by the test's HTTP client with
 * the URLs its catalog gives. Only loopback traffic; nothing is routed between namespaces.
 */
export class NetnsRelay {
  private constructor(
    private readonly child: ChildProcess,
    private readonly server: Server,
    private readonly dir: string,
    private readonly sockets: Set<Socket>,
  ) {}

  static async open(netns: string, port: number): Promise<NetnsRelay> {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-relay-'));
    const socket = join(dir, 'relay.sock');
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', INSIDE, socket, String(port)], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
    if (!existsSync(socket)) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`the relay into ${netns} did not start`);
    }
    const sockets = new Set<Socket>();
    const server = createServer((client) => {
      const inside = connect(socket);
      for (const s of [client, inside]) {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
      }
      splice(client, inside);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return new NetnsRelay(child, server, dir, sockets);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    // Kept-alive connections would hold the server open.
    for (const s of this.sockets) s.destroy();
    await closed;
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Inside the namespace: listen on HOST:PORT there, pass each connection to the unix socket. */
const INWARD = `
const net = require('node:net');
const [socket, host, port] = process.argv.slice(1);
net.createServer((c) => {
  const u = net.connect(socket);
  c.pipe(u).pipe(c);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
}).listen(Number(port), host, () => process.stdout.write('listening\\n'));
`;

/**
 * The other way round: a service of the test's machine (127.0.0.1:`targetPort`, e.g. the CI's
 * PostgreSQL or RabbitMQ) answers inside a network namespace on `host`:`port`, through a unix
 * socket the test owns. A stand-in for the controller's own database and broker: nothing is
 * routed between the namespaces and the machine, and the relay ends with the test.
 */
export class NetnsForward {
  private constructor(
    private readonly child: ChildProcess,
    private readonly server: Server,
    private readonly dir: string,
    private readonly sockets: Set<Socket>,
  ) {}

  static async open(netns: string, listen: { host: string; port: number }, targetPort: number): Promise<NetnsForward> {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-forward-'));
    const socket = join(dir, 'forward.sock');
    const sockets = new Set<Socket>();
    const server = createServer((inside) => {
      const target = connect(targetPort, '127.0.0.1');
      for (const s of [inside, target]) {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
      }
      splice(inside, target);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => resolve());
    });
    const child = spawn('nsenter', [`--net=/run/netns/${netns}`, process.execPath, '-e', INWARD, socket, listen.host, String(listen.port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    child.stdout?.on('data', (chunk: Buffer) => (said += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (said += chunk.toString()));
    for (let i = 0; i < 200 && !said.includes('listening') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    const forward = new NetnsForward(child, server, dir, sockets);
    if (!said.includes('listening')) {
      await forward.close();
      throw new Error(`the forward of 127.0.0.1:${targetPort} into ${netns} at ${listen.host}:${listen.port} did not start: ${said}`);
    }
    return forward;
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
