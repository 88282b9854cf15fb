import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcrypt';

/**
 * A cost-12 hash (Keystone's default cost) of 32 random bytes nobody kept: what an unknown
 * user's password is compared against. A comparison costs what the hash's cost says, whatever
 * it hashes, so a constant serves as well as one made at each start, and saves a start a bcrypt.
 */
export const STAND_IN_HASHES: Readonly<Record<number, string>> = {
  12: '$2b$12$yk7mRASrddjlGTfHM6i6w.C/eKBrg6.0NYAx6knvdTVkPhTaV3YPK',
};

/** How long a remembered hash is checked without bcrypt (see PasswordHasher.madeHere). */
const MADE_HERE_TTL_MS = 10 * 60_000;

/** bcrypt through the libuv pool, so hashing never blocks the event loop. */
export class PasswordHasher {
  private dummy: Promise<string> | undefined;
  /**
   * Hashes made here with `remember` (a fresh cloud's first-start accounts), each with a keyed
   * digest of the password it hashed (the key never leaves the process). bcrypt's answer for
   * that pair is already known, so the newcomer's first logins right after the start need not
   * spend a bcrypt's worth of CPU each again.
   */
  private readonly madeHere = new Map<string, Buffer>();
  private readonly digestKey = randomBytes(32);

  constructor(private readonly rounds: number) {
    const standIn = STAND_IN_HASHES[rounds];
    if (standIn !== undefined) this.dummy = Promise.resolve(standIn);
  }

  async hash(password: string, options: { remember?: boolean } = {}): Promise<string> {
    const hash = await bcrypt.hash(password, this.rounds);
    if (options.remember) {
      this.madeHere.set(hash, this.digest(password));
      setTimeout(() => this.madeHere.delete(hash), MADE_HERE_TTL_MS).unref();
    }
    return hash;
  }

  /**
   * Whether `password` matches `hash`. Without a hash (an unknown user, one in an unknown
   * domain, one without a password) it compares against a hash of the same cost all the same
   * and answers false: how long a failed login takes must not tell which names exist.
   */
  async verify(password: string, hash: string | null | undefined): Promise<boolean> {
    if (!hash) {
      await this.compare(password, await this.dummyHash());
      return false;
    }
    const known = this.madeHere.get(hash);
    // A wrong password still pays the whole bcrypt: a fast refusal would tell that the password was set lately.
    if (known !== undefined && timingSafeEqual(known, this.digest(password))) return true;
    return this.compare(password, hash);
  }

  /** Makes the stand-in hash ahead of the first login that needs it (it costs one bcrypt hash). */
  warm(): void {
    void this.dummyHash().catch(() => undefined);
  }

  private dummyHash(): Promise<string> {
    this.dummy ??= bcrypt.hash(randomBytes(16).toString('hex'), this.rounds).catch((error: unknown) => {
      this.dummy = undefined;
      throw error;
    });
    return this.dummy;
  }

  private digest(password: string): Buffer {
    return createHmac('sha256', this.digestKey).update(password).digest();
  }

  private async compare(password: string, hash: string): Promise<boolean> {
    try {
      return await bcrypt.compare(password, hash);
    } catch {
      return false;
    }
  }
}
