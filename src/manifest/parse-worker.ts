// The body of a parse worker (see parse-pool.ts): answers each { id, text, format } with the text's
// documents, or with the message of what went wrong.
import { parentPort } from 'node:worker_threads';
import { readManifestDocuments } from './manifest-documents.js';

export interface ParseRequest {
  id: number;
  text: string;
  format: 'yaml' | 'json';
}

export type ParseAnswer = { id: number; documents: ReturnType<typeof readManifestDocuments> } | { id: number; error: string };

parentPort?.on('message', (request: ParseRequest) => {
  let answer: ParseAnswer;
  try {
    answer = { id: request.id, documents: readManifestDocuments(request.text, request.format) };
  } catch (err) {
    answer = { id: request.id, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(answer);
});
