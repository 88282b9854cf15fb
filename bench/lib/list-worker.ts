/**
 * Clients listing a collection over and over, in a worker thread of their own: decoding
 * megabytes of JSON on the bench's main thread would delay the latency measurements made
 * there. Started by `startListers`; stops and reports when told.
 */
import { parentPort, Worker, workerData } from 'node:worker_threads';

export interface ListerStats {
  done: number;
  failed: number;
  ms: number[];
  bytes: number;
}

interface Job {
  url: string;
  token: string;
  clients: number;
}

/** `clients` loops of GET `url` until `stop()`, which resolves with what they saw. */
export function startListers(url: string, token: string, clients: number): { stop(): Promise<ListerStats> } {
  const worker = new Worker(new URL(import.meta.url), { workerData: { url, token, clients } satisfies Job });
  const result = new Promise<ListerStats>((resolve, reject) => {
    worker.once('message', (stats: ListerStats) => resolve(stats));
    worker.once('error', reject);
  });
  return {
    async stop() {
      worker.postMessage('stop');
      const stats = await result;
      await worker.terminate();
      return stats;
    },
  };
}

async function runJob(job: Job): Promise<void> {
  const stats: ListerStats = { done: 0, failed: 0, ms: [], bytes: 0 };
  let stopped = false;
  parentPort?.once('message', () => (stopped = true));
  const loop = async () => {
    while (!stopped) {
      const started = performance.now();
      const response = await fetch(job.url, { headers: { 'x-auth-token': job.token } });
      const text = await response.text();
      if (stopped) break;
      if (response.status === 200) {
        stats.done++;
        stats.ms.push(performance.now() - started);
        stats.bytes = text.length;
      } else {
        stats.failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: job.clients }, loop));
  parentPort?.postMessage(stats);
}

if (parentPort && (workerData as Job | undefined)?.url) await runJob(workerData as Job);
