// The refusal of a schema a newer build migrated. Apart from the migrations (which load the PostgreSQL client),
// so that `serve` can tell it from other start failures without loading that client on SQLite.

/** The database was migrated by a newer build: this one refuses to use it. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly databaseVersion: number,
    readonly buildVersion: number,
  ) {
    super(
      `The PostgreSQL schema is at version ${databaseVersion}, newer than this build of the control plane knows ` +
        `(up to version ${buildVersion}): a newer replica migrated it. Run the newer version of mcpctl; this one ` +
        'refuses to start rather than write to a schema it does not know.',
    );
    this.name = 'SchemaTooNewError';
  }
}
