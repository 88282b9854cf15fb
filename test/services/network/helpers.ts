import assert from 'node:assert/strict';
import type { ApiResponse } from '../../helpers/cloud.js';

/** What is wrong with an error answer, or undefined: Neutron's `{"NeutronError": {type, message, detail}}`. */
export function neutronErrorProblem(res: ApiResponse): string | undefined {
  const error = res.json.NeutronError as Record<string, unknown> | undefined;
  if (!error || typeof error !== 'object') return 'no NeutronError body';
  if (typeof error.type !== 'string' || error.type === '') return 'no error type';
  if (typeof error.message !== 'string' || error.message === '') return 'no error message';
  if (typeof error.detail !== 'string') return 'no error detail';
  return undefined;
}

/** Asserts Neutron's error: this status (and type, when given) and a well-formed NeutronError body. */
export function assertNeutronError(res: ApiResponse, status: number, type?: string, what = ''): void {
  const label = `${what ? `${what}: ` : ''}HTTP ${res.status} ${JSON.stringify(res.body)?.slice(0, 400)}`;
  assert.equal(res.status, status, label);
  const problem = neutronErrorProblem(res);
  assert.equal(problem, undefined, `${problem}: ${label}`);
  if (type) assert.equal(res.json.NeutronError.type, type, label);
}
