// Tenant roles and collaborators decide who may read, write and use a server.
//   admin:  everything.
//   editor: create; update/delete where a collaborator with mcp-server-manager.
//   viewer: read where a collaborator with any role.
import { isAdmissionPolicy } from '../domain/policy.js';
import { isVirtualManifest, type Collaborator, type McpServerManifest } from '../domain/manifest.js';
import { ForbiddenError, NotFoundError } from '../domain/errors.js';
import type { Principal } from '../domain/principal.js';
import { inReadScope, type ReadScope } from '../domain/read-scope.js';
import { describeSource, type McpServerResource } from '../domain/resource.js';
import type { AccessPolicy } from '../intake/access-policy.js';
import { secretPointers, stableStringify, valueAt } from '../manifest/index.js';
import { hasSecretReference } from '../domain/secret-reference.js';
import { canUse, readScopeOf, subjectsOf } from './use-policy.js';

export { subjectsOf } from './use-policy.js';

const MANAGER = 'mcp-server-manager';

export function collaboratorRoles(principal: Principal, collaborators: readonly Collaborator[]): Set<string> {
  const mine = subjectsOf(principal);
  // A resource without collaborators (an admission policy's revision) names nobody.
  return new Set((collaborators ?? []).filter((c) => mine.has(c.subject)).map((c) => c.role_id));
}

export interface RoleAccessPolicyOptions {
  /**
   * The least role that may take a server over from a file (--file-takeover-role): admin (default) or
   * editor (then also a collaborator with mcp-server-manager, as for any change).
   */
  fileTakeoverRole?: 'admin' | 'editor';
}

export class RoleAccessPolicy implements AccessPolicy {
  private readonly fileTakeoverRole: 'admin' | 'editor';

  constructor(options: RoleAccessPolicyOptions = {}) {
    this.fileTakeoverRole = options.fileTakeoverRole ?? 'admin';
  }

  canRead(principal: Principal, resource: McpServerResource): boolean {
    if (principal.role === 'admin') return true;
    // An admission policy (in the watch stream, the changelog) is for admins only.
    if (isAdmissionPolicy(resource.manifest)) return false;
    const scope = this.readScope(principal);
    return scope === undefined || inReadScope(scope, resource.accountId, resource.manifest.collaborators);
  }

  /** A non-admin reads the servers of their accounts on which a collaborator names them (any role). */
  readScope(principal: Principal): ReadScope | undefined {
    return readScopeOf(principal);
  }

  canUse(principal: Principal, collaborators: readonly Collaborator[], accountId: string): boolean {
    return canUse(principal, collaborators, accountId);
  }

  authorizePolicies(principal: Principal): void {
    if (principal.role !== 'admin') {
      throw new ForbiddenError(`Your role is ${principal.role}; admission policies (mcp-policy/admission) are read and written by tenant admins only.`);
    }
  }

  authorizeWrite(principal: Principal): void {
    if (principal.role === 'viewer') {
      throw new ForbiddenError('Your role is viewer; viewers cannot create or change MCP servers.');
    }
  }

  authorizeCreateSomewhere(principal: Principal): void {
    this.authorizeWrite(principal);
    if (principal.role !== 'admin' && principal.accounts.length === 0) {
      throw new ForbiddenError('You are not a member of any project; creating MCP servers needs a token that is a member of one.');
    }
  }

  authorizeApply(
    principal: Principal,
    desired: McpServerManifest,
    existing: McpServerResource | undefined,
    keptSecrets: readonly string[] = [],
  ): void {
    if (principal.role === 'admin') return;
    // A reference already stored at the same path (sent back masked, or unchanged) is not a new one.
    const refs = secretPointers(desired).filter((p) => {
      const value = valueAt(desired, p);
      return hasSecretReference(String(value)) && (existing === undefined || valueAt(existing.manifest, p) !== value);
    });
    if (refs.length > 0) {
      // A reference reads from the control plane's own host; only admins and the GitOps source may use them.
      throw new ForbiddenError(
        `Secret references (\${env:...} / \${file:...}) at ${refs.join(', ')} are reserved to tenant admins and the GitOps source; send the secret value itself.`,
      );
    }
    if (existing && !this.canRead(principal, existing)) {
      // Not even visible to the caller: answer as if it did not exist, but refuse to create over it.
      throw new ForbiddenError(`The name "${desired.name}" is taken; choose another name.`);
    }
    this.authorizeWrite(principal);
    if (existing && !collaboratorRoles(principal, existing.manifest.collaborators).has(MANAGER)) {
      throw new ForbiddenError(
        `You are not a collaborator with role ${MANAGER} on "${existing.name}"; ask one of its managers to add you.`,
      );
    }
    if (!collaboratorRoles(principal, desired.collaborators).has(MANAGER)) {
      throw new ForbiddenError(
        `This change would leave you without ${MANAGER} rights on "${desired.name}"; ` +
          `keep a collaborator entry with role_id ${MANAGER} for yourself or one of your teams.`,
      );
    }
    // Secrets sent back masked were never seen by the caller, nor those a reference kept as it was reads
    // (a reference is shown as written). Pointing them at a new destination would hand them to whoever
    // runs it, so that takes the values themselves (or a tenant admin).
    const keptReferences = existing
      ? secretPointers(desired).filter((p) => {
          const value = valueAt(desired, p);
          return typeof value === 'string' && hasSecretReference(value) && valueAt(existing.manifest, p) === value;
        })
      : [];
    const kept = [...keptSecrets, ...keptReferences];
    if (existing && kept.length > 0 && credentialDestination(existing.manifest) !== credentialDestination(desired)) {
      throw new ForbiddenError(
        `This change sends the stored secrets at ${kept.join(', ')} to a new destination (url, upstream_proxy, ` +
          'token_url or command); send their values again instead of the masked ones, or ask a tenant admin.',
      );
    }
  }

  authorizeDelete(principal: Principal, existing: McpServerResource): void {
    if (principal.role === 'admin') return;
    if (!this.canRead(principal, existing)) throw new NotFoundError(`MCP server ${existing.fqn} not found.`);
    if (principal.role === 'viewer' || !collaboratorRoles(principal, existing.manifest.collaborators).has(MANAGER)) {
      throw new ForbiddenError(`Deleting "${existing.name}" needs role ${MANAGER} on it (or tenant admin).`);
    }
  }

  authorizeTakeover(principal: Principal, existing: McpServerResource): void {
    if (principal.role === 'admin') return;
    if (this.fileTakeoverRole === 'editor' && principal.role === 'editor') return;
    throw new ForbiddenError(
      `MCP server "${existing.name}" is managed by ${describeSource(existing.source)}; taking it over from the file ` +
        `needs a tenant admin${this.fileTakeoverRole === 'editor' ? ' or editor' : ''} (--file-takeover-role); change it in the file instead.`,
    );
  }

  accountFor(principal: Principal, desired: McpServerManifest, existing: McpServerResource | undefined): string {
    const wanted = desired.ownedBy?.account;
    if (wanted !== undefined) {
      if (principal.role !== 'admin' && !principal.accounts.includes(wanted)) {
        throw new ForbiddenError(
          `ownedBy.account "${wanted}" is not one of your accounts (${principal.accounts.join(', ') || 'none'}).`,
        );
      }
      return wanted;
    }
    if (existing) return existing.accountId;
    const first = principal.accounts[0];
    if (first === undefined) throw new ForbiddenError('Your token has no account to own servers in; set ownedBy.account.');
    return first;
  }
}

/** Where a server's credentials go: every field that decides which host or program receives them. */
const DESTINATION_POINTERS = ['/url', '/upstream_proxy/url', '/auth_data/token_url', '/command', '/args'];

function credentialDestination(m: McpServerManifest): string {
  // mcp-server/virtual: its auth_data overrides go to its sources, named by /servers/*/name.
  const sources = isVirtualManifest(m) ? m.servers.map((s) => s.name) : null;
  return stableStringify([...DESTINATION_POINTERS.map((p) => valueAt(m, p) ?? null), sources]);
}
