// The body of the checkpoint thread (see checkpoint-thread.ts): one connection per lane (a database file of
// a store that shares the thread), opened at the lane's first checkpoint, at synchronous=NORMAL, under which a
// checkpoint in WAL mode fsyncs the WAL before it copies frames into the database file and the database file
// before the WAL may start over. Each 'checkpoint' is answered with the result of PRAGMA
// wal_checkpoint(PASSIVE), which waits for neither the writer nor the readers; 'close' closes the lane's
// connection (never the file's last one: the store's stays open until this one closed) and says so; 'exit'
// ends the thread (sent once no lane is open).
import Database from 'better-sqlite3';
import { parentPort } from 'node:worker_threads';

/** ok: PRAGMA wal_checkpoint's row; else the error and SQLite's extended code (SQLITE_IOERR_FSYNC, ...) if it had one. */
export type CheckpointAnswer = { ok: true; busy: number; log: number; checkpointed: number } | { ok: false; error: string; code?: string };

export type CheckpointRequest = { op: 'checkpoint'; id: number; path: string } | { op: 'close'; id: number } | { op: 'exit' };
export type CheckpointReply = { id: number; closed: true } | { id: number; closed?: undefined; answer: CheckpointAnswer };

const connections = new Map<number, Database.Database>();

function checkpoint(id: number, path: string): CheckpointAnswer {
  try {
    let db = connections.get(id);
    if (!db) {
      db = new Database(path, { fileMustExist: true });
      connections.set(id, db);
      db.pragma('synchronous = NORMAL');
    }
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    return { ok: true, busy: row!.busy, log: row!.log, checkpointed: row!.checkpointed };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err), code: (err as { code?: unknown }).code as string | undefined };
  }
}

parentPort!.on('message', (message: CheckpointRequest) => {
  switch (message.op) {
    case 'checkpoint':
      parentPort!.postMessage({ id: message.id, answer: checkpoint(message.id, message.path) } satisfies CheckpointReply);
      return;
    case 'close':
      try {
        connections.get(message.id)?.close();
      } catch {
        // Closed as far as it can be: the store's connection, the file's last, checkpoints what is left.
      }
      connections.delete(message.id);
      parentPort!.postMessage({ id: message.id, closed: true } satisfies CheckpointReply);
      return;
    case 'exit':
      for (const db of connections.values()) db.close();
      parentPort!.close();
  }
});
