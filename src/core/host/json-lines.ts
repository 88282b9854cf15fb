import { StringDecoder } from 'node:string_decoder';

/**
 * QMP speaks newline-delimited JSON, but a socket delivers arbitrary chunks: one message can
 * arrive in pieces (even mid UTF-8 character) and one chunk can carry several messages. This
 * turns chunks back into whole parsed messages, in order.
 */
export class JsonLineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  /** maxLineChars bounds memory if the peer never sends a newline (a broken or hostile QEMU). */
  constructor(private readonly maxLineChars = 16 * 1024 * 1024) {}

  /** Every complete message in the data seen so far; throws on a line that is not JSON. */
  push(chunk: Buffer | string): unknown[] {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const messages: unknown[] = [];
    let newline = this.pending.indexOf('\n');
    while (newline !== -1) {
      // QEMU ends lines with \r\n on some chardev backends; JSON.parse ignores the \r anyway.
      const line = this.pending.slice(0, newline).trim();
      this.pending = this.pending.slice(newline + 1);
      if (line !== '') messages.push(JSON.parse(line));
      newline = this.pending.indexOf('\n');
    }
    if (this.pending.length > this.maxLineChars) {
      this.pending = '';
      throw new Error(`QMP line longer than ${this.maxLineChars} characters`);
    }
    return messages;
  }
}
