import * as t from './types.js';
import type { Schema } from './types.js';

/** /os-aggregates request schemas, after Nova's aggregates.py. */

/** Nova's az_name: a name without ':' (the forced-host separator), or null. */
const AZ_NAME_PATTERN = '^(?![\\p{C}\\p{Z}])[^\\p{C}\\p{Zl}\\p{Zp}:]*(?<![\\p{C}\\p{Z}])$';
const availabilityZone: Schema = { type: ['string', 'null'], minLength: 1, maxLength: 255, pattern: AZ_NAME_PATTERN };

export const createAggregate = t.envelope('aggregate', t.closedObject({ name: t.name, availability_zone: availabilityZone }, ['name']));

/** PUT: a name, a zone, or both. */
export const updateAggregate = t.envelope('aggregate', {
  ...t.closedObject({ name: t.nameWithLeadingTrailingSpaces, availability_zone: availabilityZone }),
  anyOf: [{ required: ['name'] }, { required: ['availability_zone'] }],
});

const host = t.closedObject({ host: t.fqdn }, ['host']);

/** POST /os-aggregates/{id}/action: add_host, remove_host or set_metadata (the dispatcher wants exactly one). */
export const aggregateAction: Schema = {
  type: 'object',
  properties: {
    add_host: host,
    remove_host: host,
    set_metadata: t.closedObject({ metadata: t.metadataWithNull }, ['metadata']),
  },
};
