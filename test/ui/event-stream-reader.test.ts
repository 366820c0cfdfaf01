// The status page reads its watch stream in the browser with its own copy of the event stream parser
// (it cannot import src/). That copy must read what the server's one parser (src/domain/sse-parser.ts)
// reads, however the bytes are chunked: both run here on the same streams.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SseParser } from '../../src/domain/sse-parser.js';

const APP = readFileSync(join(process.cwd(), 'src', 'http', 'ui', 'app.js'), 'utf8');

type Reader = (body: ReadableStream<Uint8Array>, onEvent: (e: { id: string | undefined; data: string }) => void) => Promise<void>;

/** The page's readEventStream, taken from app.js as it is. */
function pageReader(): Reader {
  const start = APP.indexOf('async function readEventStream(');
  expect(start).toBeGreaterThan(-1);
  const end = APP.indexOf('\n}\n', start) + 2;
  return new Function(`${APP.slice(start, end)}\nreturn readEventStream;`)() as Reader;
}

function chunked(bytes: Buffer, sizes: number[]): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      const size = sizes[i++ % sizes.length]!;
      controller.enqueue(new Uint8Array(bytes.subarray(at, at + size)));
      at += size;
    },
  });
}

const STREAM = Buffer.from(
  [
    ': a comment\n',
    'id: 1\ndata: {"type":"ADDED","name":"é☃𝄞"}\n\n',
    'data: line one\r\ndata: line two\r\n\r\n', // CRLF; no id: the last one carries over
    'id: 3\rdata: cr only\r\r',
    'event: other\nid: 4\ndata:no space\n\n',
    'id: 5\n\n', // no data: no event, but the id moves on
    `data: ${'x'.repeat(3000)}\n\n`, // a line longer than any chunk
    'data: unterminated',
  ].join(''),
  'utf8',
);

function serverEvents(): { id: string | undefined; data: string }[] {
  const events: { id: string | undefined; data: string }[] = [];
  new SseParser({ onEvent: ({ id, data }) => void events.push({ id, data }) }).push(STREAM);
  return events;
}

it.each([[[1]], [[2, 3]], [[7]], [[1024]], [[STREAM.length]], [[1, 13, 64, 5]]])('reads what the server parser reads, in chunks of %j bytes', async (sizes) => {
  const events: { id: string | undefined; data: string }[] = [];
  await pageReader()(chunked(STREAM, sizes), (e) => void events.push(e));
  const expected = serverEvents();
  expect(expected.map((e) => e.id)).toEqual(['1', '1', '3', '4', '5']);
  expect(events).toEqual(expected);
});
