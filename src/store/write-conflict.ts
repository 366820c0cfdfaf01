// A write that lost a race: the stored resource is no longer the one the write was planned against (its
// resourceVersion moved, it was removed, or a create found the name taken). Nothing was written; the
// writer reads again and re-plans, or reports the conflict.
export class WriteConflictError extends Error {
  constructor(readonly fqn: string, detail: string) {
    super(`${fqn} changed while this write was planned: ${detail}`);
    this.name = 'WriteConflictError';
  }
}
