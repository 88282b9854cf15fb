import { NeutronError } from './context.js';
import type { ExtraDhcpOpt } from './model.js';

/**
 * Neutron's extra_dhcp_opt extension: per-port DHCP options (`{opt_name, opt_value,
 * ip_version}`) that the DHCP agent hands to that port alone. Names and values reach
 * dnsmasq's options file, so anything that could start a line or an option of its own
 * there (control characters, a name that is no dnsmasq option word) is refused here.
 */
const OPT_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
// Printable only: a newline would start another dnsmasq option line.
const OPT_VALUE = /^[\x20-\x7e]{1,255}$/;

const invalid = (reason: string) => new NeutronError(400, 'InvalidInput', `Invalid input for extra_dhcp_opts. Reason: ${reason}`);

interface Requested {
  optName: string;
  /** null asks an update to remove the option. */
  optValue: string | null;
  ipVersion: 4 | 6;
}

/** What the schema let through (attributes/resources.ts): `[{opt_name, opt_value, ip_version?}]`, ip_version 4 or 6. */
type Given = Array<{ opt_name: string; opt_value: string | null; ip_version?: number | string | null }>;

function readList(value: unknown): Requested[] {
  const seen = new Set<string>();
  return (value as Given).map(({ opt_name: name, opt_value: optValue, ip_version: version }) => {
    if (!OPT_NAME.test(name)) throw invalid(`'${name.slice(0, 40)}' is not a valid DHCP option name.`);
    if (optValue !== null && !OPT_VALUE.test(optValue)) throw invalid(`'${optValue.slice(0, 40)}' is not a valid value for DHCP option ${name}.`);
    const ipVersion = version === undefined || version === null ? 4 : (Number(version) as 4 | 6);
    const key = `${ipVersion}|${name}`;
    if (seen.has(key)) throw invalid(`DHCP option ${name} (IPv${ipVersion}) is given twice.`);
    seen.add(key);
    return { optName: name, optValue, ipVersion };
  });
}

/** The options of a new port; a null value there means nothing (Neutron skips it). */
export function readExtraDhcpOpts(value: unknown): ExtraDhcpOpt[] {
  if (value === undefined || value === null) return [];
  return readList(value).filter((o): o is ExtraDhcpOpt => o.optValue !== null);
}

/**
 * An update merges, as Neutron's _update_extra_dhcp_opts_on_port: an option named again
 * takes the new value, a null value removes it, options not named stay.
 */
export function mergeExtraDhcpOpts(current: ExtraDhcpOpt[], value: unknown): ExtraDhcpOpt[] {
  if (value === undefined) return current;
  if (value === null) return [];
  const merged = [...current];
  for (const change of readList(value)) {
    const at = merged.findIndex((o) => o.optName === change.optName && o.ipVersion === change.ipVersion);
    if (change.optValue === null) {
      if (at >= 0) merged.splice(at, 1);
    } else if (at >= 0) {
      merged[at] = { ...change, optValue: change.optValue };
    } else {
      merged.push({ ...change, optValue: change.optValue });
    }
  }
  return merged;
}
