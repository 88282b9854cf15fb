import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled `kumo` entry point, found from this (compiled) file. */
export const KUMO_MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../kumo.mjs');

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface KumoProcess {
  child: ChildProcess;
  url: string;
  dataDir: string;
  startedAt: number;
  adminPassword: string;
  stop(): Promise<void>;
}

/**
 * Starts a real `kumo up` on a fresh data directory; resolves once the banner is printed.
 * `main` runs another build (a bench comparing two commits).
 */
export async function startKumo(env: NodeJS.ProcessEnv = {}, main = KUMO_MAIN): Promise<KumoProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kumo-bench-'));
  const port = await freePort();
  const startedAt = performance.now();
  // Logs go to a file: reading them here would steal CPU from the load generator.
  const logFd = openSync(join(dataDir, 'kumo.log'), 'a');
  const child = spawn(process.execPath, [main, 'up', '--data-dir', dataDir, '--port', String(port)], {
    // The guest image build would compete with the measurement for the CPU.
    env: { ...process.env, KUMO_GUEST_IMAGE: 'skip', KUMO_DATAPLANE: 'noop', KUMO_COMPUTE_DRIVER: 'fake', KUMO_METADATA_PORT: '0', KUMO_DEFAULT_NETWORKS: '0', ...env },
    stdio: ['ignore', logFd, logFd],
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const deadline = Date.now() + 30_000;
  while (!readFileSync(join(dataDir, 'kumo.log'), 'utf8').includes('Kumo is up at')) {
    if (exited || Date.now() > deadline) {
      const log = readFileSync(join(dataDir, 'kumo.log'), 'utf8').slice(-2000);
      if (!exited) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`kumo up ${exited ? 'exited early' : 'did not start within 30 s'}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const credentials = JSON.parse(readFileSync(join(dataDir, 'bootstrap-credentials.json'), 'utf8')) as { adminPassword: string };
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    dataDir,
    startedAt,
    adminPassword: credentials.adminPassword,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Resident set size of a process, from /proc (Linux). */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : NaN;
}
