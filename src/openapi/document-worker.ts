// The worker thread of document-parser.ts: parses one document at a time (parse-document.ts) and asks the
// main thread for every document it has to read.
import { parentPort } from 'node:worker_threads';
import { parseDocument, ReadFailed } from './parse-document.js';
import type { WorkerAnswer, WorkerRequest } from './document-parser.js';

const port = parentPort!;
const reads = new Map<number, (answer: Extract<WorkerRequest, { kind: 'read-answer' }>) => void>();
let nextRead = 0;

port.on('message', (message: WorkerRequest) => {
  if (message.kind === 'read-answer') {
    reads.get(message.readId)?.(message);
    reads.delete(message.readId);
    return;
  }
  const read = (url: string) =>
    new Promise<Uint8Array>((resolve, reject) => {
      const readId = ++nextRead;
      reads.set(readId, (answer) => (answer.data ? resolve(answer.data) : reject(new ReadFailed('read failed'))));
      port.postMessage({ kind: 'read', id: message.id, readId, url } satisfies WorkerAnswer);
    });
  void parseDocument(message.request, read, message.where).then(
    (outcome) => port.postMessage({ kind: 'done', id: message.id, outcome } satisfies WorkerAnswer),
    (error: unknown) => port.postMessage({ kind: 'done', id: message.id, outcome: { ok: false, reason: 'InvalidOpenApiDocument', message: `The document ${message.where} could not be parsed: ${String((error as Error)?.message ?? error).slice(0, 300)}` } } satisfies WorkerAnswer),
  );
});
