// Preconditions of writes (If-Match), with the two validators a resource answers:
//   ETag: "<resourceVersion>"      every write moves it, status writes included (as in Kubernetes);
//   Generation-ETag: "gen-<n>"     only a change of the spec (the manifest) moves it.
// If-Match takes either (weak W/ prefix and missing quotes tolerated) or "*" (the resource must exist).
// The generation form is the spec-level precondition: "PUT, then PUT again with If-Match" holds while
// the reconciler writes status in between. It does not cover `metadata`, which does not move the generation.
import { PreconditionFailedError } from '../domain/errors.js';
import type { McpServerResource } from '../domain/resource.js';

export const GENERATION_ETAG_HEADER = 'Generation-ETag';

export function resourceVersionETag(r: Pick<McpServerResource, 'resourceVersion'>): string {
  return `"${r.resourceVersion}"`;
}

export function generationETag(r: Pick<McpServerResource, 'generation'>): string {
  return `"gen-${r.generation}"`;
}

/** Throws PreconditionFailedError (412) unless `ifMatch` (when given) matches the resource. */
export function checkIfMatch(ifMatch: string | undefined, existing: McpServerResource | undefined, fqn: string): void {
  if (ifMatch === undefined) return;
  const wanted = ifMatch.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  if (wanted === '*') {
    if (!existing) throw new PreconditionFailedError(`If-Match: * but ${fqn} does not exist.`);
    return;
  }
  if (!existing) {
    throw new PreconditionFailedError(`If-Match: "${wanted}" but ${fqn} does not exist; omit If-Match to create it.`);
  }
  const generation = /^gen-(\d+)$/.exec(wanted);
  if (generation) {
    if (Number(generation[1]) !== existing.generation) {
      throw new PreconditionFailedError(
        `If-Match: "${wanted}" does not match the current generation ${generationETag(existing)} of ${fqn}: its spec changed since; ` +
          'read the resource again, reapply your change and retry.',
      );
    }
    return;
  }
  if (String(existing.resourceVersion) !== wanted) {
    throw new PreconditionFailedError(
      `If-Match: "${wanted}" does not match the current resourceVersion "${existing.resourceVersion}" of ${fqn}; ` +
        'read the resource again, reapply your change and retry (or send the Generation-ETag, which status writes do not move).',
    );
  }
}
