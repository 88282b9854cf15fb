import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import bcrypt from 'bcrypt';
import { PasswordHasher, STAND_IN_HASHES } from '../../../src/services/identity/passwords.js';

describe('the password hasher', () => {
  it("keeps stand-in hashes at the cost they are filed under, so an unknown user's login costs what a known one's does", () => {
    for (const [cost, hash] of Object.entries(STAND_IN_HASHES)) assert.equal(bcrypt.getRounds(hash), Number(cost));
  });

  it('answers false for a user without a hash, whatever the password, at a cost with and without a stand-in', async () => {
    for (const cost of [4, 12]) {
      const hasher = new PasswordHasher(cost);
      assert.equal(await hasher.verify('', undefined), false);
      assert.equal(await hasher.verify('anything', null), false);
    }
  });

  it('verifies what it hashed and refuses anything else', async () => {
    const hasher = new PasswordHasher(4);
    const hash = await hasher.hash('right');
    assert.equal(await hasher.verify('right', hash), true);
    assert.equal(await hasher.verify('wrong', hash), false);
    assert.equal(await hasher.verify('right', 'not-a-bcrypt-hash'), false);
  });

  it('checks a password against a hash it remembers without a second bcrypt, and a wrong one with it', async () => {
    const hasher = new PasswordHasher(4);
    const hash = await hasher.hash('right', { remember: true });
    const forgotten = await hasher.hash('right');
    const compare = bcrypt.compare;
    let compared = 0;
    const counting = (async (data: string | Buffer, encrypted: string) => {
      compared += 1;
      return compare(data, encrypted);
    }) as typeof bcrypt.compare;
    bcrypt.compare = counting;
    try {
      assert.equal(await hasher.verify('right', hash), true);
      assert.equal(compared, 0);
      assert.equal(await hasher.verify('wrong', hash), false);
      assert.equal(compared, 1);
      // Another process (another hasher) knows nothing of it and asks bcrypt.
      assert.equal(await new PasswordHasher(4).verify('right', hash), true);
      assert.equal(compared, 2);
      assert.equal(await hasher.verify('right', forgotten), true);
      assert.equal(compared, 3, 'a hash made without remember is checked by bcrypt');
    } finally {
      bcrypt.compare = compare;
    }
  });
});
