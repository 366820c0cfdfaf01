// A page of a list answered streamed: the JSON text `head` + items joined by commas + `tail`, the items
// read a batch at a time and written as each batch is made into text. The next batch is read only once
// the response took the last one (write() answered true, or 'drain' came), so a page holds one batch, not
// the page, whatever the client's pace; a client that is gone stops the reading.
//
// The answer is the same text as the page built whole (same bytes, same Content-Type). A page of one batch
// is sent in one piece with its Content-Length; a longer one with chunked transfer encoding. Errors: one
// before the first byte (the first batch is read before the headers are sent) is thrown to the error
// handler like any other; one after it is thrown too, and the error handler aborts the connection (see
// errors.ts), so a truncated answer never ends like a complete one: the client sees the connection fail.
import type { Response } from 'express';

/** Items read and written at a time: a 1,000-item page of ≈2.6 KB views holds ≈260 KB. */
export const PAGE_BATCH = 100;

export interface StreamedPage {
  /** The text before the items, e.g. `{"data":[`. */
  head: string;
  /** The text after them, e.g. `],"pagination":{…}}`. */
  tail: string;
  /** How many members the page has. */
  size: number;
  /** The items' JSON texts of members [from, from + count), in order (a member gone since may be left out). */
  read(from: number, count: number): Promise<readonly string[]>;
  /** Members per read; default PAGE_BATCH. */
  batch?: number;
}

export async function sendStreamedPage(res: Response, page: StreamedPage): Promise<void> {
  const batch = Math.max(1, page.batch ?? PAGE_BATCH);
  const batchAt = async (i: number) => (i < page.size ? page.read(i, Math.min(batch, page.size - i)) : []);
  let items = await batchAt(0);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  let text = page.head;
  let first = true;
  for (let i = 0; ; ) {
    if (items.length > 0) {
      text += `${first ? '' : ','}${items.join(',')}`;
      first = false;
    }
    i += batch;
    if (i >= page.size) break;
    if (!(await written(res, text))) return;
    text = '';
    items = await batchAt(i);
  }
  res.end(text + page.tail);
}

/** Writes text; answers once the response can take more (true), or false when it is gone. */
function written(res: Response, text: string): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  if (res.write(text)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const onClose = () => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
