import { randomBytes } from 'node:crypto';
import bcrypt from 'bcrypt';

/** bcrypt through the libuv pool, so hashing never blocks the event loop. */
export class PasswordHasher {
  private dummy: Promise<string> | undefined;

  constructor(private readonly rounds: number) {}

  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.rounds);
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

  private async compare(password: string, hash: string): Promise<boolean> {
    try {
      return await bcrypt.compare(password, hash);
    } catch {
      return false;
    }
  }
}
