// Large JSON answers through the data plane: relayed as the upstream's own bytes when they check as the
// answer to the request (whatever their formatting), still filtered where the gateway reads them
// (tools/list), and refused with a JSON-RPC error when they are not JSON.
import type { ServerResponse } from 'node:http';
import { rawSession, startAnswerGateway, startAnswerUpstream, type AnswerGateway, type AnswerUpstream } from './answer-upstream.js';

const TOKEN = 'large-answer-test-token-0123456789';
const TEXT = `${'x'.repeat(300_000)} grüße 🌍 \\"quoted\\" ${'y'.repeat(200_000)}`;

/** What the upstream answers to tools/call, by tool name: the body's exact text (the id is put in for ID). */
const BODIES: Record<string, string> = {
  // Formatting the gateway would never write: whitespace, the id last, escapes kept as escapes.
  big: `{ "result" : { "content" : [ { "type" : "text", "text" : "${TEXT}" } ] , "isError" : false } ,\n "jsonrpc" : "2.0" , "id" : ID }`,
  // A raw control character inside the string: not JSON.
  broken: `{"jsonrpc":"2.0","id":ID,"result":{"content":[{"type":"text","text":"${'z'.repeat(100_000)}\u0001"}]}}`,
};
const MANY_TOOLS = [...Object.keys(BODIES), ...Array.from({ length: 2000 }, (_, i) => `tool-${i}`)].map((name) => ({ name, description: 'd'.repeat(40), inputSchema: { type: 'object' } }));

let upstream: AnswerUpstream;
let gateway: AnswerGateway;

beforeAll(async () => {
  const body = (name: string) => (res: ServerResponse, id: string | number) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(BODIES[name]!.replace('ID', JSON.stringify(id)));
  };
  upstream = await startAnswerUpstream({ big: body('big'), broken: body('broken') }, MANY_TOOLS);
  gateway = await startAnswerGateway({ name: 'large', upstreamUrl: upstream.url, token: TOKEN, disabledTools: ['tool-7'] });
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
});

const session = () => rawSession(gateway);

it('relays a large answer as the upstream wrote it, byte for byte', async () => {
  const send = await session();
  const res = await send({ id: 41, method: 'tools/call', params: { name: 'big', arguments: {} } });
  expect(res.headers.get('content-type')).toBe('application/json');
  const body = Buffer.from(await res.arrayBuffer());
  expect(body.equals(Buffer.from(BODIES.big!.replace('ID', '41'), 'utf8'))).toBe(true);
  expect((JSON.parse(body.toString('utf8')) as { result: { content: { text: string }[] } }).result.content[0]!.text).toBe(JSON.parse(`"${TEXT}"`));
});

it('still reads a large answer where the gateway applies the manifest (tools/list without disabled tools)', async () => {
  const send = await session();
  const res = await send({ id: 'list-1', method: 'tools/list' });
  const answer = (await res.json()) as { id: string; result: { tools: { name: string }[] } };
  expect(answer.id).toBe('list-1');
  const names = answer.result.tools.map((t) => t.name);
  expect(names).toHaveLength(MANY_TOOLS.length - 1);
  expect(names).not.toContain('tool-7');
  expect(names).toContain('tool-1999');
});

it('answers a large answer that is not JSON with a JSON-RPC error for that request', async () => {
  const send = await session();
  const res = await send({ id: 43, method: 'tools/call', params: { name: 'broken', arguments: {} } });
  const answer = (await res.json()) as { id: number; error?: { message: string } };
  expect(answer.id).toBe(43);
  expect(answer.error?.message).toMatch(/not JSON/);
});
