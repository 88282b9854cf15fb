import { createHash, generateKeyPair, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { badRequest } from './context.js';

/** OpenSSH public keys and X.509 certificates as Nova's keypairs take them. */

const generateRsa = promisify(generateKeyPair);

const invalidKeypair = (reason: string) => badRequest(`Keypair data is invalid: ${reason}`);

/** The key types Nova (through `cryptography`) loads, with what their blob must carry after the name. */
const SSH_TYPES: Readonly<Record<string, (reader: WireReader, type: string) => void>> = {
  'ssh-rsa': (r) => {
    r.mpint();
    r.mpint();
  },
  'ssh-ed25519': (r) => {
    if (r.string().length !== 32) throw new Error('bad ed25519 key length');
  },
  'ecdsa-sha2-nistp256': ecdsa,
  'ecdsa-sha2-nistp384': ecdsa,
  'ecdsa-sha2-nistp521': ecdsa,
};

function ecdsa(r: WireReader, type: string): void {
  const curve = r.string().toString('latin1');
  if (`ecdsa-sha2-${curve}` !== type) throw new Error('curve does not match the key type');
  const point = r.string();
  if (point.length === 0 || point[0] !== 0x04) throw new Error('not an uncompressed point');
}

/** Reads the length-prefixed fields of an SSH wire-format blob (RFC 4251). */
class WireReader {
  private at = 0;
  constructor(private readonly data: Buffer) {}
  string(): Buffer {
    if (this.at + 4 > this.data.length) throw new Error('truncated');
    const length = this.data.readUInt32BE(this.at);
    const end = this.at + 4 + length;
    if (end > this.data.length) throw new Error('truncated');
    const value = this.data.subarray(this.at + 4, end);
    this.at = end;
    return value;
  }
  mpint(): Buffer {
    const value = this.string();
    if (value.length === 0) throw new Error('empty integer');
    return value;
  }
  get done(): boolean {
    return this.at === this.data.length;
  }
}

/** Nova's fingerprint of an OpenSSH key: MD5 of the decoded blob, as colon-separated hex. */
export function sshFingerprint(publicKey: string): string {
  const parts = publicKey.trim().split(/\s+/);
  const [type, encoded] = parts;
  const check = type !== undefined ? SSH_TYPES[type] : undefined;
  if (!check || !encoded || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    throw invalidKeypair('failed to generate fingerprint');
  }
  const blob = Buffer.from(encoded, 'base64');
  try {
    const reader = new WireReader(blob);
    if (reader.string().toString('latin1') !== type) throw new Error('embedded type differs');
    check(reader, type as string);
    if (!reader.done) throw new Error('trailing data');
  } catch {
    throw invalidKeypair('failed to generate fingerprint');
  }
  return colonHex(createHash('md5').update(blob).digest());
}

/** Nova's fingerprint of an X.509 certificate: its SHA-1, as colon-separated hex. */
export function x509Fingerprint(pem: string): string {
  try {
    return colonHex(createHash('sha1').update(new X509Certificate(pem).raw).digest());
  } catch {
    throw invalidKeypair('failed to generate X509 fingerprint');
  }
}

const colonHex = (bytes: Buffer) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');

/** An SSH `mpint`: big-endian, with a zero byte in front when the top bit would make it negative. */
function mpint(unsigned: Buffer): Buffer {
  let start = 0;
  while (start < unsigned.length - 1 && unsigned[start] === 0) start++;
  const trimmed = unsigned.subarray(start);
  return (trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed;
}

function wireString(value: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(value.length);
  return Buffer.concat([length, value]);
}

export interface GeneratedKeypair {
  privateKey: string;
  publicKey: string;
  fingerprint: string;
}

/** A fresh RSA 2048 key, generated off the event loop, in the formats Nova returns. */
export async function generateSshKeypair(): Promise<GeneratedKeypair> {
  const { publicKey, privateKey } = await generateRsa('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  const jwk = publicKey.export({ format: 'jwk' });
  if (!jwk.n || !jwk.e) throw new Error('RSA key without modulus or exponent');
  const blob = Buffer.concat([
    wireString(Buffer.from('ssh-rsa')),
    wireString(mpint(Buffer.from(jwk.e, 'base64url'))),
    wireString(mpint(Buffer.from(jwk.n, 'base64url'))),
  ]);
  return {
    privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    publicKey: `ssh-rsa ${blob.toString('base64')} Generated-by-Nova`,
    fingerprint: colonHex(createHash('md5').update(blob).digest()),
  };
}
