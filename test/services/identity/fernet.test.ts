import assert from 'node:assert/strict';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import {
  fernetDecrypt,
  fernetEncrypt,
  generateFernetKey,
  parseFernetKey,
  type FernetKey,
} from '../../../src/services/identity/fernet/fernet.js';
import { FernetKeyRepository } from '../../../src/services/identity/fernet/key-repository.js';
import { decodePayload, encodePayload, type TokenPayload, type TokenScope } from '../../../src/services/identity/tokens/payload.js';

const newKey = (): FernetKey => parseFernetKey(generateFernetKey());
const raw = (token: string): Buffer => Buffer.from(token.replace(/=+$/, ''), 'base64url');
const text = (bytes: Uint8Array | undefined): string | undefined => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

/** The test vector of the Fernet spec (github.com/fernet/spec, generate.json / verify.json). */
const SPEC = {
  secret: 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=',
  token: 'gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==',
  src: 'hello',
  now: Date.parse('1985-10-26T01:20:00-07:00'),
};

/** A token with a valid HMAC around whatever ciphertext we like (what only a key holder can make). */
function signed(key: FernetKey, ciphertext: Buffer, iv = randomBytes(16), version = 0x80): string {
  const header = Buffer.alloc(9);
  header[0] = version;
  header.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000)), 1);
  const body = Buffer.concat([header, iv, ciphertext]);
  const mac = createHmac('sha256', key.signing).update(body).digest();
  return Buffer.concat([body, mac]).toString('base64url');
}

describe('Fernet tokens', () => {
  it('decrypts the Fernet spec test vector (interoperable with Keystone and cryptography.fernet)', () => {
    const key = parseFernetKey(SPEC.secret);
    assert.equal(text(fernetDecrypt([key], SPEC.token)), SPEC.src);
    // Keystone strips the padding from its tokens; both spellings must be accepted.
    assert.equal(text(fernetDecrypt([key], SPEC.token.replace(/=+$/, ''))), SPEC.src);
    const bytes = raw(SPEC.token);
    assert.equal(bytes[0], 0x80);
    assert.equal(Number(bytes.readBigUInt64BE(1)), SPEC.now / 1000);
  });

  it('round-trips plaintexts of every length around the AES block size', () => {
    const key = newKey();
    for (let n = 0; n <= 80; n++) {
      const plaintext = randomBytes(n);
      const token = fernetEncrypt(key, plaintext);
      assert.match(token, /^[A-Za-z0-9_-]+=*$/, 'url-safe base64');
      const decrypted = fernetDecrypt([key], token);
      assert.ok(decrypted, `length ${n} did not decrypt`);
      assert.deepEqual(Buffer.from(decrypted), plaintext);
      // version | timestamp | IV | ciphertext (PKCS7: always 1..16 bytes of padding) | HMAC
      assert.equal(raw(token).length, 1 + 8 + 16 + (Math.floor(n / 16) + 1) * 16 + 32, `length ${n}`);
    }
  });

  it('writes the version byte and the issue time in seconds', () => {
    const key = newKey();
    const now = Date.parse('2030-01-02T03:04:05.678Z');
    const bytes = raw(fernetEncrypt(key, Buffer.from('x'), now));
    assert.equal(bytes[0], 0x80);
    assert.equal(Number(bytes.readBigUInt64BE(1)), Math.floor(now / 1000));
  });

  it('never produces the same token twice for the same input (random IV)', () => {
    const key = newKey();
    const a = fernetEncrypt(key, Buffer.from('same'), 1_000_000);
    const b = fernetEncrypt(key, Buffer.from('same'), 1_000_000);
    assert.notEqual(a, b);
  });

  it('rejects a token with any single byte flipped', () => {
    const key = newKey();
    const token = fernetEncrypt(key, Buffer.from('{"user":"someone","scope":"project"}'));
    const bytes = raw(token);
    for (let i = 0; i < bytes.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const tampered = Buffer.from(bytes);
        tampered[i] = (tampered[i] as number) ^ mask;
        assert.equal(fernetDecrypt([key], tampered.toString('base64url')), undefined, `byte ${i} ^ ${mask} accepted`);
      }
    }
  });

  it('rejects a token with any character of its text changed, whenever the bytes change', () => {
    const key = newKey();
    const token = fernetEncrypt(key, Buffer.from('payload'));
    const original = raw(token);
    for (let i = 0; i < token.length; i++) {
      const replacement = token[i] === 'A' ? 'B' : 'A';
      const tampered = token.slice(0, i) + replacement + token.slice(i + 1);
      // The last character also carries unused padding bits; a change there may leave the bytes alone.
      if (raw(tampered).equals(original)) continue;
      assert.equal(fernetDecrypt([key], tampered), undefined, `character ${i} changed and accepted`);
    }
  });

  it('rejects truncated and extended tokens', () => {
    const key = newKey();
    const token = fernetEncrypt(key, Buffer.from('payload'));
    for (let cut = 1; cut < token.length; cut++) {
      assert.equal(fernetDecrypt([key], token.slice(0, token.length - cut)), undefined, `cut ${cut}`);
    }
    assert.equal(fernetDecrypt([key], `${token}AAAA`), undefined);
    assert.equal(fernetDecrypt([key], `${token}${token}`), undefined);
  });

  it('rejects a token made with another key, and accepts it once that key is in the list', () => {
    const mine = newKey();
    const theirs = newKey();
    const token = fernetEncrypt(theirs, Buffer.from('payload'));
    assert.equal(fernetDecrypt([mine], token), undefined);
    assert.equal(fernetDecrypt([], token), undefined);
    assert.equal(text(fernetDecrypt([mine, theirs], token)), 'payload');
    assert.equal(text(fernetDecrypt([theirs, mine], token)), 'payload');
  });

  it('rejects a key whose signing half matches but whose encryption half differs', () => {
    const key = newKey();
    const token = fernetEncrypt(key, Buffer.from('a secret that is long enough to span blocks'));
    const halfWrong: FernetKey = { signing: key.signing, encryption: randomBytes(16) };
    const decrypted = fernetDecrypt([halfWrong], token);
    // Either the padding check fails or garbage comes out; never the plaintext.
    assert.notEqual(text(decrypted), 'a secret that is long enough to span blocks');
  });

  it('returns undefined, never throws, for authenticated garbage (bad padding, bad version)', () => {
    const key = newKey();
    // A valid HMAC around ciphertext whose PKCS7 padding is wrong.
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-128-cbc', key.encryption, iv);
    cipher.setAutoPadding(false);
    const badPadding = Buffer.concat([cipher.update(Buffer.alloc(32, 0x41)), cipher.final()]);
    assert.equal(fernetDecrypt([key], signed(key, badPadding, iv)), undefined);
    // A valid HMAC, an unknown version byte.
    const good = createCipheriv('aes-128-cbc', key.encryption, iv);
    const ciphertext = Buffer.concat([good.update(Buffer.from('x')), good.final()]);
    assert.equal(text(fernetDecrypt([key], signed(key, ciphertext, iv))), 'x');
    assert.equal(fernetDecrypt([key], signed(key, ciphertext, iv, 0x81)), undefined);
    // A valid HMAC around a ciphertext that is not a whole number of blocks.
    assert.equal(fernetDecrypt([key], signed(key, Buffer.concat([ciphertext, Buffer.from([1, 2, 3])]), iv)), undefined);
  });

  it('rejects malformed text: bad alphabet, standard base64, whitespace, too short, too long, empty', () => {
    const key = newKey();
    const token = fernetEncrypt(key, Buffer.from('payload'));
    const standard = raw(token).toString('base64');
    const cases: Array<[string, string]> = [
      ['empty', ''],
      ['garbage', 'garbage'],
      ['percent signs', `%%%%%%%%${token.slice(8)}`],
      ['standard base64 alphabet', standard.includes('+') || standard.includes('/') ? standard : `${token.slice(0, -2)}+/`],
      ['inner whitespace', `${token.slice(0, 20)} ${token.slice(20)}`],
      ['trailing newline', `${token}\n`],
      ['padding in the middle', `${token.slice(0, 30)}=${token.slice(30)}`],
      ['too short', token.slice(0, 59)],
      ['too long', 'A'.repeat(5000)],
      ['valid base64 but not a token', Buffer.alloc(120, 7).toString('base64url')],
      ['unicode', `${token.slice(0, 40)}é${token.slice(41)}`],
    ];
    for (const [name, value] of cases) {
      assert.equal(fernetDecrypt([key], value), undefined, name);
    }
  });

  it('never throws on arbitrary strings', () => {
    const key = newKey();
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.base64String({ maxLength: 300 })), (value) => {
        assert.equal(fernetDecrypt([key], value), undefined);
      }),
      { seed: 20240501, numRuns: 2000 },
    );
  });

  it('parses 32-byte url-safe keys, refuses other lengths', () => {
    const encoded = generateFernetKey();
    assert.match(encoded, /^[A-Za-z0-9_-]{43}=$/);
    const key = parseFernetKey(`${encoded}\n`);
    assert.equal(key.signing.length, 16);
    assert.equal(key.encryption.length, 16);
    assert.throws(() => parseFernetKey(randomBytes(16).toString('base64url')));
    assert.throws(() => parseFernetKey(randomBytes(48).toString('base64url')));
    assert.throws(() => parseFernetKey(''));
  });
});

describe('Fernet key repository', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const repository = () => {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-fernet-'));
    dirs.push(dir);
    const repo = new FernetKeyRepository(join(dir, 'keys'));
    repo.setup();
    return repo;
  };

  it('rotation promotes the staged key, keeps old tokens valid and prunes to the maximum', () => {
    const repo = repository();
    assert.deepEqual(readdirSync(repo.directory).sort(), ['0', '1']);
    const first = fernetEncrypt(repo.primaryKey(), Buffer.from('first'));
    const staged = repo.acceptedKeys().at(-1) as FernetKey; // key 0 sorts last
    assert.equal(repo.rotate(3), 2);
    assert.deepEqual(repo.primaryKey().signing, staged.signing, 'the staged key became primary');
    assert.equal(text(fernetDecrypt(repo.acceptedKeys(), first)), 'first', 'old primary is still accepted');
    const second = fernetEncrypt(repo.primaryKey(), Buffer.from('second'));
    assert.equal(repo.rotate(3), 3);
    assert.deepEqual(readdirSync(repo.directory).sort(), ['0', '2', '3']);
    assert.equal(fernetDecrypt(repo.acceptedKeys(), first), undefined, 'key 1 was pruned');
    assert.equal(text(fernetDecrypt(repo.acceptedKeys(), second)), 'second');
    assert.throws(() => repo.rotate(2));
  });

  it('another repository on the same directory (kumo identity rotate-keys) is seen after reloadIfStale', () => {
    const repo = repository();
    const other = new FernetKeyRepository(repo.directory);
    other.setup();
    other.rotate(3);
    assert.notDeepEqual(repo.primaryKey().signing, other.primaryKey().signing);
    assert.equal(repo.reloadIfStale(0), true);
    assert.deepEqual(repo.primaryKey().signing, other.primaryKey().signing);
  });
});

const hexId = () => randomBytes(16).toString('hex');
const auditId = () => randomBytes(16).toString('base64url');

function payload(scope: TokenScope, extra: Partial<TokenPayload> = {}): TokenPayload {
  return {
    userId: hexId(),
    methods: ['password'],
    scope,
    issuedAt: 1_700_000_000_123,
    expiresAt: 1_700_003_600_123,
    auditIds: [auditId()],
    ...extra,
  };
}

describe('token payload codec', () => {
  it('round-trips every scope kind', () => {
    const scopes: TokenScope[] = [
      { kind: 'unscoped' },
      { kind: 'project', id: hexId() },
      { kind: 'domain', id: hexId() },
      { kind: 'domain', id: 'default' },
      { kind: 'system' },
    ];
    for (const scope of scopes) {
      const p = payload(scope);
      assert.deepEqual(decodePayload(encodePayload(p)), p, scope.kind);
    }
  });

  it('round-trips methods, rescoped audit chains and application credential ids', () => {
    const cases: TokenPayload[] = [
      payload({ kind: 'project', id: hexId() }, { methods: ['password', 'token'], auditIds: [auditId(), auditId()] }),
      payload({ kind: 'project', id: hexId() }, { methods: ['application_credential'], applicationCredentialId: hexId() }),
      payload({ kind: 'project', id: hexId() }, { methods: ['application_credential'], applicationCredentialId: 'not-hex-id' }),
      payload({ kind: 'unscoped' }, { methods: ['password', 'token', 'application_credential'] }),
      payload({ kind: 'domain', id: 'default' }, { userId: 'a-user-id-that-is-not-hex' }),
    ];
    for (const p of cases) assert.deepEqual(decodePayload(encodePayload(p)), p);
  });

  it('keeps ids that merely look like hex exactly as they were (case, length)', () => {
    for (const id of ['ABCDEF0123456789ABCDEF0123456789', 'abcdef0123456789abcdef012345678', 'abcdef0123456789abcdef01234567890', '']) {
      const p = payload({ kind: 'project', id }, { userId: id, applicationCredentialId: id || undefined });
      if (!id) delete p.applicationCredentialId;
      assert.deepEqual(decodePayload(encodePayload(p)), p, JSON.stringify(id));
    }
  });

  it('packs 32-hex ids into 16 bytes so tokens stay short', () => {
    const p = payload({ kind: 'project', id: hexId() }, { methods: ['password', 'token'], auditIds: [auditId(), auditId()] });
    assert.ok(encodePayload(p).length < 120, `payload is ${encodePayload(p).length} bytes`);
  });

  it('round-trips arbitrary payloads (property)', () => {
    const id = fc.oneof(fc.stringMatching(/^[0-9a-f]{32}$/), fc.string({ minLength: 1, maxLength: 64 }));
    const scope: fc.Arbitrary<TokenScope> = fc.oneof(
      fc.constant<TokenScope>({ kind: 'unscoped' }),
      fc.constant<TokenScope>({ kind: 'system' }),
      id.map((x): TokenScope => ({ kind: 'project', id: x })),
      id.map((x): TokenScope => ({ kind: 'domain', id: x })),
    );
    const methods = fc.subarray(['password', 'token', 'application_credential'], { minLength: 1 });
    const audit = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64url'));
    const time = fc.integer({ min: 0, max: 8_640_000_000_000_000 });
    fc.assert(
      fc.property(id, methods, scope, time, time, fc.array(audit, { minLength: 1, maxLength: 2 }), fc.option(id, { nil: undefined }), (userId, m, s, issuedAt, expiresAt, auditIds, appCred) => {
        const p: TokenPayload = { userId, methods: m, scope: s, issuedAt, expiresAt, auditIds, ...(appCred ? { applicationCredentialId: appCred } : {}) };
        assert.deepEqual(decodePayload(encodePayload(p)), p);
      }),
      { seed: 4242, numRuns: 1000 },
    );
  });

  it('rejects garbage: wrong version, wrong shape, wrong types, bad scope, truncation', () => {
    const good = [1, Buffer.from(hexId(), 'hex'), 1, 1, Buffer.from(hexId(), 'hex'), 1, 2, [randomBytes(16)], null];
    const variant = (index: number, value: unknown) => good.map((v, i) => (i === index ? value : v));
    const cases: Array<[string, Uint8Array]> = [
      ['empty', new Uint8Array()],
      ['arbitrary bytes', Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff))],
      ['not an array', encode({ user: 'x' })],
      ['a string', encode('token')],
      ['too short', encode(good.slice(0, 8))],
      ['too long', encode([...good, 1])],
      ['version 2', encode(variant(0, 2))],
      ['version as string', encode(variant(0, '1'))],
      ['user id as number', encode(variant(1, 42))],
      ['user id missing', encode(variant(1, null))],
      ['methods as string', encode(variant(2, 'password'))],
      ['unknown scope code', encode(variant(3, 9))],
      ['scope code as string', encode(variant(3, 'project'))],
      ['project scope without id', encode(variant(4, null))],
      ['project id as number', encode(variant(4, 12))],
      ['issued at as string', encode(variant(5, 'now'))],
      ['expires at missing', encode(variant(6, null))],
      ['audit ids not a list', encode(variant(7, 'audit'))],
      ['audit id as string', encode(variant(7, ['audit']))],
      ['app cred id as number', encode(variant(8, 5))],
      ['truncated', encode(good).subarray(0, 20)],
      ['trailing bytes', Buffer.concat([Buffer.from(encode(good)), Buffer.from([0])])],
    ];
    assert.doesNotThrow(() => decodePayload(encode(good)), 'the baseline decodes');
    for (const [name, bytes] of cases) {
      assert.throws(() => decodePayload(bytes), Error, name);
    }
  });

  it('never returns a malformed payload for arbitrary bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        let decoded: TokenPayload;
        try {
          decoded = decodePayload(bytes);
        } catch {
          return;
        }
        assert.equal(typeof decoded.userId, 'string');
        assert.ok(Array.isArray(decoded.methods));
        assert.ok(['unscoped', 'project', 'domain', 'system'].includes(decoded.scope.kind));
        assert.equal(typeof decoded.issuedAt, 'number');
        assert.ok(decoded.auditIds.every((a) => typeof a === 'string'));
      }),
      { seed: 777, numRuns: 3000 },
    );
  });
});
