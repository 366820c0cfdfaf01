// The one place a plan is computed. dryRun answers it; commit executes exactly it. Pure, no I/O.
import type { McpServerManifest } from '../domain/manifest.js';
import type { McpServerResource, SourceRef } from '../domain/resource.js';
import { secretPointers } from '../manifest/index.js';
import { diffDocuments, jsonEqual, type DiffOp } from './diff.js';

export type PlanAction = 'CREATE' | 'UPDATE' | 'UNCHANGED';

export interface ApplyPlanInput {
  /** Normalised, with stored secrets restored where the caller sent masked values. */
  desired: McpServerManifest;
  desiredHash: string;
  /** undefined keeps the stored metadata. */
  metadata: Record<string, unknown> | undefined;
  source: SourceRef;
  accountId: string;
  stored: McpServerResource | undefined;
}

export interface ApplyPlan {
  action: PlanAction;
  diff: DiffOp[];
  /** The generation the resource will have after commit. */
  generation: number;
  specChanged: boolean;
  metadata: Record<string, unknown>;
}

export function planApply(input: ApplyPlanInput): ApplyPlan {
  const { stored, desired } = input;
  if (!stored) {
    return {
      action: 'CREATE',
      diff: listFields(desired, secretPointers(desired)),
      generation: 1,
      specChanged: true,
      metadata: input.metadata ?? {},
    };
  }
  // Only a diff of the manifest asks, and an unchanged spec has none: found on the first question.
  let secrets: Set<string> | undefined;
  const isSecret = (pointer: string) => (secrets ??= new Set([...secretPointers(desired), ...secretPointers(stored.manifest)])).has(pointer);
  const metadata = input.metadata ?? stored.metadata;
  const specChanged = stored.specHash !== input.desiredHash;
  const diff: DiffOp[] = specChanged ? diffDocuments(stored.manifest, desired, { isSecret }) : [];
  if (!jsonEqual(stored.metadata, metadata)) {
    for (const op of diffDocuments(stored.metadata, metadata)) diff.push({ ...op, path: `/metadata${op.path}` });
  }
  const otherChange = !jsonEqual(stored.source, input.source) || stored.accountId !== input.accountId;
  const changed = specChanged || diff.length > 0 || otherChange;
  return {
    action: changed ? 'UPDATE' : 'UNCHANGED',
    diff,
    generation: specChanged ? stored.generation + 1 : stored.generation,
    specChanged,
    metadata,
  };
}

/** A CREATE lists each top-level field as an add; a secret is never shown, only that it is set. */
function listFields(desired: McpServerManifest, secrets: readonly string[]): DiffOp[] {
  const isSecret = (pointer: string) => secrets.includes(pointer);
  return Object.entries(desired).flatMap(([key, value]): DiffOp[] => {
    const path = `/${key}`;
    // A field with no secret at or below it is one add, as diffDocuments answers it, without walking it
    // (null and undefined, which it leaves out, take the general way).
    if (value !== undefined && value !== null && !secrets.some((p) => p.startsWith(path))) return [{ op: 'add', path, to: value }];
    return diffDocuments(undefined, value, { isSecret: (p) => isSecret(`${path}${p}`) }).map((op) => ({ ...op, path: `${path}${op.path}` }));
  });
}
