// A small JSON answer (up to 16 KiB) goes to the client with its head in one write, as latin1 text of the
// upstream's bytes: the client gets those bytes exactly (multi-byte UTF-8, the upstream's own spacing and key
// order, a body that came in pieces), with a Content-Length that counts bytes; a larger one goes as bytes.
import { startAnswerGateway, startAnswerUpstream, rawSession, writeInChunks, type AnswerGateway, type AnswerUpstream } from './answer-upstream.js';

const TOKEN = 'small-answer-bytes-token-0123456789';
const TEXT = 'grüße 🌍 — ☃ \\"quoted\\" ÿ\\u0000';

/** The upstream's own formatting: spaces, a key order of its own, non-ASCII text; `pad` more bytes of text. */
function bytesOf(id: string | number, pad: number): Buffer {
  return Buffer.from(`{ "result" : { "content" : [ { "type":"text", "text":"${TEXT}${'p'.repeat(pad)}" } ] },\n "id" : ${JSON.stringify(id)}, "jsonrpc" : "2.0" }`, 'utf8');
}

let upstream: AnswerUpstream;
let gateway: AnswerGateway;

beforeAll(async () => {
  const declared = (pad: number) => (res: import('node:http').ServerResponse, id: string | number) => {
    const body = bytesOf(id, pad);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
    res.end(body);
  };
  upstream = await startAnswerUpstream({
    small: declared(0),
    edge: declared(16 * 1024 - bytesOf(1, 0).length),
    over: declared(16 * 1024 - bytesOf(1, 0).length + 1),
    pieces: (res, id) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // Cut inside a multi-byte character: the gateway joins the pieces, the bytes stay the same.
      void writeInChunks(res, bytesOf(id, 0), 5).then(() => res.end());
    },
  });
  gateway = await startAnswerGateway({ name: 'small-bytes', upstreamUrl: upstream.url, token: TOKEN });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

it.each([
  ['small', 0],
  ['edge', 16 * 1024 - bytesOf(1, 0).length],
  ['over', 16 * 1024 - bytesOf(1, 0).length + 1],
  ['pieces', 0],
])('relays the upstream bytes of a %s answer exactly', async (tool, pad) => {
  const send = await rawSession(gateway);
  const id = `call-${tool}-é`;
  const res = await send({ id, method: 'tools/call', params: { name: tool, arguments: {} } });
  expect(res.headers.get('content-type')).toBe('application/json');
  const body = Buffer.from(await res.arrayBuffer());
  const expected = bytesOf(id, pad);
  expect(body.equals(expected)).toBe(true);
  expect(res.headers.get('content-length')).toBe(String(expected.length));
  expect((JSON.parse(body.toString('utf8')) as { result: { content: { text: string }[] } }).result.content[0]!.text.startsWith('grüße 🌍 — ☃ "quoted" ÿ\u0000')).toBe(true);
});
