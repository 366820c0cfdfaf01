// An engine of the resource store: every port at once, plus its life cycle. Only the composition root
// (main.ts) and tests hold one; every consumer is typed against the narrowest port it needs.
import type { ChangeLog } from './change-log.js';
import type { EventLog } from './event-log.js';
import type { ResourceReader } from './resource-reader.js';
import type { ResourceWriter } from './resource-writer.js';
import type { RevisionLog } from './revision-log.js';
import type { SourceInventory } from './source-inventory.js';
import type { StatusWriter } from './status-writer.js';
import type { Transactions } from './transactions.js';

export interface ResourceStore extends ResourceReader, ResourceWriter, StatusWriter, SourceInventory, ChangeLog, EventLog, RevisionLog, Transactions {
  close(): Promise<void>;
}
