// A small MCP server over stdio, built with the SDK, for the mcp-server/stdio tests. Run it with node.
// Tools: echo (its arguments back), env_keys (the names of its environment variables, sorted; values are
// never answered), pid (its process id), slow (answers after `ms` milliseconds).
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const tools = [
  { name: 'echo', description: 'Answers its arguments.', inputSchema: { type: 'object', properties: { text: { type: 'string' } } } },
  { name: 'env_keys', description: 'The names of the environment variables the process got.', inputSchema: { type: 'object', properties: {} } },
  { name: 'pid', description: 'The process id.', inputSchema: { type: 'object', properties: {} } },
  { name: 'slow', description: 'Answers after ms milliseconds.', inputSchema: { type: 'object', properties: { ms: { type: 'number' } } } },
];

const server = new Server({ name: 'test-stdio-server', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
server.setRequestHandler(CallToolRequestSchema, async (request) => {
  const args = request.params.arguments ?? {};
  const text = (value) => ({ content: [{ type: 'text', text: JSON.stringify(value) }] });
  switch (request.params.name) {
    case 'echo':
      return text(args);
    case 'env_keys':
      return text(Object.keys(process.env).sort());
    case 'pid':
      return text(process.pid);
    case 'slow':
      await new Promise((resolve) => setTimeout(resolve, Number(args.ms ?? 100)));
      return text({ slept: Number(args.ms ?? 100) });
    default:
      throw new Error(`Unknown tool: ${request.params.name}`);
  }
});

await server.connect(new StdioServerTransport());
// A line on stderr, as real servers write; the supervisor keeps a redacted tail for messages.
process.stderr.write(`test-stdio-server ready (pid ${process.pid})\n`);
