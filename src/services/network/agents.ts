import ipaddr from 'ipaddr.js';
import { isObject, type Json } from '../../core/http/body.js';
import { NETWORK_AGENT_TOPIC, type AgentConfigurations, type AgentReport } from '../../contracts/network-agent.js';
import { authorize, NeutronError, type Caller, type NetworkContext } from './context.js';
import { bool, newUuid, str } from './common.js';
import type { AgentRow } from './tables.js';

/**
 * Network agents (Neutron's agents extension): each host's agent reports what it can realise
 * and how its last reconcile went; port binding reads that, and admins see it through
 * `GET /v2.0/agents` (`openstack network agent list`). An agent is alive while its reports
 * keep coming within the agent down time.
 */

/** One agent as binding reads it. */
export interface HostAgent {
  id: string;
  host: string;
  alive: boolean;
  heartbeatAt: string | null;
  configurations: Partial<AgentConfigurations>;
}


/** Checks a report that came over the bus: it is an agent's word, and the agent could be anyone on the broker. */
export function parseAgentReport(args: unknown): AgentReport {
  if (!isObject(args)) throw new Error('report_state needs a report');
  const { host, agentType, binary, starting, configurations } = args;
  const text = (value: unknown, name: string, max: number) => {
    if (typeof value !== 'string' || value.length === 0 || value.length > max) throw new Error(`report_state: ${name} must be a string of 1-${max} characters`);
    return value;
  };
  if (!isObject(configurations)) throw new Error('report_state: configurations must be an object');
  const tunnel = configurations.tunneling_ip;
  if (tunnel !== null && tunnel !== undefined && (typeof tunnel !== 'string' || !ipaddr.IPv4.isValidFourPartDecimal(tunnel))) {
    throw new Error('report_state: tunneling_ip must be an IPv4 address');
  }
  const serialized = JSON.stringify(configurations);
  if (serialized.length > 64 * 1024) throw new Error('report_state: configurations are too large');
  return {
    host: text(host, 'host', 255),
    agentType: text(agentType, 'agentType', 255),
    binary: text(binary, 'binary', 255),
    starting: starting === true,
    configurations: configurations as AgentConfigurations,
  };
}

/**
 * Records a report (creating the agent on its first); true when the host's tunnel endpoint is
 * new or moved, since the other hosts' flooding lists then change.
 */
export async function recordAgentReport(ctx: NetworkContext, report: AgentReport): Promise<boolean> {
  const db = ctx.records.db;
  const stamp = new Date().toISOString();
  const tunnelIp = typeof report.configurations.tunneling_ip === 'string' ? report.configurations.tunneling_ip : null;
  const fields = {
    tunnel_ip: tunnelIp,
    agent_type: report.agentType,
    agent_binary: report.binary,
    topic: NETWORK_AGENT_TOPIC,
    configurations: JSON.stringify(report.configurations),
    heartbeat_at: stamp,
    updated_at: stamp,
  };
  const row = await db.selectFrom('network_agent').select(['host', 'id', 'tunnel_ip', 'started_at']).where('host', '=', report.host).executeTakeFirst();
  if (!row) {
    await db
      .insertInto('network_agent')
      .values({ host: report.host, id: newUuid(), ...fields, admin_state_up: 1, description: null, created_at: stamp, started_at: stamp })
      .onConflict((oc) => oc.column('host').doUpdateSet({ ...fields, started_at: stamp }))
      .execute();
    return tunnelIp !== null;
  }
  await db
    .updateTable('network_agent')
    .set({ ...fields, ...(row.id ? {} : { id: newUuid(), created_at: stamp }), ...(report.starting || !row.started_at ? { started_at: stamp } : {}) })
    .where('host', '=', report.host)
    .execute();
  return row.tunnel_ip !== tunnelIp;
}

function alive(ctx: NetworkContext, row: AgentRow, at = Date.now()): boolean {
  return row.heartbeat_at !== null && at - Date.parse(row.heartbeat_at) <= ctx.config.network.agentDownTimeSeconds * 1000;
}

function configurationsOf(row: AgentRow): Partial<AgentConfigurations> {
  try {
    const parsed: unknown = JSON.parse(row.configurations);
    return isObject(parsed) ? (parsed as Partial<AgentConfigurations>) : {};
  } catch {
    return {};
  }
}

/** The agent on `host`, as binding needs it; undefined when none ever reported. */
export async function hostAgent(ctx: NetworkContext, host: string): Promise<HostAgent | undefined> {
  const row = await ctx.records.db.selectFrom('network_agent').selectAll().where('host', '=', host).executeTakeFirst();
  if (!row || !row.id) return undefined;
  return { id: row.id, host: row.host, alive: alive(ctx, row), heartbeatAt: row.heartbeat_at, configurations: configurationsOf(row) };
}

/** Neutron prints agent times without a zone, to the second. */
const agentTime = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 19) : null);

function render(ctx: NetworkContext, row: AgentRow & { id: string }): Json {
  return {
    id: row.id,
    agent_type: row.agent_type,
    binary: row.agent_binary,
    topic: row.topic,
    host: row.host,
    admin_state_up: row.admin_state_up === 1,
    alive: alive(ctx, row),
    description: row.description,
    availability_zone: null,
    configurations: configurationsOf(row),
    created_at: agentTime(row.created_at),
    started_at: agentTime(row.started_at),
    heartbeat_timestamp: agentTime(row.heartbeat_at),
    resources_synced: null,
  };
}

const hidden = () => new NeutronError(404, 'HTTPNotFound', 'The resource could not be found.');
const agentNotFound = (id: string) => new NeutronError(404, 'AgentNotFound', `Agent ${id.slice(0, 64)} could not be found.`);

async function agentRow(ctx: NetworkContext, id: string): Promise<AgentRow & { id: string }> {
  const row = await ctx.records.db.selectFrom('network_agent').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row || !row.id) throw agentNotFound(id);
  return row as AgentRow & { id: string };
}

/** As Neutron: an agent the caller may not see is one that does not exist for them. */
function mayGet(ctx: NetworkContext, caller: Caller): boolean {
  return ctx.enforcer.enforce('get_agent', {}, caller.credentials);
}

export async function listAgents(ctx: NetworkContext, caller: Caller): Promise<Json[]> {
  if (!mayGet(ctx, caller)) return [];
  const rows = await ctx.records.db.selectFrom('network_agent').selectAll().where('id', 'is not', null).orderBy('host').execute();
  return rows.map((row) => render(ctx, row as AgentRow & { id: string }));
}

export async function showAgent(ctx: NetworkContext, caller: Caller, id: string): Promise<Json> {
  if (!mayGet(ctx, caller)) throw hidden();
  return render(ctx, await agentRow(ctx, id));
}

export async function updateAgent(ctx: NetworkContext, caller: Caller, id: string, body: Json): Promise<Json> {
  if (!mayGet(ctx, caller)) throw hidden();
  const row = await agentRow(ctx, id);
  authorize(ctx, caller, 'update_agent', {});
  const adminStateUp = bool(body, 'admin_state_up');
  const description = body.description === null ? null : str(body, 'description');
  await ctx.records.db
    .updateTable('network_agent')
    .set({
      ...(adminStateUp !== undefined ? { admin_state_up: adminStateUp ? 1 : 0 } : {}),
      ...(description !== undefined ? { description } : {}),
    })
    .where('id', '=', id)
    .execute();
  return render(ctx, { ...row, ...(adminStateUp !== undefined ? { admin_state_up: adminStateUp ? 1 : 0 } : {}), ...(description !== undefined ? { description } : {}) });
}

/** Forgets an agent, as Neutron does; one still running registers again with its next report. */
export async function deleteAgent(ctx: NetworkContext, caller: Caller, id: string): Promise<void> {
  if (!mayGet(ctx, caller)) throw hidden();
  await agentRow(ctx, id);
  authorize(ctx, caller, 'delete_agent', {});
  await ctx.records.db.deleteFrom('network_agent').where('id', '=', id).execute();
  // Its tunnel address leaves the other hosts' flooding lists.
  ctx.changed([]);
}
