import { generateKeyPair, randomBytes, sign, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';

/**
 * A self-signed certificate for a generated `x509` key pair, as Nova makes one. Node can
 * parse certificates but not issue them, so the few DER structures needed are built here.
 */

const generateRsa = promisify(generateKeyPair);

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, content: Buffer) => Buffer.concat([Buffer.from([tag]), length(content.length), content]);
const sequence = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const utf8 = (text: string) => tlv(0x0c, Buffer.from(text, 'utf8'));
const NULL = Buffer.from([0x05, 0x00]);

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [40 * a + b];
  for (const arc of rest) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) chunk.unshift(0x80 | (v & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** A positive INTEGER from unsigned big-endian bytes. */
function integer(unsigned: Buffer): Buffer {
  return tlv(0x02, (unsigned[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), unsigned]) : unsigned);
}

function utcTime(date: Date): Buffer {
  const text = date.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  return tlv(0x17, Buffer.from(text, 'latin1'));
}

function name(parts: Array<[string, string]>): Buffer {
  return sequence(...parts.map(([type, value]) => set(sequence(oid(type), utf8(value)))));
}

const SHA256_WITH_RSA = sequence(oid('1.2.840.113549.1.1.11'), NULL);
const ORGANIZATION = '2.5.4.10';
const ORGANIZATIONAL_UNIT = '2.5.4.11';
const COMMON_NAME = '2.5.4.3';

export interface GeneratedCertificate {
  privateKey: string;
  certificate: string;
  /** SHA-1 of the DER certificate, as colon-separated lower-case hex. */
  fingerprint: string;
}

/** An RSA 2048 key and a ten-year self-signed certificate naming the user and project, as Nova's. */
export async function generateX509Keypair(userId: string, projectId: string): Promise<GeneratedCertificate> {
  const { publicKey, privateKey } = await generateRsa('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  const now = new Date();
  const until = new Date(now.getTime() + 3650 * 24 * 3600 * 1000);
  const subject = name([
    [ORGANIZATION, 'OpenStack'],
    [ORGANIZATIONAL_UNIT, 'NovaDev'],
    [COMMON_NAME, `${userId.slice(0, 16)}-${projectId.slice(0, 16)}-${now.toISOString().replace(/[-:.]/g, '')}`],
  ]);
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const tbs = sequence(
    tlv(0xa0, integer(Buffer.from([2]))),
    integer(serial),
    SHA256_WITH_RSA,
    subject,
    sequence(utcTime(now), utcTime(until)),
    subject,
    publicKey.export({ type: 'spki', format: 'der' }),
  );
  const signature = sign('sha256', tbs, privateKey);
  const der = sequence(tbs, SHA256_WITH_RSA, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const body = der.toString('base64').match(/.{1,64}/g)?.join('\n') ?? '';
  const certificate = `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
  const parsed = new X509Certificate(certificate);
  return {
    privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    certificate,
    fingerprint: parsed.fingerprint.toLowerCase(),
  };
}
