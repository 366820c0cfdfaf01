// A stdio server that writes one endless line is killed at the cap (not read into memory), and its
// discovery fails with ResponseTooLarge; one that lists too many tools fails the same way.
import { join } from 'node:path';
import { silentLogger } from '../../src/domain/logger.js';
import { MAX_TOOLS } from '../../src/upstream/index.js';
import { LineReader, LineTooLongError } from '../../src/stdio/line-reader.js';
import { StdioPolicy } from '../../src/stdio/stdio-policy.js';
import { StdioSupervisor } from '../../src/stdio/stdio-supervisor.js';

const SCRIPT = join(import.meta.dirname, '..', 'support', 'stdio-hostile.mjs');

describe('LineReader', () => {
  it('splits lines (LF and CRLF) however the bytes are chunked, multi-byte UTF-8 included', () => {
    const bytes = Buffer.from('{"a":"grüße 🌍"}\r\n\n{"b":2}\n{"c"', 'utf8');
    for (let cut = 0; cut <= bytes.length; cut++) {
      const lines: string[] = [];
      const reader = new LineReader(1024, (line) => lines.push(line));
      reader.push(bytes.subarray(0, cut));
      reader.push(bytes.subarray(cut));
      expect(lines).toEqual(['{"a":"grüße 🌍"}', '', '{"b":2}']);
    }
  });

  it('throws once a line passes the cap, before its newline comes', () => {
    const reader = new LineReader(100, () => undefined);
    reader.push(Buffer.alloc(100, 0x61));
    expect(() => reader.push(Buffer.from('a'))).toThrow(LineTooLongError);
    const fresh = new LineReader(10, () => undefined);
    fresh.push(Buffer.from('0123456789\n0123456789\n'));
    expect(() => fresh.push(Buffer.from('0123456789x'))).toThrow('wrote a line longer than 10 bytes');
  });
});

describe('a hostile stdio server', () => {
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

  it('an endless line: killed at the cap, ResponseTooLarge', async () => {
    const result = await supervisor.discover('default:mcp-server:endless', { command: process.execPath, args: [SCRIPT, 'endless-line'], env: {} }, { timeoutMs: 60_000 });
    expect(result).toMatchObject({ ok: false, reason: 'ResponseTooLarge', message: expect.stringContaining('wrote a line longer than 1048576 bytes (--upstream-max-message-bytes)') });
  }, 30_000);

  it(`more than ${MAX_TOOLS} tools: ResponseTooLarge, saying how many are kept`, async () => {
    const result = await supervisor.discover(
      'default:mcp-server:many',
      { command: process.execPath, args: [SCRIPT, 'many-tools', String(MAX_TOOLS + 1)], env: {} },
      { timeoutMs: 60_000 },
    );
    expect(result).toMatchObject({ ok: false, reason: 'ResponseTooLarge', message: expect.stringContaining(`keeps at most ${MAX_TOOLS}`) });
  }, 30_000);
});
