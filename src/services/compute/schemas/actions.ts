import * as t from './types.js';
import type { Schema } from './types.js';

/**
 * POST /servers/{id}/action: Nova has one schema per action (servers.py, pause_server.py,
 * lock_server.py, console_output.py, remote_consoles.py, security_groups.py, ...), each of
 * them a body with that action's one key. Here each action's member is declared under its
 * key; the dispatcher (servers/actions.ts) refuses a body without exactly one known action,
 * as Nova's action_peek does.
 */

/** Actions whose member Nova does not look at (`{"pause": null}`, `{"pause": {}}`). */
const anything: Schema = {};

const rebuildProperties: Record<string, Schema> = {
  name: t.name,
  imageRef: t.uuid,
  adminPass: t.adminPassword,
  metadata: t.metadata,
  preserve_ephemeral: t.boolean,
  'OS-DCF:diskConfig': t.diskConfig,
  accessIPv4: t.accessIPv4,
  accessIPv6: t.accessIPv6,
  personality: { type: 'array', items: t.closedObject({ path: { type: 'string' }, contents: t.base64 }) },
};

const consoleType = (types: string[]): Schema => t.closedObject({ type: { type: 'string', enum: types } }, ['type']);
const securityGroupName = t.closedObject({ name: { type: 'string', minLength: 1 } }, ['name']);

const ACTIONS_V21: Record<string, Schema> = {
  'os-start': anything,
  'os-stop': anything,
  pause: anything,
  unpause: anything,
  suspend: anything,
  resume: anything,
  lock: anything,
  unlock: anything,
  confirmResize: anything,
  revertResize: anything,
  forceDelete: anything,
  reboot: t.closedObject({ type: { type: 'string', enum: ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft'] } }, ['type']),
  resize: t.closedObject({ flavorRef: t.flavorRef, 'OS-DCF:diskConfig': t.diskConfig }, ['flavorRef']),
  rebuild: t.closedObject(rebuildProperties, ['imageRef']),
  createImage: t.closedObject({ name: t.name, metadata: t.metadata }, ['name']),
  'os-getConsoleOutput': t.closedObject({ length: { type: ['integer', 'string', 'null'], pattern: '^-?[0-9]+$', minimum: -1 } }),
  'os-getVNCConsole': consoleType(['novnc', 'xvpvnc']),
  'os-getSerialConsole': consoleType(['serial']),
  'os-getSPICEConsole': consoleType(['spice-html5']),
  'os-getRDPConsole': consoleType(['rdp-html5']),
  'os-getMKSConsole': consoleType(['webmks']),
  addSecurityGroup: securityGroupName,
  removeSecurityGroup: securityGroupName,
  trigger_crash_dump: { type: 'null' },
  addFloatingIp: t.closedObject({ address: t.ipAddress, fixed_address: t.ipAddress }, ['address']),
  removeFloatingIp: t.closedObject({ address: t.ipAddress }, ['address']),
  // Nova's rescue schema: an object or null; unrescue's member is null.
  rescue: { type: ['object', 'null'], properties: { adminPass: t.adminPassword, rescue_image_ref: t.uuid }, additionalProperties: false },
  unrescue: { type: 'null' },
};

const ACTIONS_V219: Record<string, Schema> = {
  ...ACTIONS_V21,
  rebuild: t.closedObject({ ...rebuildProperties, description: t.description }, ['imageRef']),
};

const actionBody = (actions: Record<string, Schema>): Schema => ({ type: 'object', properties: actions });

/** By microversion: 2.19 lets rebuild set a description. */
export const serverAction = { '2.1': actionBody(ACTIONS_V21), '2.19': actionBody(ACTIONS_V219) };
