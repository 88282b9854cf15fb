import type { NewFlavor } from './flavors.js';
import { boolean, integer, invalidInput, member, name, noExtraKeys, pyRepr, requireKeys } from './validate.js';

const FIELDS = ['name', 'id', 'ram', 'vcpus', 'disk', 'OS-FLV-EXT-DATA:ephemeral', 'swap', 'rxtx_factor', 'os-flavor-access:is_public'];
const FLAVOR_ID = /^(?! )[a-zA-Z0-9. _-]+(?<! )$/;

/** POST /flavors' body, checked as Nova's `flavor_manage` schema checks it at 2.1. */
export function parseNewFlavor(body: unknown): NewFlavor {
  const flavor = member(body, 'flavor');
  requireKeys(flavor, 'flavor', ['name', 'ram', 'vcpus', 'disk']);
  noExtraKeys(flavor, 'flavor', FIELDS);
  const input: NewFlavor = {
    name: name(flavor.name),
    memoryMb: integer(flavor.ram, 'ram', 1),
    vcpus: integer(flavor.vcpus, 'vcpus', 1),
    rootGb: integer(flavor.disk, 'disk', 0),
    ephemeralGb: flavor['OS-FLV-EXT-DATA:ephemeral'] === undefined ? 0 : integer(flavor['OS-FLV-EXT-DATA:ephemeral'], 'OS-FLV-EXT-DATA:ephemeral', 0),
    swapMb: flavor.swap === undefined ? 0 : integer(flavor.swap, 'swap', 0),
    rxtxFactor: flavor.rxtx_factor === undefined ? 1 : rxtx(flavor.rxtx_factor),
    isPublic: flavor['os-flavor-access:is_public'] === undefined ? true : boolean(flavor['os-flavor-access:is_public'], 'os-flavor-access:is_public'),
  };
  const id = flavor.id;
  // An absent, null or empty id asks for a generated UUID, as in Nova.
  if (id !== undefined && id !== null && id !== '') {
    if (typeof id !== 'string') throw invalidInput('id', id, `${pyRepr(id)} is not of type 'string', 'null'`);
    if (id.length > 255) throw invalidInput('id', id, `${pyRepr(id)} is too long`);
    if (!FLAVOR_ID.test(id)) throw invalidInput('id', id, `${pyRepr(id)} does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'`);
    input.id = id;
  }
  return input;
}

function rxtx(value: unknown): number {
  let n: number;
  if (typeof value === 'number' && Number.isFinite(value)) n = value;
  else if (typeof value === 'string' && /^[0-9]+(\.[0-9]+)?$/.test(value)) n = Number(value);
  else throw invalidInput('rxtx_factor', value, `${pyRepr(value)} is not of type 'number', 'string'`);
  if (n <= 0) throw invalidInput('rxtx_factor', value, `${pyRepr(value)} is less than or equal to the minimum of 0`);
  if (n > 3.40282e38) throw invalidInput('rxtx_factor', value, `${pyRepr(value)} is greater than the maximum of 3.40282e+38`);
  return n;
}
