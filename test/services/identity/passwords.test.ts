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
});
