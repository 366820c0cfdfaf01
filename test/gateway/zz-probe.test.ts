import { Agent, request } from 'node:http';
import type { ServerResponse } from 'node:http';
import { startAnswerGateway, startAnswerUpstream } from './answer-upstream.js';
const TEXT = 'x'.repeat(500_000);
const BIG = `{ "result" : { "content" : [ { "type" : "text", "text" : "${TEXT}" } ] , "isError" : false } ,\n "jsonrpc" : "2.0" , "id" : ID }`;
const TOOLS = ['big', ...Array.from({ length: 2000 }, (_, i) => `tool-${i}`)].map((name) => ({ name, description: 'd'.repeat(40), inputSchema: { type: 'object' } }));
it('probe', async () => {
  const upstream = await startAnswerUpstream({ big: (res: ServerResponse, id) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(BIG.replace('ID', JSON.stringify(id))); } }, TOOLS);
  const gateway = await startAnswerGateway({ name: 'large', upstreamUrl: upstream.url, token: 'tok-0123456789abcdef0123', disabledTools: ['tool-7'] });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const events: string[] = [];
  const t0 = Date.now();
  const post = (headers: Record<string, string>, body: object) => new Promise<{ h: Record<string, unknown>; n: number }>((resolve, reject) => {
    const req = request(gateway.base, { method: 'POST', agent, headers: { authorization: 'Bearer tok-0123456789abcdef0123', 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } }, (res) => {
      let n = 0; res.on('data', (c) => (n += c.length)); res.on('end', () => resolve({ h: res.headers, n }));
    });
    req.on('socket', (s) => { if (!(s as any).probed) { (s as any).probed = true; events.push(`${Date.now() - t0} new socket`); s.on('end', () => events.push(`${Date.now() - t0} server FIN`)); s.on('close', () => events.push(`${Date.now() - t0} closed`)); } });
    req.on('error', reject);
    req.end(JSON.stringify({ jsonrpc: '2.0', ...body }));
  });
  for (const method of ['big', 'list', 'big']) {
    const init = await post({}, { id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } });
    const sh = { 'mcp-session-id': String(init.h['mcp-session-id']), 'mcp-protocol-version': '2025-06-18' };
    await post(sh, { method: 'notifications/initialized' });
    const r = method === 'big' ? await post(sh, { id: 41, method: 'tools/call', params: { name: 'big', arguments: {} } }) : await post(sh, { id: 'l', method: 'tools/list' });
    events.push(`${Date.now() - t0} ${method} answered ${r.n} bytes`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  console.log(events.join('\n'));
  agent.destroy();
  await gateway.close(); await upstream.close();
}, 60000);
