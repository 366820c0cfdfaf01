// The decisions of one batch of a watched directory, in the style of Flux's inventory package: what the
// store holds for the root (the inventory) and what the batch's files read as → which files are applied,
// in which order, which are refused and why, which servers are pruned, and which prunes are held back.
// Pure: no store, no file system, no clock (DirectorySync carries the plan out in one unit of work).
//
// Contracts (each also in directory-sync.ts's header):
// - A file is applied whole or not at all; a refused file keeps its servers as they were.
// - A name deleted through the API with force (a takeover) may not be declared until its file lets go of it.
// - A name the owning file keeps (it is outside the batch, refused, or still declares it) stays with it;
//   among new claims the first path wins, and a second file declaring a claimed name is refused.
// - A file taking a name over from another file of the batch is applied after it; when that file is
//   refused, the taker is refused too (the name stays where it is).
// - Files that take names from each other (a swap) are applied together, all or none.
// - Prune: what the batch's clean (or gone) files held and no file declares; never a name a refused or
//   held file declares. A refused file declares what it reads as now and what it declared before (while
//   the store holds it), until it reads cleanly or is gone: a refused read never lets a prune through.
// - A batch whose prunes would leave the root with no servers prunes nothing unless allowEmptyPrune.
// - A file that would prune is held first (prune-hold.ts) when quietMs > 0.
import { comparePaths } from './manifest-files.js';
import { decideHold, type PruneHold } from './prune-hold.js';
import { toFileError, type DeclaredDocument, type FileReading, type SourceFileError } from './read-manifest-file.js';

/** What the store holds for the root, as read before the batch writes anything. */
export interface PlanInventory {
  /** How many servers the root manages. */
  readonly size: number;
  /** The file of the root that holds `name` (path relative to the root), if any. */
  pathOf(name: string): string | undefined;
  /** The names the store holds for `path` (asked only for files of the batch). */
  namesAt(path: string): readonly string[];
}

/** A file as the batches before this one left it. */
export interface KnownFile {
  /** The names it counts as declaring (for a refused file, with what it declared before it was refused). */
  readonly names: ReadonlySet<string>;
  readonly errors: readonly unknown[];
}

export interface BatchInput {
  inventory: PlanInventory;
  /** The files of the batch, each once, in path order. */
  readings: readonly FileReading[];
  /** Every file the earlier batches read, by path. */
  known: ReadonlyMap<string, KnownFile>;
  /** The paths of `known` that were refused (few, so the plan never walks every known file). */
  refusedBefore: Iterable<string>;
  /** The prune holds the earlier batches left, by path. */
  holds: ReadonlyMap<string, PruneHold>;
  /** Clock ms. */
  now: number;
  quietMs: number;
  allowEmptyPrune: boolean;
  /** Files intake refused while an earlier plan of this batch was carried out, with its errors. */
  refusedAtApply?: ReadonlyMap<string, readonly SourceFileError[]>;
  /** Names deleted through the API with force from a file of this root, and who did it: no file may declare them. */
  forcedDeletes?: ReadonlyMap<string, { by: string }>;
}

export interface PlannedFile {
  path: string;
  documents: DeclaredDocument[];
}

/** Files applied together, all or none, after every file they take a name from. */
export interface ApplyGroup {
  files: PlannedFile[];
  /** The files of the batch this group takes names from: refused meanwhile, it must not be applied. */
  takesFrom: string[];
}

export interface InventoryEntry {
  name: string;
  /** The file that holds it now. */
  path: string;
}

export interface BatchPlan {
  /** In order. */
  apply: ApplyGroup[];
  /** Refused files of the batch with every error, sorted by position. */
  refused: Map<string, SourceFileError[]>;
  /** Files of the batch held back from pruning: not applied, their servers kept. */
  holds: Map<string, PruneHold>;
  /** Servers to delete once every group is applied, by name. */
  prune: InventoryEntry[];
  /** Servers a prune would delete, kept because the root would be left with none. */
  heldBack: InventoryEntry[];
  /** What each read file of the batch declares from now on (see KnownFile.names); a gone file is absent. */
  declared: Map<string, Set<string>>;
}

export function planBatch(input: BatchInput): BatchPlan {
  const { inventory, readings } = input;
  const byPath = new Map(readings.map((r) => [r.path, r]));
  const documentsOf = (r: FileReading | undefined): DeclaredDocument[] => (r?.kind === 'read' ? r.documents : []);
  const refused = new Map<string, SourceFileError[]>();
  const fail = (path: string, errors: readonly SourceFileError[]) =>
    refused.set(path, [...(refused.get(path) ?? []), ...errors].sort((a, b) => a.line - b.line || a.col - b.col));
  for (const r of readings) if (r.kind === 'read' && r.errors.length > 0) fail(r.path, r.errors);

  // What each read file declares from now on: a refused one keeps what it declared before (while stored).
  const declared = new Map<string, Set<string>>();
  const declaredNow = () => {
    for (const r of readings) {
      if (r.kind !== 'read') continue;
      const names = new Set(r.names);
      if (refused.has(r.path)) for (const n of input.known.get(r.path)?.names ?? []) if (inventory.pathOf(n) !== undefined) names.add(n);
      declared.set(r.path, names);
    }
  };
  declaredNow();
  /** Names refused files outside the batch declare. */
  const declaredOutside = new Set<string>();
  for (const path of input.refusedBefore) if (!byPath.has(path)) input.known.get(path)?.names.forEach((n) => declaredOutside.add(n));

  const holds = decideHolds(input, declared, declaredOutside, refused);

  // 1. Names whose owner keeps them: the owner is not in this batch, refused as read, or still declares them.
  const refusedAsRead = new Set(refused.keys());
  const keptBy = (name: string): string | undefined => {
    const owner = inventory.pathOf(name);
    if (owner === undefined) return undefined;
    const r = byPath.get(owner);
    return !r || refusedAsRead.has(owner) || documentsOf(r).some((d) => d.name === name) ? owner : undefined;
  };
  // 2. New claims, first path wins; a second file declaring a claimed name is refused as a whole.
  const candidates = readings.filter((r) => r.kind === 'read' && !refused.has(r.path) && !holds.has(r.path));
  const claims = new Map<string, string>();
  for (const r of candidates) {
    for (const d of documentsOf(r)) {
      const forced = input.forcedDeletes?.get(d.name);
      if (forced) {
        const message =
          `MCP server "${d.name}" was deleted through the API by ${forced.by} (force); this file may not create it again ` +
          'while it declares it: remove it from this file (declaring it again afterwards creates it anew)';
        fail(r.path, [toFileError(r.path, { path: '/name', message }, d.locate)]);
        continue;
      }
      const owner = claims.has(d.name) ? claims.get(d.name) : keptBy(d.name);
      if (owner !== undefined && owner !== r.path) {
        const message =
          `MCP server "${d.name}" is already declared in ${owner}; a name may be declared by one file only: ` +
          `rename it here or remove it from ${owner}`;
        fail(r.path, [toFileError(r.path, { path: '/name', message }, d.locate)]);
      } else {
        claims.set(d.name, r.path);
      }
    }
  }
  for (const [path, errors] of input.refusedAtApply ?? []) fail(path, errors);

  // 3. Who takes a name over from another read file of this batch: taker → (name → holder).
  const takesFrom = new Map<string, Map<string, string>>();
  for (const r of candidates) {
    for (const d of documentsOf(r)) {
      const holder = inventory.pathOf(d.name);
      if (holder !== undefined && holder !== r.path && byPath.get(holder)?.kind === 'read') {
        takesFrom.set(r.path, (takesFrom.get(r.path) ?? new Map<string, string>()).set(d.name, holder));
      }
    }
  }
  const holdersOf = (path: string) => [...new Set(takesFrom.get(path)?.values() ?? [])];
  /** Refuses a file that would take a name from a refused file; answers whether it did. */
  const lost = (r: FileReading): boolean => {
    const names = [...(takesFrom.get(r.path) ?? [])].filter(([, holder]) => refused.has(holder));
    if (names.length === 0) return false;
    const byName = new Map(documentsOf(r).map((d) => [d.name, d]));
    fail(
      r.path,
      names.map(([name, holder]) =>
        toFileError(
          r.path,
          { path: '/name', message: `MCP server "${name}" stays declared in ${holder}, which has errors; fix ${holder} first, then declare it here` },
          byName.get(name)?.locate,
        ),
      ),
    );
    return true;
  };

  // 4. The order: each file after the files it takes names from; files that wait on each other, together.
  const apply: ApplyGroup[] = [];
  const planned = (r: FileReading): PlannedFile => ({ path: r.path, documents: documentsOf(r) });
  const settled = new Set<string>(holds.keys());
  for (let progress = true; progress; ) {
    progress = false;
    for (const r of candidates) {
      if (settled.has(r.path)) continue;
      const waiting = holdersOf(r.path).some((h) => !settled.has(h) && !refused.has(h) && h !== r.path);
      if (waiting) continue;
      settled.add(r.path);
      progress = true;
      if (refused.has(r.path) || lost(r)) continue;
      apply.push({ files: [planned(r)], takesFrom: holdersOf(r.path) });
    }
  }
  let swapping = candidates.filter((r) => !settled.has(r.path) && !refused.has(r.path));
  for (let more = true; more; ) {
    more = false;
    for (const r of swapping) if (!refused.has(r.path) && lost(r)) more = true;
  }
  swapping = swapping.filter((r) => !refused.has(r.path));
  if (swapping.length > 0) {
    const inGroup = new Set(swapping.map((r) => r.path));
    const outside = [...new Set(swapping.flatMap((r) => holdersOf(r.path)))].filter((h) => !inGroup.has(h));
    apply.push({ files: swapping.map(planned), takesFrom: outside });
  }

  // 5. Prune what the batch's clean (or gone) files held and no file declares, once every group is applied.
  declaredNow();
  const keptDeclared = new Set(declaredOutside);
  for (const path of [...refused.keys(), ...holds.keys()]) declared.get(path)?.forEach((n) => keptDeclared.add(n));
  const appliedNames = new Set<string>();
  for (const group of apply) for (const f of group.files) for (const d of f.documents) appliedNames.add(d.name);
  const prune: InventoryEntry[] = [];
  for (const r of readings) {
    if (refused.has(r.path) || holds.has(r.path)) continue;
    for (const name of inventory.namesAt(r.path)) {
      if (appliedNames.has(name) || keptDeclared.has(name)) continue;
      prune.push({ name, path: r.path });
    }
  }
  prune.sort((a, b) => comparePaths(a.name, b.name));
  let sizeAfter = inventory.size;
  for (const name of appliedNames) if (inventory.pathOf(name) === undefined) sizeAfter++;
  const empties = prune.length > 0 && prune.length === sizeAfter && !input.allowEmptyPrune;
  return { apply, refused, holds, prune: empties ? [] : prune, heldBack: empties ? prune : [], declared };
}

/**
 * Which read files of the batch are held back from pruning (see prune-hold.ts). What a file would prune:
 * the names the store holds for it that no file of the batch, and no refused file, declares.
 */
function decideHolds(
  input: BatchInput,
  declared: ReadonlyMap<string, ReadonlySet<string>>,
  declaredOutside: ReadonlySet<string>,
  refused: ReadonlyMap<string, unknown>,
): Map<string, PruneHold> {
  const holds = new Map<string, PruneHold>();
  if (input.quietMs <= 0) return holds;
  const all = new Set(declaredOutside);
  for (const names of declared.values()) names.forEach((n) => all.add(n));
  for (const r of input.readings) {
    if (refused.has(r.path)) continue;
    const dropped = input.inventory.namesAt(r.path).filter((n) => !all.has(n));
    const content = r.kind === 'read' ? r.contentHash : null;
    const decision = decideHold({ content, dropped, previous: input.holds.get(r.path), now: input.now, quietMs: input.quietMs });
    if (decision.kind === 'hold') holds.set(r.path, decision.hold);
  }
  return holds;
}
