// What the split-deployment suites (compute-split with the fake driver, compute-split-qemu with
// QEMU in namespaces) share: starting `kumo api|conductor|agent` children and waiting for them.
import { spawn, type ChildProcess } from 'node:child_process';
import { KUMO_MAIN } from './kumo-process.js';

export interface Child {
  process: ChildProcess;
  output: () => string;
}

/**
 * Starts `kumo <args>` and resolves once it printed `ready`. `wrapper` is a command the kumo
 * process runs under (e.g. `nsenter --net=...`), its argument array before node's.
 */
export async function startChild(
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: RegExp,
  options: { timeoutMs?: number; wrapper?: string[] } = {},
): Promise<Child & { match: RegExpExecArray }> {
  const [file, ...argv] = [...(options.wrapper ?? []), process.execPath, KUMO_MAIN, ...args] as [string, ...string[]];
  const child = spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    const match = ready.exec(text);
    if (match) return { process: child, output: () => text, match };
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`kumo ${args[0]} did not start: ${text}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends SIGTERM and waits for the exit; SIGKILL after `timeoutMs`. */
export async function stopChild(child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}
