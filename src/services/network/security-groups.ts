import type { Json } from '../../core/http/body.js';
import { authorize, NeutronError, notFound, type Caller, type NetworkContext } from './context.js';
import { bool, invalidInput, newUuid, now, str } from './common.js';
import { canonicalAddress, parseCidr } from './ipam.js';
import { checkQuota } from './quotas.js';
import type { SecurityGroupRow, SecurityGroupRuleRow } from './tables.js';

/** IANA protocol numbers for the names Neutron accepts. */
const PROTOCOLS: Record<string, number> = {
  ah: 51,
  dccp: 33,
  egp: 8,
  esp: 50,
  gre: 47,
  hopopt: 0,
  icmp: 1,
  icmpv6: 58,
  'ipv6-icmp': 58,
  igmp: 2,
  ipip: 4,
  'ipv6-encap': 41,
  'ipv6-frag': 44,
  'ipv6-nonxt': 59,
  'ipv6-opts': 60,
  'ipv6-route': 43,
  ospf: 89,
  pgm: 113,
  rsvp: 46,
  sctp: 132,
  tcp: 6,
  udp: 17,
  udplite: 136,
  vrrp: 112,
};
const PORT_PROTOCOLS = new Set([6, 17, 132, 33, 136]);
const ICMP_PROTOCOLS = new Set([1, 58]);

/** The project's `default` group, created with Neutron's default rules the first time it is needed. */
export async function defaultSecurityGroup(ctx: NetworkContext, projectId: string): Promise<string> {
  const existing = await ctx.groups.defaultOf(projectId);
  if (existing) return existing;
  const stamp = now();
  const id = newUuid();
  const group: SecurityGroupRow = {
    id,
    project_id: projectId,
    name: 'default',
    description: 'Default security group',
    created_at: stamp,
    updated_at: stamp,
    revision_number: 1,
    stateful: 1,
  };
  const rule = (direction: string, ethertype: string, remoteGroup: boolean): SecurityGroupRuleRow => ({
    id: newUuid(),
    project_id: projectId,
    security_group_id: id,
    direction,
    ethertype,
    protocol: null,
    port_range_min: null,
    port_range_max: null,
    remote_ip_prefix: null,
    remote_group_id: remoteGroup ? id : null,
    description: '',
    created_at: stamp,
    updated_at: stamp,
    revision_number: 0,
  });
  // Egress to anywhere, ingress only from members of the same group: Neutron's defaults.
  const rules = [rule('egress', 'IPv4', false), rule('egress', 'IPv6', false), rule('ingress', 'IPv4', true), rule('ingress', 'IPv6', true)];
  try {
    await ctx.groups.createDefault(group, rules);
    return id;
  } catch (error) {
    // Another first request of this project won; use its group.
    if (!ctx.records.database.isUniqueViolation(error)) throw error;
    const winner = await ctx.groups.defaultOf(projectId);
    if (!winner) throw error;
    return winner;
  }
}

export async function visibleGroup(ctx: NetworkContext, caller: Caller, id: string): Promise<SecurityGroupRow> {
  const group = await ctx.groups.get(id);
  if (!group || (!caller.isAdmin && group.project_id !== caller.projectId)) throw notFound('SecurityGroup', id);
  return group;
}

/** Port requests may only name groups that exist and the caller may use. */
export async function requireSecurityGroups(ctx: NetworkContext, caller: Caller, ids: string[]): Promise<void> {
  for (const id of ids) await visibleGroup(ctx, caller, id);
}

export async function createSecurityGroup(ctx: NetworkContext, caller: Caller, body: Json): Promise<SecurityGroupRow> {
  const projectId = str(body, 'project_id') ?? str(body, 'tenant_id') ?? caller.projectId;
  authorize(ctx, caller, 'create_security_group', { project_id: projectId });
  if (projectId !== caller.projectId && !caller.isAdmin) throw new NeutronError(403, 'PolicyNotAuthorized', 'Only admins may create security groups for other projects.');
  const name = str(body, 'name') ?? '';
  if (name === 'default') {
    await defaultSecurityGroup(ctx, projectId);
    throw new NeutronError(409, 'SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
  }
  await defaultSecurityGroup(ctx, projectId);
  await checkQuota(ctx, projectId, 'security_group');
  const stamp = now();
  const id = newUuid();
  const group: SecurityGroupRow = {
    id,
    project_id: projectId,
    name,
    description: str(body, 'description') ?? '',
    created_at: stamp,
    updated_at: stamp,
    revision_number: 1,
    stateful: (bool(body, 'stateful') ?? true) ? 1 : 0,
  };
  const egress = (ethertype: string): SecurityGroupRuleRow => ({
    id: newUuid(),
    project_id: projectId,
    security_group_id: id,
    direction: 'egress',
    ethertype,
    protocol: null,
    port_range_min: null,
    port_range_max: null,
    remote_ip_prefix: null,
    remote_group_id: null,
    description: '',
    created_at: stamp,
    updated_at: stamp,
    revision_number: 0,
  });
  await ctx.groups.create(group, [egress('IPv4'), egress('IPv6')]);
  return group;
}

export async function updateSecurityGroup(ctx: NetworkContext, caller: Caller, id: string, body: Json): Promise<SecurityGroupRow> {
  const group = await visibleGroup(ctx, caller, id);
  authorize(ctx, caller, 'update_security_group', { project_id: group.project_id });
  const name = str(body, 'name');
  if (group.name === 'default' && name !== undefined && name !== 'default') {
    throw new NeutronError(409, 'SecurityGroupCannotUpdateDefault', 'Updating default security group not allowed.');
  }
  const updated: SecurityGroupRow = {
    ...group,
    name: name ?? group.name,
    description: str(body, 'description') ?? group.description,
    stateful: bool(body, 'stateful') === undefined ? group.stateful : bool(body, 'stateful') ? 1 : 0,
    updated_at: now(),
    revision_number: group.revision_number + 1,
  };
  await ctx.groups.update(updated);
  return updated;
}

export async function deleteSecurityGroup(ctx: NetworkContext, caller: Caller, id: string): Promise<void> {
  const group = await visibleGroup(ctx, caller, id);
  authorize(ctx, caller, 'delete_security_group', { project_id: group.project_id });
  if (group.name === 'default' && !caller.isAdmin) {
    throw new NeutronError(409, 'SecurityGroupCannotRemoveDefault', 'Insufficient rights for removing default security group.');
  }
  if ((await ctx.groups.portsUsing(id)) > 0) {
    throw new NeutronError(409, 'SecurityGroupInUse', `Security Group ${id} in use.`);
  }
  await ctx.groups.delete(id);
}

export async function createRule(ctx: NetworkContext, caller: Caller, body: Json): Promise<SecurityGroupRuleRow> {
  const groupId = str(body, 'security_group_id') as string;
  // Neutron checks the rule against the group's owner, which it finds whoever asks: a group of
  // another project is refused (403), only an unknown one is not found.
  const group = await ctx.groups.get(groupId);
  if (!group) throw notFound('SecurityGroup', groupId);
  authorize(ctx, caller, 'create_security_group_rule', { project_id: caller.projectId, 'security_group:project_id': group.project_id });
  if (!caller.isAdmin && group.project_id !== caller.projectId) throw notFound('SecurityGroup', groupId);
  await checkQuota(ctx, group.project_id, 'security_group_rule');
  const direction = str(body, 'direction') as 'ingress' | 'egress';
  const ethertype = str(body, 'ethertype') ?? 'IPv4';
  const protocol = normaliseProtocol(body.protocol);
  const number = protocol === null ? null : protocolNumber(protocol);
  const min = portValue(body.port_range_min);
  const max = portValue(body.port_range_max);
  if (min !== null || max !== null) {
    if (number === null) throw new NeutronError(400, 'SecurityGroupProtocolRequiredWithPorts', 'Must also specify protocol if port range is given.');
    if (PORT_PROTOCOLS.has(number)) {
      if (min === null || max === null || min < 1 || max > 65535 || min > max) {
        throw new NeutronError(400, 'SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max');
      }
    } else if (ICMP_PROTOCOLS.has(number)) {
      if ((min !== null && (min < 0 || min > 255)) || (max !== null && (max < 0 || max > 255))) {
        throw new NeutronError(400, 'SecurityGroupInvalidIcmpValue', `Invalid value for ICMP type or code: ${min} ${max}`);
      }
      if (max !== null && min === null) throw new NeutronError(400, 'SecurityGroupMissingIcmpType', 'ICMP code (port-range-max) is provided but ICMP type (port-range-min) is missing.');
    } else {
      throw new NeutronError(400, 'SecurityGroupInvalidProtocolForPort', `Invalid protocol ${protocol} for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP.`);
    }
  }
  const prefix = str(body, 'remote_ip_prefix') ?? null;
  const remoteGroupId = str(body, 'remote_group_id') ?? null;
  if (prefix && remoteGroupId) {
    throw new NeutronError(400, 'SecurityGroupRemoteGroupAndRemoteIpPrefix', 'Only remote_ip_prefix or remote_group_id may be provided.');
  }
  let remoteIpPrefix: string | null = null;
  if (prefix) {
    const withMask = prefix.includes('/') ? prefix : `${prefix}/${prefix.includes(':') ? 128 : 32}`;
    let parsed;
    try {
      // Host bits may be set (`10.0.0.1/8`): the rule keeps them, normalized_cidr shows the network.
      parsed = parseCidr(withMask, { hostBits: true });
    } catch {
      throw invalidInput(`'${prefix.slice(0, 64)}' is not a valid IP subnet.`);
    }
    if ((parsed.version === 4) !== (ethertype === 'IPv4')) {
      throw new NeutronError(400, 'SecurityGroupRuleParameterConflict', `Conflicting value ethertype ${ethertype} for CIDR ${prefix}`);
    }
    remoteIpPrefix = `${canonicalAddress(withMask.slice(0, withMask.indexOf('/')))}/${parsed.prefix}`;
  }
  if (remoteGroupId) await visibleGroup(ctx, caller, remoteGroupId);
  if (ethertype === 'IPv4' && number === 58) {
    throw new NeutronError(400, 'SecurityGroupEthertypeConflictWithProtocol', `Ethertype IPv4 is not supported for protocol ${protocol}.`);
  }
  const stamp = now();
  const rule: SecurityGroupRuleRow = {
    id: newUuid(),
    project_id: group.project_id,
    security_group_id: groupId,
    direction,
    ethertype,
    protocol,
    port_range_min: min,
    port_range_max: max,
    remote_ip_prefix: remoteIpPrefix,
    remote_group_id: remoteGroupId,
    description: str(body, 'description') ?? '',
    created_at: stamp,
    updated_at: stamp,
    revision_number: 0,
  };
  for (const other of await ctx.groups.rules({ groupIds: [groupId] })) {
    if (sameRule(other, rule)) {
      throw new NeutronError(409, 'SecurityGroupRuleExists', `Security group rule already exists. Rule id is ${other.id}.`);
    }
  }
  await ctx.groups.addRule(rule);
  // Rules reach the hosts whose ports are in the group: push fresh state to the agents.
  ctx.changed([]);
  return rule;
}

export async function deleteRule(ctx: NetworkContext, caller: Caller, id: string): Promise<void> {
  const rule = (await ctx.groups.rules({ ids: [id] }))[0];
  if (!rule || (!caller.isAdmin && rule.project_id !== caller.projectId)) throw notFound('SecurityGroupRule', id);
  authorize(ctx, caller, 'delete_security_group_rule', { project_id: rule.project_id, 'security_group:project_id': rule.project_id });
  await ctx.groups.deleteRule(id);
  ctx.changed([]);
}

/** convert_protocol on what the schema let through: a string, a number 0-255, or nothing. */
function normaliseProtocol(given: unknown): string | null {
  if (given === undefined || given === null || given === 'any' || given === '') return null;
  const value = String(given);
  const lower = value.toLowerCase();
  if (/^\d+$/.test(lower)) {
    const n = Number(lower);
    if (n > 255) throw new NeutronError(400, 'SecurityGroupRuleInvalidProtocol', `Security group rule protocol ${value} not supported. Only protocol values [${Object.keys(PROTOCOLS).join(', ')}] and integer representations [0 to 255] are supported.`);
    return lower;
  }
  if (!(lower in PROTOCOLS)) {
    throw new NeutronError(400, 'SecurityGroupRuleInvalidProtocol', `Security group rule protocol ${value.slice(0, 32)} not supported. Only protocol values [${Object.keys(PROTOCOLS).join(', ')}] and integer representations [0 to 255] are supported.`);
  }
  return lower;
}

function protocolNumber(protocol: string): number {
  return /^\d+$/.test(protocol) ? Number(protocol) : (PROTOCOLS[protocol] as number);
}

/** convert_validate_port_value on what the schema let through: 0-65535, as a number or its decimal string. */
function portValue(value: unknown): number | null {
  return value === undefined || value === null ? null : Number(value);
}

/**
 * Rules are duplicates when they match the same traffic, as Neutron's rule keys compare them:
 * protocol names and numbers as numbers, `0.0.0.0/0` and `::/0` as no prefix at all.
 */
function sameRule(a: SecurityGroupRuleRow, b: SecurityGroupRuleRow): boolean {
  const proto = (p: string | null) => (p === null ? null : protocolNumber(p));
  const prefix = (p: string | null) => (p === null || p === '0.0.0.0/0' || p === '::/0' ? null : p);
  return (
    a.direction === b.direction &&
    a.ethertype === b.ethertype &&
    proto(a.protocol) === proto(b.protocol) &&
    a.port_range_min === b.port_range_min &&
    a.port_range_max === b.port_range_max &&
    prefix(a.remote_ip_prefix) === prefix(b.remote_ip_prefix) &&
    (a.remote_group_id ?? null) === (b.remote_group_id ?? null)
  );
}
