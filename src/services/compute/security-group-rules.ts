import { ApiError } from '../../core/http/errors.js';
import type { NewSecurityGroupRule } from './peers.js';

/** What os-security-group-rules create names (Nova's schema checks only the group ids). */
export type RuleRequest = { group_id?: string | null; parent_group_id: string; to_port?: unknown; from_port?: unknown; ip_protocol?: unknown; cidr?: unknown };

const bad = (message: string) => new ApiError(400, message);

/** Python's int() on what a JSON body carries: integers, and strings of an integer. */
function asInteger(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) return Number(value);
  return undefined;
}

/** Nova's parse_cidr: none is everything; otherwise a valid CIDR (the address part unquoted). */
function parseCidr(cidr: unknown): string {
  if (cidr === undefined || cidr === null || cidr === '') return '0.0.0.0/0';
  const text = typeof cidr === 'string' ? safeUnquote(cidr) : undefined;
  if (text === undefined || !isCidr(text)) throw bad(`Invalid cidr ${String(cidr)}.`);
  return text;
}

function safeUnquote(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function isCidr(text: string): boolean {
  const [address, prefix, extra] = text.split('/');
  if (extra !== undefined || address === undefined || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  const length = Number(prefix);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address)) return length <= 32 && address.split('.').every((o) => Number(o) <= 255);
  return address.includes(':') && /^[0-9a-fA-F:.]+$/.test(address) && length <= 128;
}

/**
 * Nova's new_cidr_ingress_rule / new_group_ingress_rule, checks and all: an ingress rule from a
 * CIDR (protocol and ports required) or from a group (TCP/UDP/ICMP open whole when no range is
 * given). Undefined when a CIDR rule lacks its protocol or ports (the controller's "Not enough
 * parameters").
 */
export function buildIngressRule(request: RuleRequest): NewSecurityGroupRule | undefined {
  const groupId = request.group_id ?? null;
  const cidr = groupId === null ? parseCidr(request.cidr) : null;
  const protocol = request.ip_protocol === undefined || request.ip_protocol === null || request.ip_protocol === '' ? null : String(request.ip_protocol);
  let from: unknown = request.from_port ?? null;
  let to: unknown = request.to_port ?? null;
  const upper = protocol?.toUpperCase() ?? '';
  if (groupId !== null && from === null && to === null) {
    if (upper === 'ICMP') [from, to] = [-1, -1];
    else if (upper === 'TCP' || upper === 'UDP') [from, to] = [1, 65535];
  }
  if (!(protocol && from !== null && to !== null)) {
    // A CIDR rule needs protocol and ports; a group rule may open everything.
    if (cidr !== null) return undefined;
    return { protocol: null, portMin: null, portMax: null, cidr: null, remoteGroupId: groupId };
  }
  const portMin = asInteger(from);
  const portMax = asInteger(to);
  if (portMin === undefined || portMax === undefined) {
    throw bad(`Invalid input received: ${upper === 'ICMP' ? 'Type and Code must be integers for ICMP protocol type' : 'To and From ports must be integers'}`);
  }
  if (!['TCP', 'UDP', 'ICMP'].includes(upper)) throw bad(`Invalid IP protocol ${protocol}.`);
  const range = (why: string) => bad(`Invalid port range ${portMin}:${portMax}. ${why}`);
  if (upper !== 'ICMP' && portMin > portMax) throw range('Former value cannot be greater than the later');
  if (upper !== 'ICMP' && (portMin < 1 || portMax > 65535)) throw range(`Valid ${upper} ports should be between 1-65535`);
  if (upper === 'ICMP' && (portMin < -1 || portMin > 255 || portMax < -1 || portMax > 255)) throw range('For ICMP, the type:code must be valid');
  if (cidr !== null) {
    const [net, prefix] = cidr.split('/');
    if (net !== '0.0.0.0' && net !== '::' && prefix === '0') throw bad(`Bad prefix for network in cidr ${cidr}`);
  }
  return { protocol, portMin, portMax, cidr, remoteGroupId: groupId };
}
