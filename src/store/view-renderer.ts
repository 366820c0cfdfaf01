// The API's text of a resource (its "view"), kept by the store beside each row so a read answers it
// without decoding. The store calls the renderer at every write and keeps what it answers as an opaque
// column: the format belongs to the renderer (src/http/resource-view.ts), never to the store.
import type { ResourceStatus } from '../domain/resource.js';

/** A stored resource as the store holds it: the JSON columns as texts, so rendering decodes no manifest. */
export interface StoredResourceText {
  id: string;
  fqn: string;
  name: string;
  /** JSON of the masked manifest (the spec column). */
  spec: string;
  /** JSON of createdBy, source and metadata. */
  createdBy: string;
  source: string;
  metadata: string;
  accountId: string;
  createdAt: string;
  updatedAt: string;
  generation: number;
}

export interface ViewRenderer {
  /** Changes with the rendered text: a store opened on views of another format renders every row again. */
  readonly format: number;
  render(stored: StoredResourceText, status: ResourceStatus, resourceVersion: number): string;
}
