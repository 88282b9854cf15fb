import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The Fernet token format (spec: github.com/fernet/spec), as Keystone uses it:
 * version 0x80 | 8-byte big-endian timestamp | 16-byte IV | AES-128-CBC ciphertext | HMAC-SHA256,
 * base64url with the padding stripped.
 */
export interface FernetKey {
  signing: Buffer;
  encryption: Buffer;
}

const VERSION = 0x80;
const HEADER = 1 + 8 + 16;
const HMAC_LENGTH = 32;

export function parseFernetKey(encoded: string): FernetKey {
  const raw = Buffer.from(encoded.trim(), 'base64url');
  if (raw.length !== 32) throw new Error('a Fernet key is 32 bytes of url-safe base64');
  return { signing: raw.subarray(0, 16), encryption: raw.subarray(16) };
}

export function generateFernetKey(): string {
  return randomBytes(32).toString('base64url') + '=';
}

export function fernetEncrypt(key: FernetKey, plaintext: Uint8Array, now = Date.now()): string {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-128-cbc', key.encryption, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const header = Buffer.alloc(9);
  header[0] = VERSION;
  header.writeBigUInt64BE(BigInt(Math.floor(now / 1000)), 1);
  const body = Buffer.concat([header, iv, ciphertext]);
  const mac = createHmac('sha256', key.signing).update(body).digest();
  return Buffer.concat([body, mac]).toString('base64url');
}

/** Returns the plaintext, or undefined when no key authenticates the token or it is malformed. */
export function fernetDecrypt(keys: readonly FernetKey[], token: string): Uint8Array | undefined {
  if (token.length < 60 || token.length > 4096 || !/^[A-Za-z0-9_-]+=*$/.test(token)) return undefined;
  const raw = Buffer.from(token.replace(/=+$/, ''), 'base64url');
  if (raw.length < HEADER + 16 + HMAC_LENGTH || raw[0] !== VERSION) return undefined;
  if ((raw.length - HEADER - HMAC_LENGTH) % 16 !== 0) return undefined;
  const body = raw.subarray(0, raw.length - HMAC_LENGTH);
  const mac = raw.subarray(raw.length - HMAC_LENGTH);
  for (const key of keys) {
    const expected = createHmac('sha256', key.signing).update(body).digest();
    if (!timingSafeEqual(expected, mac)) continue;
    try {
      const decipher = createDecipheriv('aes-128-cbc', key.encryption, raw.subarray(9, HEADER));
      return Buffer.concat([decipher.update(raw.subarray(HEADER, raw.length - HMAC_LENGTH)), decipher.final()]);
    } catch {
      return undefined;
    }
  }
  return undefined;
}
