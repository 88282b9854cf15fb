import { statusTitle } from '../../core/http/errors.js';

/**
 * Glance's errors are webob exceptions, and webob words the body after the request's Accept:
 * the first of text/html and application/json the client accepts, else text/plain. Clients
 * depend on it: python-glanceclient (requests sends `Accept: * /*`) gets HTML and strips the
 * tags, while a flat JSON body would crash its parser; openstacksdk asks for JSON.
 */
export type ErrorMediaType = 'text/html' | 'application/json' | 'text/plain';

const OFFERS = ['text/html', 'application/json'] as const;

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
  /** Parameters other than q: such a range matches only an offer with the same ones (ours have none). */
  hasParams: boolean;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/** Parses an Accept value; undefined when it breaks RFC 7231's grammar (webob then treats it as absent). */
function parseAccept(header: string): MediaRange[] | undefined {
  const ranges: MediaRange[] = [];
  for (const element of header.split(',')) {
    if (element.trim() === '') continue;
    const [media = '', ...params] = element.split(';');
    const [type = '', subtype = '', extra] = media.trim().split('/');
    if (extra !== undefined || !TOKEN.test(type) || !TOKEN.test(subtype) || (type === '*' && subtype !== '*')) return undefined;
    let q = 1;
    let hasParams = false;
    let afterQ = false;
    for (const param of params) {
      const [name = '', value = ''] = param.trim().split('=', 2);
      if (!TOKEN.test(name)) return undefined;
      if (name.toLowerCase() === 'q' && !afterQ) {
        if (!QVALUE.test(value)) return undefined;
        q = Number(value);
        afterQ = true;
      } else if (!afterQ) {
        hasParams = true;
      }
    }
    ranges.push({ type: type.toLowerCase(), subtype: subtype.toLowerCase(), q, hasParams });
  }
  return ranges;
}

/** The quality the most specific matching range gives an offer (exact, then type/*, then * /*). */
function qualityOf(offer: string, ranges: MediaRange[]): number | undefined {
  const [type, subtype] = offer.split('/');
  let best: { specificity: number; q: number } | undefined;
  for (const range of ranges) {
    if (range.hasParams) continue;
    let specificity = -1;
    if (range.type === type && range.subtype === subtype) specificity = 2;
    else if (range.type === type && range.subtype === '*') specificity = 1;
    else if (range.type === '*' && range.subtype === '*') specificity = 0;
    if (specificity < 0) continue;
    if (!best || specificity > best.specificity) best = { specificity, q: range.q };
  }
  return best?.q;
}

/** Which body an error gets for this Accept header, as webob's generate_response chooses. */
export function errorMediaType(accept: string | undefined): ErrorMediaType {
  // WSGI hands webob '' for a request without Accept: a valid, empty list that accepts neither offer.
  const ranges = parseAccept(accept ?? '');
  if (!ranges) return 'text/html';
  let chosen: ErrorMediaType = 'text/plain';
  let bestQ = 0;
  for (const offer of OFFERS) {
    const q = qualityOf(offer, ranges) ?? 0;
    if (q > bestQ) {
      bestQ = q;
      chosen = offer;
    }
  }
  return chosen;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#x27;');
}

/** The body and Content-Type of a Glance error, for the media type chosen above. */
export function glanceErrorBody(status: number, message: string, type: ErrorMediaType): { contentType: string; body: string } {
  const title = statusTitle(status);
  const statusLine = `${status} ${title}`;
  switch (type) {
    case 'application/json':
      return { contentType: 'application/json', body: JSON.stringify({ message, code: statusLine, title }) };
    case 'text/html':
      // webob's page: the explanation, its two <br />, and the empty detail and comment lines.
      return {
        contentType: 'text/html; charset=UTF-8',
        body: `<html>\n <head>\n  <title>${statusLine}</title>\n </head>\n <body>\n  <h1>${statusLine}</h1>\n  ${escapeHtml(message)}<br /><br />\n\n\n\n </body>\n</html>`,
      };
    case 'text/plain':
      return { contentType: 'text/plain; charset=UTF-8', body: `${statusLine}\n\n${message.replace(/\r?\n/g, ' ')}\n\n   ` };
  }
}
