import { decode, encode } from '@msgpack/msgpack';

/** What a Fernet token carries; everything else is recomputed at validation. */
export interface TokenPayload {
  userId: string;
  methods: string[];
  scope: TokenScope;
  issuedAt: number;
  expiresAt: number;
  /** The token's own audit id first, then the one of the token it was rescoped from. */
  auditIds: string[];
  applicationCredentialId?: string;
  /** A trust-scoped token's trust (OS-TRUST). */
  trustId?: string;
}

export type TokenScope =
  | { kind: 'unscoped' }
  | { kind: 'project'; id: string }
  | { kind: 'domain'; id: string }
  | { kind: 'system' };

const METHOD_BITS: Record<string, number> = { password: 1, token: 2, application_credential: 4, ec2credential: 8 };
const SCOPE_CODES = { unscoped: 0, project: 1, domain: 2, system: 3 } as const;
const PAYLOAD_VERSION = 1;

// 32-hex ids pack into 16 bytes; other ids (like the `default` domain) stay strings.
function packId(id: string): Uint8Array | string {
  return /^[0-9a-f]{32}$/.test(id) ? Buffer.from(id, 'hex') : id;
}

function unpackId(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  throw new Error('bad id in token payload');
}

export function encodePayload(payload: TokenPayload): Uint8Array {
  let methods = 0;
  for (const method of payload.methods) methods |= METHOD_BITS[method] ?? 0;
  const scope = payload.scope;
  return encode([
    PAYLOAD_VERSION,
    packId(payload.userId),
    methods,
    SCOPE_CODES[scope.kind],
    scope.kind === 'project' || scope.kind === 'domain' ? packId(scope.id) : null,
    payload.issuedAt,
    payload.expiresAt,
    payload.auditIds.map((id) => Buffer.from(id, 'base64url')),
    payload.applicationCredentialId ? packId(payload.applicationCredentialId) : null,
    // Only trust-scoped tokens carry a tenth member, so every other token keeps its length.
    ...(payload.trustId ? [packId(payload.trustId)] : []),
  ]);
}

/** Throws on anything that is not a payload this code wrote. */
export function decodePayload(bytes: Uint8Array): TokenPayload {
  const value = decode(bytes);
  if (!Array.isArray(value) || (value.length !== 9 && value.length !== 10) || value[0] !== PAYLOAD_VERSION) {
    throw new Error('unknown token payload');
  }
  const [, user, methodBits, scopeCode, scopeId, issuedAt, expiresAt, audits, appCred, trust] = value as unknown[];
  if (typeof methodBits !== 'number' || typeof issuedAt !== 'number' || typeof expiresAt !== 'number') {
    throw new Error('bad token payload');
  }
  if (!Array.isArray(audits)) throw new Error('bad token payload');
  const methods = Object.entries(METHOD_BITS)
    .filter(([, bit]) => (methodBits & bit) !== 0)
    .map(([name]) => name);
  let scope: TokenScope;
  switch (scopeCode) {
    case 0:
      scope = { kind: 'unscoped' };
      break;
    case 1:
      scope = { kind: 'project', id: unpackId(scopeId) };
      break;
    case 2:
      scope = { kind: 'domain', id: unpackId(scopeId) };
      break;
    case 3:
      scope = { kind: 'system' };
      break;
    default:
      throw new Error('bad token scope');
  }
  return {
    userId: unpackId(user),
    methods,
    scope,
    issuedAt,
    expiresAt,
    auditIds: audits.map((a) => {
      if (!(a instanceof Uint8Array)) throw new Error('bad audit id');
      return Buffer.from(a).toString('base64url');
    }),
    ...(appCred !== null && appCred !== undefined ? { applicationCredentialId: unpackId(appCred) } : {}),
    ...(trust !== null && trust !== undefined ? { trustId: unpackId(trust) } : {}),
  };
}
