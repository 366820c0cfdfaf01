// What intake checks of an mcp-server/virtual manifest against the store: each source is a remote or
// stdio server (never a virtual one: a 400 naming the field), and the writer may use it (else 403). A
// source that does not exist is accepted from a tenant admin or the GitOps source (the virtual server
// reports SourceNotFound until it does); anyone else gets the 403 a source they may not use gets, so
// the answer does not tell which names exist in other accounts.
import { ForbiddenError, type FieldError } from '../domain/errors.js';
import { isVirtualManifest, type VirtualMcpServerManifest } from '../domain/manifest.js';
import type { Principal } from '../domain/principal.js';
import { serverFqn, type McpServerResource } from '../domain/resource.js';
import type { AccessPolicy } from './access-policy.js';

/** Answers the field errors (a virtual source); throws ForbiddenError for a source the writer may not use. */
export async function checkVirtualSources(
  m: VirtualMcpServerManifest,
  tenant: string,
  principal: Principal,
  policy: Pick<AccessPolicy, 'canUse'>,
  read: (fqn: string) => Promise<McpServerResource | undefined>,
): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  const refused: string[] = [];
  for (const [index, spec] of m.servers.entries()) {
    const source = await read(serverFqn(tenant, spec.name));
    if (source === undefined) {
      if (principal.role !== 'admin') refused.push(spec.name);
      continue;
    }
    if (!policy.canUse(principal, source.manifest.collaborators, source.accountId)) {
      refused.push(spec.name);
      continue;
    }
    if (isVirtualManifest(source.manifest)) {
      errors.push({
        path: `/servers/${index}/name`,
        message: `"${spec.name}" is a virtual server; a virtual server composes mcp-server/remote, mcp-server/stdio and mcp-server/openapi servers only (name one of its sources instead)`,
      });
    }
  }
  if (refused.length > 0) {
    throw new ForbiddenError(
      `You may not use ${refused.map((n) => `"${n}"`).join(', ')} (no such server is served to you); a virtual server may compose only servers ` +
        'you are a collaborator of. Ask their managers to add you, or remove them from servers.',
    );
  }
  return errors;
}
