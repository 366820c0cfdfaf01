// `npm start` runs the server with the process settings that bound its resident memory, which only a
// process start can set: glibc's malloc arenas (MALLOC_ARENA_MAX, 2 unless the environment says
// otherwise) and the main isolate's young generation (node --max-semi-space-size=4). Read back from the
// running server process (Linux /proc).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPackage, type BuiltPackage } from '../support/built-package.js';
import { waitFor } from '../support/control-plane.js';

const SLOW = 180_000;
const linux = process.platform === 'linux';

let built: BuiltPackage;
let dir: string;
const started: ChildProcess[] = [];
beforeAll(() => {
  built = buildPackage();
}, SLOW);
afterAll(() => built?.dispose());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mcpctl-start-'));
});
afterEach(async () => {
  for (const c of started.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      c.kill('SIGTERM');
      await new Promise((r) => c.once('exit', r));
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `npm start` with env; answers the server's environment and command line once it serves. */
async function startAndInspect(env: NodeJS.ProcessEnv): Promise<{ environ: string[]; argv: string[] }> {
  const dataDir = join(dir, 'data');
  const child = spawn('npm', ['start', '--', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--no-manifests'], {
    cwd: built.root,
    env: { ...process.env, MCPCTL_TOKEN: '', MALLOC_ARENA_MAX: undefined, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  started.push(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  await waitFor(() => /serving on http:\/\//.test(stderr), { timeoutMs: 120_000, what: `"serving on"; stderr: ${stderr}` });
  const pid = Number(readFileSync(join(dataDir, 'lock'), 'utf8').trim());
  expect(existsSync(`/proc/${pid}`)).toBe(true);
  const read = (file: string) => readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\0').filter(Boolean);
  return { environ: read('environ'), argv: read('cmdline') };
}

(linux ? describe : describe.skip)('npm start', () => {
  it(
    'runs the server with 2 malloc arenas and a 4 MiB semi-space',
    async () => {
      const { environ, argv } = await startAndInspect({});
      expect(environ).toContain('MALLOC_ARENA_MAX=2');
      expect(argv).toContain('--max-semi-space-size=4');
      expect(argv.some((a) => a.endsWith('mcpctl.js'))).toBe(true);
      expect(argv).toContain('serve');
    },
    SLOW,
  );

  it(
    'keeps a MALLOC_ARENA_MAX the environment sets',
    async () => {
      const { environ } = await startAndInspect({ MALLOC_ARENA_MAX: '4' });
      expect(environ).toContain('MALLOC_ARENA_MAX=4');
      expect(environ).not.toContain('MALLOC_ARENA_MAX=2');
    },
    SLOW,
  );
});
