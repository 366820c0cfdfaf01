// The conditions of a watched directory after a batch: Ready always; Stalled while a prune that
// would empty the directory is held back. Each message says what to do.
import { READY, STALLED, setCondition } from '../domain/conditions.js';
import { listShown } from '../domain/list-shown.js';
import type { Condition } from '../domain/resource.js';
import { comparePaths } from './manifest-files.js';
import type { SourceFileError } from './read-manifest-file.js';
import { ConditionReason } from '../domain/condition-reasons.js';

/** Server names a message lists before ", and N more". */
export const MAX_NAMES_SHOWN = 10;

export interface SourceSituation {
  root: string;
  /** The sync these conditions describe (observedGeneration). */
  generation: number;
  /** Servers a prune would have deleted, kept because the directory would be left empty. */
  heldBack: string[];
  /** Files held back from pruning until they have read the same for `quietMs` (see prune-hold.ts). */
  pendingPrune: { path: string; names: string[] }[];
  quietMs: number;
  directoryMissing: boolean;
  /** Files the source knows. */
  files: number;
  failedFiles: { path: string; first: SourceFileError }[];
  now: string;
}

export function sourceConditions(previous: readonly Condition[], s: SourceSituation): Condition[] {
  let conditions = [...previous];
  let ready: { status: 'True' | 'False'; reason: string; message: string };
  if (s.heldBack.length > 0) {
    const names = [...s.heldBack].sort(comparePaths);
    const shown = listShown(names, MAX_NAMES_SHOWN);
    const message =
      `${s.root} ${s.directoryMissing ? 'does not exist' : 'declares no MCP servers'}, but ${names.length} server(s) ` +
      `came from it (${shown}); nothing was pruned. Restore the manifests, or restart with --allow-empty-prune ` +
      '(MCP_CP_ALLOW_EMPTY_PRUNE=true) to delete them.';
    conditions = setCondition(
      conditions,
      { type: STALLED, status: 'True', reason: ConditionReason.HoldingBackEmptyPrune, message, observedGeneration: s.generation },
      s.now,
    );
    ready = { status: 'False', reason: ConditionReason.HoldingBackEmptyPrune, message };
  } else {
    conditions = conditions.filter((c) => c.type !== STALLED);
    if (s.failedFiles.length > 0) {
      const list = s.failedFiles
        .slice(0, 5)
        .map(({ path, first }) => `${path}:${first.line}:${first.col}`)
        .join(', ');
      ready = {
        status: 'False',
        reason: ConditionReason.FileErrors,
        message:
          `${s.failedFiles.length} file(s) have errors (${list}${s.failedFiles.length > 5 ? ', …' : ''}); their servers are ` +
          'kept as they were. Fix the files (see files[].errors) to apply them.',
      };
    } else if (s.pendingPrune.length > 0) {
      const names = s.pendingPrune.flatMap((p) => p.names).sort(comparePaths);
      const shown = listShown(names, MAX_NAMES_SHOWN);
      ready = {
        status: 'False',
        reason: ConditionReason.PrunePending,
        message:
          `${s.pendingPrune.length} file(s) no longer declare ${names.length} server(s) (${shown})` +
          `${s.directoryMissing ? `, and ${s.root} does not exist` : ''}; they are kept until those files have read the same for ` +
          `${s.quietMs} ms, then pruned. Declare them again to keep them.`,
      };
    } else if (s.directoryMissing) {
      ready = { status: 'False', reason: ConditionReason.DirectoryNotFound, message: `${s.root} does not exist; create it or point --manifests elsewhere.` };
    } else {
      ready = { status: 'True', reason: ConditionReason.Synced, message: `All ${s.files} file(s) are applied.` };
    }
  }
  return setCondition(conditions, { type: READY, ...ready, observedGeneration: s.generation }, s.now);
}
