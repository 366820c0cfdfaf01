// The check that keeps a running replica of an older build from doing leader work on a schema a newer
// build migrated. A replica refuses to start on a newer schema (migrate, migrations.ts); one that was
// already running when the newer build migrated is stopped here. Its leader checks the recorded schema
// version (one read):
//
// - on each leadership acquisition, before any other leader work starts (`work`, the first work item);
// - before each round of schema-sensitive housekeeping (pruning the changelog, events, revisions and the
//   replicas table), in that round's transaction (`check(client)`).
//
// On a newer schema it logs `schema version N is newer than this build's M: stop this replica` (once),
// gives the lease up and stops campaigning (`stepDown`: the replica never leads again), and check()
// throws SchemaTooNewError: the housekeeping round prunes nothing, the leader work does not start. The
// composition root then ends the process (`movedOn` says why, exit 2); restarted, the replica refuses to start.
import type { Logger } from '../domain/logger.js';
import type { Queryable } from '../store/postgres/connection.js';
import { POSTGRES_SCHEMA_VERSION, SchemaTooNewError, schemaVersion } from '../store/postgres/migrations.js';
import type { LeaderWork } from './cluster-role.js';

export interface SchemaGuardOptions {
  /** Where a check outside a transaction reads (the pool). */
  db: Queryable;
  logger: Logger;
  /** Gives the lease up for good (the elector's stop()). Called once, not awaited. */
  stepDown: () => Promise<void> | void;
  /** The newest schema version this build knows. Default POSTGRES_SCHEMA_VERSION. */
  known?: number;
}

export class SchemaGuard {
  private readonly known: number;
  private found: SchemaTooNewError | undefined;

  constructor(private readonly options: SchemaGuardOptions) {
    this.known = options.known ?? POSTGRES_SCHEMA_VERSION;
  }

  /** The first leader work item: the check, on each acquisition. */
  readonly work: LeaderWork = { name: 'schema version check', start: () => this.check(), stop: () => undefined };

  /** The newer schema a check found (this replica stepped down for it), or undefined. */
  get movedOn(): SchemaTooNewError | undefined {
    return this.found;
  }

  /** Throws SchemaTooNewError (and steps down, see above) when the database's schema is newer than this build's. */
  async check(client: Queryable = this.options.db): Promise<void> {
    const current = await schemaVersion(client);
    if (current <= this.known) return;
    if (!this.found) {
      this.found = new SchemaTooNewError(current, this.known);
      this.options.logger.error(
        { schemaVersion: current, buildSchemaVersion: this.known },
        `schema version ${current} is newer than this build's ${this.known}: stop this replica`,
      );
      void Promise.resolve()
        .then(() => this.options.stepDown())
        .catch((err: unknown) => this.options.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'could not give the leader lease up'));
    }
    throw this.found;
  }
}
