// The callers the suites admit with a StaticTokenAuthenticator of their own: a user of tenant `default`
// with a tenant role, in no team, owning servers in the account `default`.
import type { Principal, TenantRole } from '../../src/domain/principal.js';

/** User `slug` (shown as `displayName`, by default the slug) with `role`. */
export function userPrincipal(slug: string, role: TenantRole, displayName = slug): Principal {
  return {
    subject: { subjectId: `user:${slug}`, subjectType: 'user', subjectSlug: slug, subjectDisplayName: displayName },
    role,
    teams: [],
    accounts: ['default'],
  };
}
