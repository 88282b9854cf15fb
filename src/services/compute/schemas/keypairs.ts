import * as t from './types.js';
import type { Schema } from './types.js';

/** /os-keypairs request schemas, after Nova's keypairs.py. */

/**
 * The name is left to the key pair API's own check (keypairs.ts, as Nova's compute API
 * _validate_new_key_pair words it: `Keypair data is invalid: ...`), which Kumo's clients see.
 */
const keypairName: Schema = {};

const keypair = (properties: Record<string, Schema>) => t.envelope('keypair', t.closedObject({ name: keypairName, public_key: { type: 'string' }, ...properties }, ['name']));
const keypairType: Schema = { type: 'string', enum: ['ssh', 'x509'] };

/** POST /os-keypairs: 2.2 adds the type, 2.10 the owner. */
export const createKeypair = {
  '2.1': keypair({}),
  '2.2': keypair({ type: keypairType }),
  '2.10': keypair({ type: keypairType, user_id: { type: 'string' } }),
};

/** GET /os-keypairs: limit and marker from 2.35 (before, Nova's schema names nothing; unknown parameters pass before 2.75). */
export const listKeypairsQuery = t.query({
  user_id: t.queryParam(),
  limit: t.queryParam({ type: 'string', pattern: '^[0-9]*$', minLength: 1 }),
  marker: t.queryParam(),
});
