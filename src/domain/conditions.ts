// Pure helpers for Kubernetes-style conditions.
import type { Condition, ConditionStatus } from './resource.js';

export const READY = 'Ready';
export const APPLIED = 'Applied';
export const RECONCILING = 'Reconciling';
export const STALLED = 'Stalled';
export const DISCOVERED = 'Discovered';

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration: number;
}

/**
 * Sets a condition, keeping lastTransitionTime when the status did not change (the Kubernetes rule).
 * Answers a new array; conditions are kept in a stable order by type with Ready first.
 */
export function setCondition(conditions: readonly Condition[], input: ConditionInput, nowIso: string): Condition[] {
  const existing = conditions.find((c) => c.type === input.type);
  const lastTransitionTime = existing && existing.status === input.status ? existing.lastTransitionTime : nowIso;
  const next: Condition = { ...input, lastTransitionTime };
  return sortConditions([...conditions.filter((c) => c.type !== input.type), next]);
}

export function removeCondition(conditions: readonly Condition[], type: string): Condition[] {
  return conditions.filter((c) => c.type !== type);
}

export function findCondition(conditions: readonly Condition[], type: string): Condition | undefined {
  return conditions.find((c) => c.type === type);
}

function sortConditions(conditions: Condition[]): Condition[] {
  return conditions.sort((a, b) => {
    if (a.type === READY) return -1;
    if (b.type === READY) return 1;
    return a.type < b.type ? -1 : a.type > b.type ? 1 : 0;
  });
}
