// GitOps' port: which resources each watched directory (and file) manages, and the records of the
// files it applied cleanly.
import type { ResourceRef, SourceFileRecord } from './types.js';

export interface SourceInventory {
  /**
   * The refs of the resources a watched directory (absolute path) manages, by name, as stored now (other
   * writers' commits included). A live view, not a copy: it follows this store object's writes that come
   * after, until a rolled-back transaction or another writer's commit makes the store rebuild its index
   * (after which it stays as it was): ask again rather than keep it. Read-only.
   */
  fileRefs(tenant: string, root: string): ReadonlyMap<string, ResourceRef>;
  /** The refs of the resources one file (path relative to root) of a watched directory manages. */
  fileRefsAt(tenant: string, root: string, path: string): ResourceRef[];
  /** The SourceFileRecords of a watched directory (its absolute path). */
  sourceFiles(root: string): SourceFileRecord[];
  /**
   * Records files of a watched directory (a record) or forgets them (null). A record equal to the
   * stored one is not written again.
   */
  recordSourceFiles(root: string, files: ReadonlyMap<string, Omit<SourceFileRecord, 'path'> | null>): void;
}
