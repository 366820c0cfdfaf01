// The PascalCase reasons events carry: part of the wire contract (GET .../events, watch frames, the
// status page), so each is written here once and src/ uses the constant. A condition that turns bad
// is also recorded as an event under its condition reason (condition-reasons.ts).
// test/domain/reasons.test.ts scans src/ for a reason written as a literal.

export const EventReason = {
  // Writes of desired state (intake)
  /** Normal: a server was created. */
  Created: 'Created',
  /** Normal: a server's manifest changed (a new generation). */
  Updated: 'Updated',
  /** Normal: a server was deleted. */
  Deleted: 'Deleted',
  /** Normal: a forced write took a server over from the source that declared it. */
  TakenOver: 'TakenOver',
  /** Warning: a write was accepted although it breaks a rule of an admission policy with action warn. */
  PolicyWarning: 'PolicyWarning',
  /** Warning: a write was accepted although it breaks a rule of an admission policy with action audit. */
  PolicyAudit: 'PolicyAudit',

  // The reconciler
  /** Normal: a generation was applied to the gateway store. */
  Applied: 'Applied',
  /** Warning: the gateway entry differed from the stored generation and was restored. */
  DriftRepaired: 'DriftRepaired',
  /** Normal: a discovery found tools added, removed or changed. */
  ToolsChanged: 'ToolsChanged',
  /** Normal: the resource is gone, so its gateway entry was removed. */
  RemovedFromGateway: 'RemovedFromGateway',
  /** Normal: the server's authentication changed, so the per-user credentials made for it were dropped. */
  CredentialsDropped: 'CredentialsDropped',

  // Watched directories (all Warning)
  /** A file no longer declares the server; it is pruned after the quiet period unless declared again. */
  PrunePending: 'PrunePending',
  /** A file no longer declares the server, but deleting it failed. */
  PruneFailed: 'PruneFailed',
  /** A prune would empty the directory, so the server was kept (--allow-empty-prune). */
  PruneHeldBack: 'PruneHeldBack',
  /** A file declares a server another source owns, and was refused. */
  FileConflict: 'FileConflict',
  /** The file declaring the server has errors; the server is kept as it was. */
  SourceFileInvalid: 'SourceFileInvalid',
} as const;

export type EventReason = (typeof EventReason)[keyof typeof EventReason];
