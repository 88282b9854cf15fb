/**
 * The policy engine: oslo.policy's rule language and enforcer.
 *
 * A service declares its defaults in services/<svc>/policy.ts and registers them on the
 * one shared Enforcer at startup; the operator's policy.yaml is loaded after:
 *
 *   enforcer.registerDefaults(computePolicies);          // throws on a broken default
 *   enforcer.loadOverrides('/etc/kumo/policy.yaml');     // bad rules warn, and deny
 *   enforcer.authorize('os_compute_api:servers:create', { project_id }, credentials);
 *
 * Names live in one namespace, so shared base rules (`admin_or_owner`, ...) must mean the
 * same in every service that registers them; a conflicting registration throws.
 */
export { Enforcer, formatWarning } from './enforcer.js';
export type { EnforcerOptions, PolicyDefaults, PolicyRuleInfo, PolicyWarning, RuleDefault } from './enforcer.js';
export { PolicyDefinitionError, PolicyFileError, PolicyNotAuthorized } from './errors.js';
export type { PolicyProblem } from './errors.js';
export { formatRule, parsePolicyValue, parseRule } from './parser.js';
export type { ParseResult, PolicyNode } from './parser.js';
export type { CheckFn, Credentials, PolicyTarget } from './types.js';
