import type { NewFlavor } from './flavors.js';
import { toBoolean, toInteger } from './validate.js';

/** POST /flavors' body as its schema (schemas/flavors.ts) lets it through. */
export interface FlavorBody {
  flavor: {
    name: string;
    id?: string | number | null;
    ram: number | string;
    vcpus: number | string;
    disk: number | string;
    'OS-FLV-EXT-DATA:ephemeral'?: number | string;
    swap?: number | string;
    rxtx_factor?: number | string;
    'os-flavor-access:is_public'?: boolean | string;
  };
}

/** The new flavor the body asks for, its numbers written as numbers. */
export function parseNewFlavor(body: FlavorBody): NewFlavor {
  const flavor = body.flavor;
  const input: NewFlavor = {
    name: flavor.name,
    memoryMb: toInteger(flavor.ram),
    vcpus: toInteger(flavor.vcpus),
    rootGb: toInteger(flavor.disk),
    ephemeralGb: flavor['OS-FLV-EXT-DATA:ephemeral'] === undefined ? 0 : toInteger(flavor['OS-FLV-EXT-DATA:ephemeral']),
    swapMb: flavor.swap === undefined ? 0 : toInteger(flavor.swap),
    rxtxFactor: flavor.rxtx_factor === undefined ? 1 : Number(flavor.rxtx_factor),
    isPublic: flavor['os-flavor-access:is_public'] === undefined ? true : toBoolean(flavor['os-flavor-access:is_public']),
  };
  // An absent or null id asks for a generated UUID, as in Nova; a number is its decimal string.
  if (flavor.id !== undefined && flavor.id !== null) input.id = String(flavor.id);
  return input;
}
