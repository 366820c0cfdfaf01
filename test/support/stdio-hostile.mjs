// A hostile MCP server over stdio, without the SDK: it answers initialize, then answers tools/list
// with one line that never ends (argv[2] "endless-line") or with MAX_TOOLS + 1 tools (argv[2] "many-tools").
import { createInterface } from 'node:readline';

const mode = process.argv[2];
const send = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const message = JSON.parse(line);
  if (message.id === undefined) return;
  if (message.method === 'initialize') {
    return send({ jsonrpc: '2.0', id: message.id, result: { protocolVersion: message.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'stdio-hostile', version: '1.0.0' } } });
  }
  if (message.method === 'tools/list' && mode === 'endless-line') {
    process.stdout.write(`{"jsonrpc":"2.0","id":${JSON.stringify(message.id)},"result":{"tools":[`);
    const chunk = `{"name":"t","inputSchema":{"type":"object"}},`.repeat(300);
    const write = () => {
      while (process.stdout.write(chunk));
      process.stdout.once('drain', write);
    };
    return write();
  }
  if (message.method === 'tools/list' && mode === 'many-tools') {
    const tools = Array.from({ length: Number(process.argv[3]) }, (_, i) => ({ name: `t${i}`, inputSchema: { type: 'object' } }));
    return send({ jsonrpc: '2.0', id: message.id, result: { tools } });
  }
  send({ jsonrpc: '2.0', id: message.id, error: { code: -32601, message: 'Method not found' } });
});
process.stdout.on('error', () => process.exit(0));
