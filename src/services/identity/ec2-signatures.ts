import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The signatures an EC2 or S3 client puts on a request, computed from the credential's secret
 * exactly as keystoneclient's Ec2Signer and Keystone's s3tokens compute them, so a gateway that
 * forwards a signed request can ask Keystone (here: /v3/ec2tokens, /v3/s3tokens) who sent it.
 */

/** What /v3/ec2tokens receives about the signed request. */
export interface Ec2SignedRequest {
  signature?: string;
  host?: string;
  verb?: string;
  path?: string;
  params: Record<string, unknown>;
  headers: Record<string, string>;
  body_hash?: string;
}

export class SignatureError extends Error {}

/** The signature Ec2Signer.generate gives this request, or a SignatureError for a request it cannot sign. */
export function ec2Signature(secret: string, req: Ec2SignedRequest): string {
  const version = req.params.SignatureVersion;
  if (version === '0') return base64Hmac('sha1', secret, `${text(req.params.Action)}${text(req.params.Timestamp)}`);
  if (version === '1') {
    const hmac = createHmac('sha1', secret);
    for (const key of Object.keys(req.params).sort((a, b) => compare(a.toLowerCase(), b.toLowerCase()))) {
      hmac.update(key);
      hmac.update(text(req.params[key]));
    }
    return hmac.digest('base64');
  }
  if (version === '2') {
    // Ec2Signer sets the method it signs with (HmacSHA256) in the parameters it signs.
    const params = { ...req.params, SignatureMethod: 'HmacSHA256' };
    return base64Hmac('sha256', secret, `${text(req.verb)}\n${text(req.host)}\n${text(req.path)}\n${canonicalQuery(params)}`);
  }
  if (isV4(req)) return v4Signature(secret, req);
  throw new SignatureError(version !== undefined ? `Unknown signature version: ${text(version)}` : 'Unexpected signature format');
}

function isV4(req: Ec2SignedRequest): boolean {
  const authorization = req.headers.Authorization;
  if (authorization !== undefined) return authorization.startsWith('AWS4-HMAC-SHA256');
  return req.params['X-Amz-Algorithm'] === 'AWS4-HMAC-SHA256';
}

function v4Signature(secret: string, req: Ec2SignedRequest): string {
  const authParam = (name: string): string | undefined => {
    const authorization = req.headers.Authorization;
    if (authorization !== undefined) return authorization.split(`${name}=`).slice(1).join(`${name}=`).split(',')[0];
    const value = req.params[`X-Amz-${name}`];
    return value === undefined ? undefined : text(value);
  };
  const signedHeaders = authParam('SignedHeaders') ?? '';
  const credential = authParam('Credential') ?? '';
  const date = req.headers['X-Amz-Date'] ?? (req.params['X-Amz-Date'] === undefined ? undefined : text(req.params['X-Amz-Date']));
  const lowered = new Map(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase().trim(), v.trim()]));
  const headerLines = signedHeaders
    .split(';')
    .filter((h) => lowered.has(h))
    .map((h) => `${h}:${lowered.get(h) as string}`);
  const verb = text(req.verb).toUpperCase();
  const canonicalRequest = [verb, text(req.path), verb !== 'POST' ? canonicalQuery(req.params) : '', `${headerLines.join('\n')}\n`, signedHeaders, text(req.body_hash)].join('\n');
  const scope = credential.split('/');
  const credentialDate = scope[1];
  if (credentialDate === undefined || date === undefined || !date.startsWith(credentialDate)) throw new SignatureError('Request date mismatch error');
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope.slice(1).join('/'), createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')].join('\n');
  const key = signingKey(secret, credentialDate, scope[2] ?? '', scope[3] ?? '');
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

/** AWS's derived key for a date, region and service. */
function signingKey(secret: string, date: string | Buffer, region: string | Buffer, service: string | Buffer): Buffer {
  const sign = (key: Buffer | string, msg: string | Buffer) => createHmac('sha256', key).update(msg).digest();
  return sign(sign(sign(sign(`AWS4${secret}`, date), region), service), 'aws4_request');
}

/**
 * /v3/s3tokens: the signature of the string to sign a Swift S3 gateway sends (base64url in
 * `token`): S3's v2 (HMAC-SHA1, base64) or, for an `AWS4` string, v4 for s3, iam or sts.
 */
export function s3Signature(secret: string, stringToSign: Buffer): string {
  if (stringToSign.subarray(0, 4).toString('latin1') !== 'AWS4') return createHmac('sha1', secret).update(stringToSign).digest('base64');
  const parts = splitLines(stringToSign);
  if (parts.length !== 4 || parts[0]?.toString('latin1') !== 'AWS4-HMAC-SHA256') throw new SignatureError('Invalid EC2 signature.');
  const scope = splitBy(parts[2] as Buffer, 0x2f);
  if (scope.length !== 4 || scope[3]?.toString('latin1') !== 'aws4_request') throw new SignatureError('Invalid EC2 signature.');
  if (!['s3', 'iam', 'sts'].includes((scope[2] as Buffer).toString('latin1'))) throw new SignatureError('Invalid EC2 signature.');
  const key = signingKey(secret, scope[0] as Buffer, scope[1] as Buffer, scope[2] as Buffer);
  return createHmac('sha256', key).update(stringToSign).digest('hex');
}

/** Compares in constant time for equal lengths (a signature's length is no secret). */
export function signaturesEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Ec2Signer's canonical query string: keys in code point order, Python's quote (only A-Z a-z 0-9 _ . - ~ left as they are). */
function canonicalQuery(params: Record<string, unknown>): string {
  return Object.keys(params)
    .sort(compare)
    .map((key) => `${pythonQuote(key)}=${pythonQuote(text(params[key]))}`)
    .join('&');
}

function pythonQuote(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A parameter as Python's str() would give it: booleans and None spelled Python's way. */
function text(value: unknown): string {
  if (value === undefined) return '';
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  return typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function base64Hmac(algorithm: 'sha1' | 'sha256', secret: string, message: string): string {
  return createHmac(algorithm, secret).update(message, 'utf8').digest('base64');
}

function splitLines(buffer: Buffer): Buffer[] {
  return splitBy(buffer, 0x0a);
}

function splitBy(buffer: Buffer, byte: number): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= buffer.length; i++) {
    if (i === buffer.length || buffer[i] === byte) {
      parts.push(buffer.subarray(start, i));
      start = i + 1;
    }
  }
  return parts;
}
