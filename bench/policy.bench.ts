/**
 * Policy evaluations per second for typical rules. Run: npx tsx bench/policy.bench.ts
 * Not a test: the figures depend on the machine, so nothing here asserts a threshold.
 */
import { Enforcer, parseRule, type Credentials } from '../src/core/policy/index.js';

const KEYSTONE_GET_USER =
  '(role:reader and system_scope:all) or (role:reader and domain_id:%(target.user.domain_id)s) or user_id:%(target.user.id)s';

const enforcer = new Enforcer({
  context_is_admin: 'role:admin',
  admin_or_owner: 'is_admin:True or project_id:%(project_id)s',
  'bench:always': '@',
  'bench:role': 'role:admin',
  'bench:owner': 'project_id:%(project_id)s',
  'bench:admin_or_owner': 'rule:admin_or_owner',
  'bench:reader_or_owner': 'role:reader and (rule:context_is_admin or project_id:%(project_id)s)',
  'bench:keystone_get_user': KEYSTONE_GET_USER,
  'bench:not_admin': 'not role:admin',
});

const member: Credentials = { user_id: 'u1', project_id: 'p1', domain_id: null, roles: ['reader', 'member'] };
const domainReader: Credentials = { user_id: 'u9', domain_id: 'd1', roles: ['Reader'] };
const ownTarget = { project_id: 'p1', user_id: 'u1' };
const otherTarget = { project_id: 'p2' };
const nestedUser = { target: { user: { id: 'u2', domain_id: 'd1' } } };
const flatUser = { 'target.user.id': 'u2', 'target.user.domain_id': 'd1' };

interface Case {
  readonly label: string;
  readonly action: string;
  readonly target: object;
  readonly credentials: Credentials;
}

const cases: readonly Case[] = [
  { label: '@', action: 'bench:always', target: ownTarget, credentials: member },
  { label: 'role:admin (deny, 2 roles)', action: 'bench:role', target: ownTarget, credentials: member },
  { label: 'project_id:%(project_id)s (allow)', action: 'bench:owner', target: ownTarget, credentials: member },
  { label: 'project_id:%(project_id)s (deny)', action: 'bench:owner', target: otherTarget, credentials: member },
  { label: 'rule:admin_or_owner (allow)', action: 'bench:admin_or_owner', target: ownTarget, credentials: member },
  { label: 'role:reader and (rule:.. or owner)', action: 'bench:reader_or_owner', target: ownTarget, credentials: member },
  { label: 'keystone get_user, nested target', action: 'bench:keystone_get_user', target: nestedUser, credentials: domainReader },
  { label: 'keystone get_user, flat target', action: 'bench:keystone_get_user', target: flatUser, credentials: domainReader },
  { label: 'not role:admin', action: 'bench:not_admin', target: ownTarget, credentials: member },
  { label: 'unknown action (no default)', action: 'bench:missing', target: ownTarget, credentials: member },
];

const DURATION_NS = 300_000_000n;

function measure(run: () => boolean): number {
  // Warm up so the figure is for optimised code, then count calls in a fixed window.
  for (let i = 0; i < 200_000; i++) run();
  let calls = 0;
  let allowed = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < DURATION_NS) {
    for (let i = 0; i < 10_000; i++) if (run()) allowed++;
    calls += 10_000;
    elapsed = process.hrtime.bigint() - start;
  }
  // Reading `allowed` keeps the calls observable so they cannot be optimised away.
  if (allowed < 0) console.log(allowed);
  return calls / (Number(elapsed) / 1e9);
}

const rows = cases.map((c) => ({
  rule: c.label,
  result: enforcer.enforce(c.action, c.target, c.credentials) ? 'allow' : 'deny',
  'evaluations/s': Math.round(measure(() => enforcer.enforce(c.action, c.target, c.credentials))).toLocaleString('en-US'),
}));

rows.push({
  rule: 'parse keystone get_user (load time)',
  result: '-',
  'evaluations/s': Math.round(measure(() => parseRule(KEYSTONE_GET_USER).problems.length === 0)).toLocaleString('en-US'),
});

console.log(`node ${process.version}, ${DURATION_NS / 1_000_000n} ms per row`);
console.table(rows);
