// The body of the WAL checkpointer (see checkpointer.ts): a connection of its own to the database file at
// synchronous=NORMAL, under which a checkpoint in WAL mode fsyncs the WAL before it copies frames into the
// database file and the database file before the WAL may start over. Each message 'checkpoint' is answered
// with the result of PRAGMA wal_checkpoint(PASSIVE), which waits for neither the writer nor the readers;
// 'close' closes the connection (never the last one: the store's stays open until the worker ended).
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

/** ok: PRAGMA wal_checkpoint's row; else the error and SQLite's extended code (SQLITE_IOERR_FSYNC, ...) if it had one. */
export type CheckpointAnswer = { ok: true; busy: number; log: number; checkpointed: number } | { ok: false; error: string; code?: string };

const db = new Database((workerData as { path: string }).path, { fileMustExist: true });
db.pragma('synchronous = NORMAL');

parentPort!.on('message', (message: 'checkpoint' | 'close') => {
  if (message === 'close') {
    db.close();
    parentPort!.close();
    return;
  }
  let answer: CheckpointAnswer;
  try {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    answer = { ok: true, busy: row!.busy, log: row!.log, checkpointed: row!.checkpointed };
  } catch (err) {
    answer = { ok: false, error: err instanceof Error ? err.message : String(err), code: (err as { code?: unknown }).code as string | undefined };
  }
  parentPort!.postMessage(answer);
});
