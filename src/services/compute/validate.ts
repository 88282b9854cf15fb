/**
 * What is left of reading a request once its route's schema (schemas/) has checked it: Nova's
 * schemas accept some values in more than one spelling (integers as strings, oslo's boolean
 * strings, IPv6 in any form), and these turn them into the one the domain code keeps.
 * They do not validate: a value reaching them has passed its schema.
 */

/** An integer the schema allowed as a number or a string of digits. */
export function toInteger(value: number | string): number {
  return typeof value === 'number' ? value : Number(value.trim());
}

/** oslo's bool_from_string for the spellings `parameter_types.boolean` allows. */
export function toBoolean(value: boolean | string): boolean {
  return typeof value === 'boolean' ? value : ['true', '1', 'on', 'yes'].includes(value.toLowerCase());
}

/**
 * accessIPv6 as Nova stores it: netaddr prints the address compressed (`::babe:dc0c:1602`).
 * An empty string stays empty (no address).
 */
export function normalisedAccessIp(text: string): string {
  if (text === '' || !text.includes(':')) return text;
  return new URL(`http://[${text}]/`).hostname.slice(1, -1);
}

/** A query parameter's single value (the last, when repeated). */
export function queryValue(query: unknown, key: string): string | undefined {
  if (typeof query !== 'object' || query === null) return undefined;
  const value = (query as Record<string, unknown>)[key];
  if (Array.isArray(value)) return value.length > 0 ? String(value[value.length - 1]) : undefined;
  return typeof value === 'string' ? value : undefined;
}
