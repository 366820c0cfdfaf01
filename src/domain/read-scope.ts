// Who may read a resource, as data a store can answer from an index: a resource is in a scope when its
// account is one of the scope's accounts and one of its collaborators names one of the scope's subjects
// (any role). The access policy (src/auth/policy.ts) makes a principal's scope and decides canRead by it.
import type { Collaborator } from './manifest.js';

export interface ReadScope {
  readonly accounts: readonly string[];
  /** Collaborator subjects (`user:…`, `team:…`, a subject id) that name the reader. */
  readonly subjects: readonly string[];
}

export function inReadScope(scope: ReadScope, accountId: string, collaborators: readonly Collaborator[]): boolean {
  if (!scope.accounts.includes(accountId)) return false;
  return collaborators.some((c) => scope.subjects.includes(c.subject));
}
