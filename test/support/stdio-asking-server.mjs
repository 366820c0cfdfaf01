// A small MCP server over stdio, built with the SDK, that asks its client things during a tool call: ask
// (sampling/createMessage; answers the text the client's model gave), elicit (elicitation/create; answers
// the content the client gave), roots (roots/list; answers the roots' URIs), slow (answers after `ms`
// milliseconds). A request the gateway refuses makes the tool answer isError with the refusal's message.
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const object = { type: 'object', properties: {} };
const tools = [
  { name: 'ask', description: 'Asks the client for a completion.', inputSchema: object },
  { name: 'elicit', description: 'Asks the client for a name.', inputSchema: object },
  { name: 'roots', description: "Lists the client's roots.", inputSchema: object },
  { name: 'slow', description: 'Answers after ms milliseconds.', inputSchema: { type: 'object', properties: { ms: { type: 'number' } } } },
];

const server = new Server({ name: 'test-stdio-asking-server', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, () => ({ tools }));
server.setRequestHandler(CallToolRequestSchema, async (request) => {
  const text = (value) => ({ content: [{ type: 'text', text: typeof value === 'string' ? value : JSON.stringify(value) }] });
  try {
    switch (request.params.name) {
      case 'ask': {
        const answer = await server.createMessage({ messages: [{ role: 'user', content: { type: 'text', text: 'Say hello.' } }], maxTokens: 10 });
        return text(answer.content.text);
      }
      case 'elicit': {
        const answer = await server.elicitInput({ message: 'Your name?', requestedSchema: { type: 'object', properties: { name: { type: 'string' } } } });
        return text(answer.content);
      }
      case 'roots':
        return text((await server.listRoots()).roots.map((r) => r.uri));
      case 'slow':
        await new Promise((resolve) => setTimeout(resolve, Number(request.params.arguments?.ms ?? 100)));
        return text('slept');
      default:
        throw new Error(`Unknown tool: ${request.params.name}`);
    }
  } catch (error) {
    return { isError: true, content: [{ type: 'text', text: error instanceof Error ? error.message : String(error) }] };
  }
});

await server.connect(new StdioServerTransport());
