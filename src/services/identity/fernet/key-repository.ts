import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateFernetKey, parseFernetKey, type FernetKey } from './fernet.js';

/**
 * Keystone's key repository layout: files named 0..N in one directory. `0` is the staged
 * key (accepted, not yet used to sign), the highest number is the primary (signs new
 * tokens), the others are secondaries (still accepted). Rotation promotes the staged key.
 */
export class FernetKeyRepository {
  private keys: FernetKey[] = [];
  private primary: FernetKey | undefined;
  private loadedAt = 0;
  private loadedKeys = '';
  private keySetChanges = 0;

  constructor(readonly directory: string) {}

  /** Creates keys 0 and 1 on first use; leaves an existing repository alone. */
  setup(): void {
    mkdirSync(this.directory, { recursive: true, mode: 0o700 });
    if (this.keyNumbers().length === 0) {
      this.writeKey(0, generateFernetKey());
      this.writeKey(1, generateFernetKey());
    }
    this.load();
  }

  /** Promotes the staged key to primary, stages a new one and prunes to `maxActive` keys. */
  rotate(maxActive: number): number {
    if (maxActive < 3) throw new Error('fernet max active keys must be at least 3');
    const numbers = this.keyNumbers();
    if (numbers.length === 0) throw new Error(`no Fernet keys in ${this.directory}: run setup first`);
    const next = Math.max(...numbers) + 1;
    renameSync(join(this.directory, '0'), join(this.directory, String(next)));
    this.writeKey(0, generateFernetKey());
    const secondaries = this.keyNumbers().filter((n) => n !== 0 && n !== next).sort((a, b) => a - b);
    const excess = secondaries.length - (maxActive - 2);
    for (const n of secondaries.slice(0, Math.max(0, excess))) rmSync(join(this.directory, String(n)));
    this.load();
    return next;
  }

  load(): void {
    const numbers = this.keyNumbers().sort((a, b) => b - a);
    const encoded = numbers.map((n) => readFileSync(join(this.directory, String(n)), 'utf8'));
    const keys = encoded.map(parseFernetKey);
    if (keys.length === 0) throw new Error(`no Fernet keys in ${this.directory}`);
    const fingerprint = numbers.map((n, i) => `${n}:${encoded[i]?.trim()}`).join(',');
    if (fingerprint !== this.loadedKeys) this.keySetChanges++;
    this.loadedKeys = fingerprint;
    this.keys = keys;
    this.primary = keys[0];
    this.loadedAt = Date.now();
  }

  /** Changes whenever a load finds a different set of keys (so caches of validated tokens can be dropped). */
  get generation(): number {
    return this.keySetChanges;
  }

  /** All accepted keys, primary first. */
  acceptedKeys(): readonly FernetKey[] {
    return this.keys;
  }

  primaryKey(): FernetKey {
    if (!this.primary) throw new Error('Fernet keys are not loaded');
    return this.primary;
  }

  /**
   * Another process may have rotated the keys; re-reading the directory is cheap but not
   * free, so a failed decryption triggers it at most once a second.
   */
  reloadIfStale(minIntervalMs = 1000): boolean {
    if (Date.now() - this.loadedAt < minIntervalMs) return false;
    this.load();
    return true;
  }

  private keyNumbers(): number[] {
    try {
      return readdirSync(this.directory)
        .filter((name) => /^\d+$/.test(name))
        .map(Number);
    } catch {
      return [];
    }
  }

  private writeKey(n: number, key: string): void {
    const path = join(this.directory, String(n));
    const staging = `${path}.tmp`;
    writeFileSync(staging, key, { mode: 0o600 });
    chmodSync(staging, 0o600);
    renameSync(staging, path);
  }
}
