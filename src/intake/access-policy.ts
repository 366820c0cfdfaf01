// Who may do what with a resource. Intake asks; the auth layer answers.
import type { Collaborator, McpServerManifest } from '../domain/manifest.js';
import type { Principal } from '../domain/principal.js';
import type { ReadScope } from '../domain/read-scope.js';
import type { McpServerResource } from '../domain/resource.js';

export interface AccessPolicy {
  canRead(principal: Principal, resource: McpServerResource): boolean;
  /**
   * What the principal may read, as data a store answers from an index (ListQuery.readableBy); undefined:
   * everything. canRead(p, r) is exactly "r is in readScope(p)".
   */
  readScope(principal: Principal): ReadScope | undefined;
  /** Whether the principal may use a server with these collaborators through the gateway. */
  canUse(principal: Principal, collaborators: readonly Collaborator[], accountId: string): boolean;
  /**
   * Throws ForbiddenError when the caller may not write anything at all. Cheap and body-free: callers
   * ask it before any work on the body (validation), so a caller who may not write cannot make the
   * control plane validate large bodies for them.
   */
  authorizeWrite(principal: Principal): void;
  /**
   * authorizeWrite, and the caller may create servers in some project (an admin, or a member of one).
   * For work done before a server exists, e.g. probing a URL. Throws ForbiddenError.
   */
  authorizeCreateSomewhere(principal: Principal): void;
  /** Throws ForbiddenError (or NotFoundError when the caller may not even read it). */
  /**
   * `keptSecrets`: pointers of secrets the caller sent back masked, which intake restored from the stored
   * resource — the caller never saw those values.
   */
  authorizeApply(
    principal: Principal,
    desired: McpServerManifest,
    existing: McpServerResource | undefined,
    keptSecrets?: readonly string[],
  ): void;
  authorizeDelete(principal: Principal, existing: McpServerResource): void;
  /**
   * Taking a resource away from the file that declares it (an API write with force: true), after
   * authorizeApply allowed the write itself. Throws ForbiddenError.
   */
  authorizeTakeover(principal: Principal, existing: McpServerResource): void;
  /** Reading or writing admission policies (mcp-policy/admission). Throws ForbiddenError. */
  authorizePolicies(principal: Principal): void;
  /** The account the resource belongs to after this write (ownedBy.account, else the caller's default). */
  accountFor(principal: Principal, desired: McpServerManifest, existing: McpServerResource | undefined): string;
}
