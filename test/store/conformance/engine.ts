// What the store conformance suite runs against: a factory of store engines. Each engine answers both
// stores over one set of data, and optionally a second connection to the same data (another replica).
// The suite awaits every port call, so it runs unchanged whether an engine answers values or promises.
import type { Clock } from '../../../src/domain/clock.js';
import type { CredentialStore, GatewayStore, ResourceStore, SecretCodec } from '../../../src/store/index.js';

export interface StoreConnection {
  resources: ResourceStore;
  gateway: GatewayStore;
  credentials: CredentialStore;
}

export interface StoreEngine extends StoreConnection {
  /** Another connection to the same data, as another replica would hold it; undefined when the engine has none. */
  connect?(): Promise<StoreConnection>;
  /** The rows of a table as the database holds them (to look at what is at rest), in no promised order. */
  rawRows(table: string): Promise<Record<string, unknown>[]>;
  /** Closes every connection and drops the data. */
  dispose(): Promise<void>;
}

export interface StoreEngineOptions {
  clock: Clock;
  secretCodec?: SecretCodec;
  /** Events kept per resource. */
  eventMaxPerResource?: number;
  /** Generations kept per resource. */
  revisionHistory?: number;
  /** How long a removed resource's revisions are kept. */
  revisionRetentionMs?: number;
  /** The changelog keeps at least this many entries and every entry younger than changelogMinAgeMs... */
  changelogMinEntries?: number;
  changelogMinAgeMs?: number;
  /** ...pruned by housekeeping after every this many writes (the engine's leader-side housekeeping on). */
  housekeepingEveryWrites?: number;
}

export interface StoreEngineFactory {
  name: string;
  open(options: StoreEngineOptions): Promise<StoreEngine>;
}
