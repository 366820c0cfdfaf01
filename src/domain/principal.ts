// Who is calling, after authentication.
import type { Subject } from './resource.js';

export type TenantRole = 'admin' | 'editor' | 'viewer';

export interface Principal {
  subject: Subject;
  role: TenantRole;
  /** Team slugs the subject belongs to (for `team:<slug>` collaborators). */
  teams: string[];
  /** Accounts the subject may own resources in; the first is the default. */
  accounts: string[];
}

export function adminPrincipal(tenant: string): Principal {
  return {
    subject: { subjectId: 'admin', subjectType: 'user', subjectSlug: 'admin', subjectDisplayName: 'Administrator' },
    role: 'admin',
    teams: [],
    accounts: [tenant],
  };
}

export function gitopsPrincipal(tenant: string): Principal {
  return {
    subject: {
      subjectId: 'serviceaccount:gitops',
      subjectType: 'serviceaccount',
      subjectSlug: 'gitops',
      subjectDisplayName: 'GitOps file source',
    },
    role: 'admin',
    teams: [],
    accounts: [tenant],
  };
}
