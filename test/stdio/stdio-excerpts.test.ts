// What a stdio server says (its error messages, its stderr) reaches a status only bounded and sanitised,
// with the values of its env redacted.
import { silentLogger } from '../../src/domain/logger.js';
import { StdioPolicy } from '../../src/stdio/stdio-policy.js';
import { StdioSupervisor } from '../../src/stdio/stdio-supervisor.js';

const SECRET = 'stdio-env-secret-4f2a9c7e';

/** Answers initialize, then: tools/list with an error echoing its API_KEY in a huge message (or, with "crash", exits after saying it on stderr). */
const SCRIPT = `
const { createInterface } = require('node:readline');
const send = (m) => process.stdout.write(JSON.stringify(m) + '\\n');
createInterface({ input: process.stdin }).on('line', (line) => {
  const m = JSON.parse(line);
  if (m.id === undefined) return;
  if (m.method === 'initialize') return send({ jsonrpc: '2.0', id: m.id, result: { protocolVersion: m.params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'echo', version: '1' } } });
  if (process.argv[1] === 'crash') {
    process.stderr.write('fatal: key ' + process.env.API_KEY + ' rejected\\n' + 'y'.repeat(5000) + '\\nlast words of ' + process.env.API_KEY + '\\n');
    return process.exit(3);
  }
  send({ jsonrpc: '2.0', id: m.id, error: { code: -32000, message: 'key ' + process.env.API_KEY + ' rejected ' + 'x'.repeat(100000) } });
});`;

let supervisor: StdioSupervisor;
beforeEach(() => {
  supervisor = new StdioSupervisor({
    policy: new StdioPolicy({ enabled: true, allow: [process.execPath] }),
    logger: silentLogger,
    maxMessageBytes: 1024 * 1024,
    restartBaseMs: 60_000,
  });
});
afterEach(async () => {
  await supervisor.close();
});

const spec = (mode: string) => ({ command: process.execPath, args: ['-e', SCRIPT, mode], env: { API_KEY: SECRET } });

it('an error message echoing the env and 100 KB long: a bounded excerpt, the secret redacted', async () => {
  const result = await supervisor.discover('default:mcp-server:echo', spec('error'), { timeoutMs: 30_000 });
  expect(result).toMatchObject({ ok: false, reason: 'ProtocolError', message: expect.stringContaining('tools/list failed: key [redacted] rejected') });
  const failure = result as { message: string; authStatus: { message: string } };
  expect(failure.message).not.toContain(SECRET);
  expect(failure.message.length).toBeLessThanOrEqual(1000);
  expect(failure.authStatus.message.length).toBeLessThanOrEqual(240);
}, 30_000);

it('a crash: the stderr tail in the message is sanitised and bounded, the secret redacted', async () => {
  const result = await supervisor.discover('default:mcp-server:crash', spec('crash'), { timeoutMs: 30_000 });
  expect(result).toMatchObject({ ok: false, message: expect.stringContaining('last words of [redacted]') });
  const failure = result as { message: string };
  expect(failure.message).not.toContain(SECRET);
  expect(failure.message).not.toMatch(/[\n\r]/);
  expect(failure.message.length).toBeLessThanOrEqual(1000);
}, 30_000);
