import { connect } from 'node:net';
import { WebSocket, type RawData } from 'ws';
import type { Logger } from '../../core/log.js';
import type { ConsoleEndpoint } from '../../contracts/console.js';

/** Bytes queued towards a slow browser before the console's socket is paused, and resumed. */
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 512 * 1024;

const bytesOf = (data: RawData): Buffer => (Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data));

/**
 * Joins a websocket to a console's socket (websockify's job in nova-novncproxy): binary
 * frames one way, the socket's bytes the other, each side held back while the other is
 * behind, and both closed together. Text frames are refused: noVNC speaks binary.
 */
export function bridgeConsole(ws: WebSocket, endpoint: ConsoleEndpoint, log: Logger): void {
  const upstream = 'unixSocket' in endpoint ? connect(endpoint.unixSocket) : connect(endpoint.port, endpoint.host);
  upstream.setNoDelay(true);
  let finished = false;
  const finish = (code: number, reason: string) => {
    if (finished) return;
    finished = true;
    upstream.destroy();
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code, reason);
  };

  upstream.on('data', (chunk: Buffer) => {
    ws.send(chunk, { binary: true }, (error) => {
      if (!error && upstream.isPaused() && ws.bufferedAmount <= LOW_WATER) upstream.resume();
    });
    if (ws.bufferedAmount > HIGH_WATER) upstream.pause();
  });
  upstream.on('error', (error) => {
    log.warn({ err: error, endpoint }, 'console connection failed');
    finish(1011, 'console unreachable');
  });
  upstream.on('close', () => finish(1000, 'console closed'));

  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      finish(1003, 'binary frames only');
      return;
    }
    if (!upstream.write(bytesOf(data))) {
      ws.pause();
      upstream.once('drain', () => ws.resume());
    }
  });
  ws.on('close', () => finish(1000, 'closed'));
  ws.on('error', () => finish(1011, 'websocket error'));
}
