// The reconciler's port: status and events, never the spec.
import type { ResourceStatus } from '../domain/resource.js';
import type { EventRecorder } from './event-log.js';

export interface StatusWriter extends EventRecorder {
  /**
   * Writes status only when it differs from the stored one; answers the resource's resourceVersion
   * afterwards (undefined: no such resource). With `expect`, writes only while the stored resource still
   * has that id and generation (else undefined). Answers no resource: a reconcile writes one status per
   * key and needs none, and decoding one (secrets decrypted) would cost more than the write.
   */
  setStatus(fqn: string, status: ResourceStatus, expect?: { id: string; generation: number }): Promise<number | undefined>;
}
