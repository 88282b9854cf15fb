import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';

export interface WebSocketFirstBytes {
  /** 101 when the upgrade was accepted, else the HTTP status of the refusal. */
  status: number;
  /** The subprotocol the server chose (Sec-WebSocket-Protocol). */
  protocol?: string;
  /** The payload of the first binary/text frames, at least `bytes` long when the upgrade succeeded. */
  data: Buffer;
}

/**
 * Opens a websocket (RFC 6455) to `url`, asking for `protocol`, and returns the first `bytes`
 * payload bytes the server sends, then closes. Enough of a client to check what a VNC proxy
 * answers, with no dependency.
 */
export function websocketFirstBytes(url: string, protocol: string, bytes: number, timeoutMs = 15_000): Promise<WebSocketFirstBytes> {
  const key = randomBytes(16).toString('base64');
  const expectedAccept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
  const target = new URL(url.replace(/^ws/, 'http'));
  return new Promise((resolve, reject) => {
    const req = request(target, {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': key,
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Protocol': protocol,
      },
      timeout: timeoutMs,
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`websocket ${url}: nothing within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.on('response', (response) => {
      clearTimeout(timer);
      response.resume();
      resolve({ status: response.statusCode ?? 0, data: Buffer.alloc(0) });
    });
    req.on('upgrade', (response, socket, head) => {
      if (response.headers['sec-websocket-accept'] !== expectedAccept) {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(`websocket ${url}: wrong Sec-WebSocket-Accept ${String(response.headers['sec-websocket-accept'])}`));
        return;
      }
      const chosen = response.headers['sec-websocket-protocol'];
      let buffer = Buffer.from(head);
      let payload = Buffer.alloc(0);
      const finish = () => {
        clearTimeout(timer);
        // A close frame (opcode 8, masked as a client must, empty payload).
        socket.end(Buffer.from([0x88, 0x80, 0, 0, 0, 0]));
        resolve({ status: 101, ...(typeof chosen === 'string' ? { protocol: chosen } : {}), data: payload });
      };
      const consume = () => {
        for (;;) {
          if (buffer.length < 2) return;
          const opcode = (buffer[0] as number) & 0x0f;
          let length = (buffer[1] as number) & 0x7f;
          let offset = 2;
          if (length === 126) {
            if (buffer.length < 4) return;
            length = buffer.readUInt16BE(2);
            offset = 4;
          } else if (length === 127) {
            if (buffer.length < 10) return;
            length = Number(buffer.readBigUInt64BE(2));
            offset = 10;
          }
          // Server frames are never masked (RFC 6455 5.1).
          if (buffer.length < offset + length) return;
          const frame = buffer.subarray(offset, offset + length);
          buffer = buffer.subarray(offset + length);
          if (opcode === 0x8) {
            clearTimeout(timer);
            socket.destroy();
            reject(new Error(`websocket ${url}: closed by the server after ${payload.length} bytes`));
            return;
          }
          if (opcode === 0x0 || opcode === 0x1 || opcode === 0x2) payload = Buffer.concat([payload, frame]);
          if (payload.length >= bytes) {
            finish();
            return;
          }
        }
      };
      socket.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        consume();
      });
      socket.on('error', () => undefined);
      consume();
    });
    req.end();
  });
}
