// GitOps' port: which resources each watched directory (and file) manages, and the records of the
// files it applied cleanly.
import type { ResourceRef, SourceFileRecord } from './types.js';

export interface SourceInventory {
  /**
   * The refs of the resources a watched directory (absolute path) manages, by name, as stored now (other
   * writers' commits included). An engine may answer a live view of its index rather than a copy: ask
   * again after a write rather than keep it. Read-only.
   */
  fileRefs(tenant: string, root: string): Promise<ReadonlyMap<string, ResourceRef>>;
  /** The refs of the resources one file (path relative to root) of a watched directory manages. */
  fileRefsAt(tenant: string, root: string, path: string): Promise<ResourceRef[]>;
  /** The SourceFileRecords of a watched directory (its absolute path). */
  sourceFiles(root: string): Promise<SourceFileRecord[]>;
  /**
   * Records files of a watched directory (a record) or forgets them (null). A record equal to the
   * stored one is not written again.
   */
  recordSourceFiles(root: string, files: ReadonlyMap<string, Omit<SourceFileRecord, 'path'> | null>): Promise<void>;
}
