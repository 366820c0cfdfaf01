// The revisions of each resource: one per generation, recorded by the resource writer in the same unit as
// the write that made the generation (see WriteOptions.revision), read by the API's history and by a
// rollback. A revision keeps the normalised spec with its secrets sealed as the row keeps them; the
// listing answers it masked (nothing is decrypted), getRevision with the secrets opened, for intake alone.
//
// Retention (the engine's options): the newest `revisionHistory` generations of each resource; when a
// resource is removed its revisions are kept `revisionRetentionMs` longer (read and listed by its id or
// by its name while no live resource of the name has revisions), then they are gone.
import type { Page, Revision } from './types.js';

export interface RevisionLog {
  /** The resource's revisions, newest generation first, a page at a time, and how many are kept. */
  listRevisions(resourceId: string, page: Page): Promise<{ items: Revision[]; total: number }>;
  /** One generation, with its secrets opened (a rollback applies it); undefined when not kept. */
  getRevision(resourceId: string, generation: number): Promise<Revision | undefined>;
  /** The resource id of the fqn's newest kept revision (a live resource's, else a removed one's), or undefined. */
  revisedIdOf(fqn: string): Promise<string | undefined>;
}
