import * as t from './types.js';
import type { Schema } from './types.js';

/** /flavors request schemas, after Nova's flavors.py, flavors_extraspecs.py and flavor_access.py. */

const size = (minimum: number): Schema => ({ type: ['integer', 'string'], pattern: '^[0-9]+$', minimum, maximum: 2147483647 });

/**
 * POST /flavors (Nova's `description` is 2.55, past Kumo's newest microversion). The id is a
 * string or null, as Nova had it before it took numbers too (Kumo's clients see a number refused).
 */
export const createFlavor = t.envelope(
  'flavor',
  t.closedObject(
    {
      name: t.name,
      // Nova takes a number too (tempest's test_create_flavor_with_int_id); it becomes its decimal string.
      id: { type: ['string', 'number', 'null'], minLength: 1, maxLength: 255, pattern: '^(?! )[a-zA-Z0-9. _-]+(?<! )$' },
      ram: size(1),
      vcpus: size(1),
      disk: size(0),
      'OS-FLV-EXT-DATA:ephemeral': size(0),
      swap: size(0),
      rxtx_factor: { type: ['number', 'string'], pattern: '^[0-9]+(\\.[0-9]+)?$', exclusiveMinimum: 0, maximum: 3.40282e38 },
      'os-flavor-access:is_public': t.boolean,
    },
    ['name', 'ram', 'vcpus', 'disk'],
  ),
);

/** Nova takes strings and numbers; Kumo also keeps booleans (stored as Python prints them). */
const specs: Schema = {
  type: 'object',
  patternProperties: { [t.METADATA_KEY_PATTERN]: { type: ['string', 'number', 'boolean'], maxLength: 255 } },
  additionalProperties: false,
};

/** POST /flavors/{id}/os-extra_specs. */
export const createExtraSpecs = t.envelope('extra_specs', specs);

/**
 * PUT /flavors/{id}/os-extra_specs/{key}: the key and its value. More than one is refused by the
 * handler in the words Nova's controller used ('Request body contains too many items').
 */
export const updateExtraSpec: Schema = { ...specs, minProperties: 1 };

const tenant = t.closedObject({ tenant: { type: 'string', minLength: 1, maxLength: 255 } }, ['tenant']);

/** POST /flavors/{id}/action: addTenantAccess or removeTenantAccess (the dispatcher wants exactly one). */
export const flavorAction: Schema = { type: 'object', properties: { addTenantAccess: tenant, removeTenantAccess: tenant } };

/** GET /flavors and /flavors/detail. */
export const listFlavorsQuery = t.query({
  limit: t.queryParam({ type: 'string', pattern: '^[0-9]*$', minLength: 1 }),
  marker: t.queryParam(),
  is_public: t.queryParam(),
  minRam: t.queryParam(),
  minDisk: t.queryParam(),
  sort_key: t.queryParam({
    type: 'string',
    enum: ['created_at', 'description', 'disabled', 'ephemeral_gb', 'flavorid', 'id', 'is_public', 'memory_mb', 'name', 'root_gb', 'rxtx_factor', 'swap', 'updated_at', 'vcpu_weight', 'vcpus'],
  }),
  sort_dir: t.queryParam({ type: 'string', enum: ['asc', 'desc'] }),
});
