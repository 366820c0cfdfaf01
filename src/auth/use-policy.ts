// Who may read and use a server, from the caller's principal alone: an admin every server; anyone else the
// servers of their accounts on which a collaborator names them (any role). The data plane decides each call
// with this and nothing more (no manifest schemas), so its thread loads none of the write-side policy's
// modules (policy.ts, which builds on this).
import type { Collaborator } from '../domain/manifest.js';
import type { Principal } from '../domain/principal.js';
import { inReadScope, type ReadScope } from '../domain/read-scope.js';

/** The collaborator subjects that name this principal. */
export function subjectsOf(principal: Principal): Set<string> {
  const s = principal.subject;
  const own = s.subjectType === 'user' ? `user:${s.subjectSlug}` : `${s.subjectType}:${s.subjectSlug}`;
  return new Set([own, s.subjectId, 'team:everyone', ...principal.teams.map((t) => `team:${t}`)]);
}

/** The servers a principal reads: undefined for an admin (all of them). */
export function readScopeOf(principal: Principal): ReadScope | undefined {
  if (principal.role === 'admin') return undefined;
  return { accounts: principal.accounts, subjects: [...subjectsOf(principal)] };
}

/** Whether the principal may use (call through the gateway) a server with these collaborators in this account. */
export function canUse(principal: Principal, collaborators: readonly Collaborator[], accountId: string): boolean {
  const scope = readScopeOf(principal);
  return scope === undefined || inReadScope(scope, accountId, collaborators);
}
