import * as t from './types.js';

/**
 * Request schemas of a server's sub-resources: interfaces (attach_interfaces.py), volume
 * attachments (volume_attachments.py) and tags (server_tags.py), before 2.49's tags on attach.
 */

export const attachInterface = t.envelope(
  'interfaceAttachment',
  t.closedObject({
    net_id: t.uuid,
    port_id: t.uuid,
    fixed_ips: { type: 'array', minItems: 1, maxItems: 1, items: t.closedObject({ ip_address: t.ipAddress }, ['ip_address']) },
  }),
);

export const attachVolume = t.envelope(
  'volumeAttachment',
  t.closedObject({ volumeId: t.uuid, device: { type: ['string', 'null'], pattern: '(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$' } }, ['volumeId']),
);

/** Nova's MAX_TAG_COUNT. */
export const MAX_TAGS = 50;

/** PUT /servers/{id}/tags: the whole list. */
export const replaceTags = t.closedObject({ tags: { type: 'array', items: { ...t.tag, minLength: 1 }, maxItems: MAX_TAGS } }, ['tags']);
