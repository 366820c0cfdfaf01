// Which client a stdio server's own request (roots/list, sampling, elicitation) goes to: only the one
// session attached to the process; with several attached nobody is asked (the server gets an error naming
// why), whichever of them has a call in flight; and the requests waiting for a client are bounded.
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { MAX_WAITING_SERVER_REQUESTS, StdioMultiplexer, type MultiplexedProcess } from '../../src/stdio/stdio-multiplexer.js';

/** The process side in memory: what the multiplexer wrote to it. */
function fakeProcess(): MultiplexedProcess & { written: JSONRPCMessage[] } {
  const written: JSONRPCMessage[] = [];
  return {
    written,
    ready: async () => ({ protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 'p', version: '1' } }),
    write: (m) => void written.push(m),
    isReady: () => true,
    secrets: () => [],
  };
}

const ROOTS = { roots: { listChanged: false } };

async function attach(mux: StdioMultiplexer, received: JSONRPCMessage[]) {
  const session = mux.openSession();
  session.onmessage = (m) => void received.push(m);
  await session.send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: ROOTS, clientInfo: { name: 'c', version: '1' } } });
  return session;
}

function answerTo(process: { written: JSONRPCMessage[] }, id: number | string) {
  return process.written.find((m) => 'id' in m && m.id === id && !('method' in m)) as { error?: { message: string }; result?: unknown } | undefined;
}

it("refuses the server's roots/list while two sessions are attached, though only one has a call in flight", async () => {
  const process = fakeProcess();
  const mux = new StdioMultiplexer(process);
  const a: JSONRPCMessage[] = [];
  const b: JSONRPCMessage[] = [];
  const sessionA = await attach(mux, a);
  const sessionB = await attach(mux, b);
  // A's call is answered; B's is in flight.
  await sessionA.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 't', arguments: {} } });
  const aCall = process.written.at(-1) as { id: number };
  mux.route({ jsonrpc: '2.0', id: aCall.id, result: { content: [] } });
  await sessionB.send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 't', arguments: {} } });

  mux.route({ jsonrpc: '2.0', id: 'server-1', method: 'roots/list', params: {} });
  expect(b.filter((m) => 'method' in m && m.method === 'roots/list')).toEqual([]);
  expect(a.filter((m) => 'method' in m && m.method === 'roots/list')).toEqual([]);
  expect(answerTo(process, 'server-1')?.error?.message).toMatch(/cannot tell which client this roots\/list request is for \(2 client sessions share this stdio server\)/);
});

it('sends it to the one session attached, and bounds the requests waiting for its answer', async () => {
  const process = fakeProcess();
  const mux = new StdioMultiplexer(process);
  const only: JSONRPCMessage[] = [];
  await attach(mux, only);
  for (let i = 0; i < 200; i++) mux.route({ jsonrpc: '2.0', id: `s${i}`, method: 'roots/list', params: {} });
  const asked = only.filter((m) => 'method' in m && m.method === 'roots/list').length;
  expect(asked).toBe(MAX_WAITING_SERVER_REQUESTS);
  expect(answerTo(process, 's199')?.error?.message).toMatch(/requests of this server already wait for their client/);
});
