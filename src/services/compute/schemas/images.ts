import * as t from './types.js';

/**
 * GET /images(/detail), Nova's image proxy (gone from 2.36): its index_query types the paging.
 * Nova wants them positive; Kumo has long taken limit=0 (an empty page), and still does.
 */

const count = t.queryParam({ type: 'string', pattern: '^[0-9]*$', minLength: 1 });

export const listImagesQuery = t.query({ limit: count, page_size: count, offset: count });
