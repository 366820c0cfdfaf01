// What an acknowledged write survives, chosen with --durability (SQLite: `synchronous` in WAL mode).
// - full (the default): each commit is on disk (the WAL fsynced, off the event loop: sqlite/wal-sync.ts)
//   before the write is acknowledged; it survives a crash of the process, of the OS, and power loss.
// - normal: the WAL is fsynced only at checkpoints; a commit survives a crash of the process, but the
//   last ones may be lost to an OS crash or power loss (the file stays consistent either way).
// PostgreSQL commits with the server's synchronous_commit; this setting does not apply to it.
export type Durability = 'full' | 'normal';

export const DURABILITIES: readonly Durability[] = ['full', 'normal'];
