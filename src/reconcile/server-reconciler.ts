// reconcile(key) for one MCP server: level-triggered. It re-reads the desired resource and the gateway
// entry, ignores what triggered it, converges the gateway store, and writes status once.
import type { Clock } from '../domain/clock.js';
import { isoTime, systemClock } from '../domain/clock.js';
import { APPLIED, READY, RECONCILING, STALLED, removeCondition, setCondition } from '../domain/conditions.js';
import { TerminalError } from '../domain/errors.js';
import type { Logger } from '../domain/logger.js';
import type { McpServerResource, ResourceStatus } from '../domain/resource.js';
import { gatewayEntryHash, type GatewayStore } from '../gateway/gateway-store.js';
import type { ResourceStore } from '../store/index.js';
import type { ReconcileResult } from './controller.js';
import { resolveGatewayEntry } from './resolve-gateway-entry.js';

export interface ServerReconcilerOptions {
  store: ResourceStore;
  gateway: GatewayStore;
  clock?: Clock;
  logger: Logger;
}

const RECONCILER = 'reconciler';

export function createServerReconciler(options: ServerReconcilerOptions): (key: string) => Promise<ReconcileResult> {
  const { store, gateway, logger } = options;
  const clock = options.clock ?? systemClock;

  const event = (resource: { fqn: string; id: string }, type: 'Normal' | 'Warning', reason: string, message: string) =>
    store.recordEvent({ fqn: resource.fqn, resourceId: resource.id, type, reason, message, actor: RECONCILER });

  return async function reconcileServer(key: string): Promise<ReconcileResult> {
    const resource = store.get(key);
    const entry = gateway.get(key);

    if (!resource) {
      if (entry && gateway.delete(key)) {
        event({ fqn: key, id: entry.resourceId }, 'Normal', 'RemovedFromGateway', 'The resource is gone; removed its gateway entry.');
        logger.info({ key }, 'gateway entry removed');
      }
      return {};
    }

    try {
      const desired = resolveGatewayEntry(resource);
      if (!entry || entry.configHash !== gatewayEntryHash(desired)) {
        gateway.apply(desired);
        // An entry built from this very generation that no longer matches was edited outside the reconciler.
        const drifted = entry !== undefined && entry.generation === resource.generation && resource.status.observedGeneration === resource.generation;
        if (drifted) {
          event(resource, 'Warning', 'DriftRepaired', `The gateway entry differed from generation ${resource.generation}; restored it.`);
        } else {
          event(resource, 'Normal', 'Applied', `Applied generation ${resource.generation} to the gateway store.`);
        }
        logger.info({ key, generation: resource.generation, drifted }, 'gateway entry applied');
      }
      store.setStatus(key, appliedStatus(resource, isoTime(clock.now())));
      return {};
    } catch (err) {
      const terminal = err instanceof TerminalError;
      const message = err instanceof Error ? err.message : String(err);
      store.setStatus(key, failedStatus(resource, terminal ? err.reason : 'ReconcileFailed', message, terminal, isoTime(clock.now())));
      event(resource, 'Warning', terminal ? err.reason : 'ReconcileFailed', message);
      logger.warn({ key, err: message, terminal }, 'reconcile failed');
      throw err;
    }
  };
}

function appliedStatus(resource: McpServerResource, now: string): ResourceStatus {
  const generation = resource.generation;
  let conditions = setCondition(
    resource.status.conditions,
    {
      type: APPLIED,
      status: 'True',
      reason: 'Applied',
      message: `The gateway store holds generation ${generation}.`,
      observedGeneration: generation,
    },
    now,
  );
  conditions = setCondition(
    conditions,
    { type: READY, status: 'True', reason: 'Ready', message: `Generation ${generation} is applied and served.`, observedGeneration: generation },
    now,
  );
  conditions = removeCondition(removeCondition(conditions, RECONCILING), STALLED);
  return { ...resource.status, observedGeneration: generation, conditions };
}

function failedStatus(resource: McpServerResource, reason: string, message: string, terminal: boolean, now: string): ResourceStatus {
  const generation = resource.generation;
  let conditions = setCondition(
    resource.status.conditions,
    { type: READY, status: 'False', reason, message, observedGeneration: generation },
    now,
  );
  conditions = terminal
    ? setCondition(removeCondition(conditions, RECONCILING), { type: STALLED, status: 'True', reason, message, observedGeneration: generation }, now)
    : setCondition(
        removeCondition(conditions, STALLED),
        { type: RECONCILING, status: 'True', reason: 'RetryingWithBackoff', message: `Retrying: ${message}`, observedGeneration: generation },
        now,
      );
  return { ...resource.status, conditions };
}
