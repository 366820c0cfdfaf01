// The real `npm start` / `mcpctl serve` processes: signals, the data directory lock, and a shutdown
// that stays clean when stdout/stderr are closed pipes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseServeConfig } from '../../src/config.js';
import { startControlPlane } from '../../src/main.js';
import { silentLogger } from '../../src/domain/logger.js';
import { buildPackage, type BuiltPackage } from '../support/built-package.js';
import { waitFor } from '../support/control-plane.js';

const SLOW = 180_000;

interface Spawned {
  child: ChildProcess;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(command: string, args: string[], options: { cwd?: string } = {}): Spawned {
  const child = spawn(command, args, { cwd: options.cwd ?? built.root, env: { ...process.env, MCPCTL_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return { child, stderr: () => stderr, exited };
}

async function servingPort(p: Spawned, timeoutMs = 60_000): Promise<number> {
  const match = await waitFor(() => /serving on http:\/\/127\.0\.0\.1:(\d+)/.exec(p.stderr()), { timeoutMs, what: `"serving on"; stderr: ${p.stderr()}` });
  return Number(match[1]);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = createServer();
    s.once('error', () => r(false));
    s.listen(port, '127.0.0.1', () => s.close(() => r(true)));
  });
}

const SERVE_ARGS = (dataDir: string) => ['--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--no-manifests'];

let built: BuiltPackage;
beforeAll(() => {
  built = buildPackage();
}, SLOW);
afterAll(() => built.dispose());

describe('mcpctl serve as a process', () => {
  let dir: string;
  const started: ChildProcess[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mcpctl-serve-'));
  });
  afterEach(() => {
    for (const c of started.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    // A server orphaned by a failing test would keep its pipes (and jest) open.
    const lock = join(dir, 'data', 'lock');
    const holder = existsSync(lock) ? Number(readFileSync(lock, 'utf8').trim()) : 0;
    if (holder > 0 && holder !== process.pid && isRunning(holder)) process.kill(holder, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    'npm start forwards SIGTERM: the server shuts down, nothing is orphaned, the port is free',
    async () => {
      const dataDir = join(dir, 'data');
      const npm = run('npm', ['start', '--', ...SERVE_ARGS(dataDir)]);
      started.push(npm.child);
      const port = await servingPort(npm, SLOW);
      const serverPid = Number(readFileSync(join(dataDir, 'lock'), 'utf8').trim());
      expect(isRunning(serverPid)).toBe(true);

      npm.child.kill('SIGTERM');
      const exit = await npm.exited;
      expect(exit.code).toBe(0);
      await waitFor(() => !isRunning(serverPid), { timeoutMs: 30_000, what: `the server process ${serverPid} to exit` });
      expect(await portIsFree(port)).toBe(true);
      expect(existsSync(join(dataDir, 'lock'))).toBe(false);
    },
    SLOW,
  );

  it(
    'a second serve on the same data directory exits 2 naming the PID of the first',
    async () => {
      const dataDir = join(dir, 'data');
      const first = run(process.execPath, [built.mcpctl, 'serve', ...SERVE_ARGS(dataDir)]);
      started.push(first.child);
      await servingPort(first);
      const second = run(process.execPath, [built.mcpctl, 'serve', ...SERVE_ARGS(dataDir)]);
      started.push(second.child);
      const exit = await second.exited;
      expect(exit.code).toBe(2);
      expect(second.stderr()).toContain(`in use by another control plane (PID ${first.child.pid})`);
      expect(second.stderr()).toContain('--data-dir');

      first.child.kill('SIGINT');
      expect((await first.exited).code).toBe(0);
    },
    SLOW,
  );

  it(
    'shuts down cleanly (exit 0, databases closed, no WAL files) when stdout and stderr are closed pipes',
    async () => {
      const dataDir = join(dir, 'data');
      const serve = run(process.execPath, [built.mcpctl, 'serve', ...SERVE_ARGS(dataDir)]);
      started.push(serve.child);
      await servingPort(serve);
      // The reader of the output goes away (`npm start | tee` and Ctrl-C).
      serve.child.stdout!.destroy();
      serve.child.stderr!.destroy();
      serve.child.kill('SIGTERM');
      const exit = await serve.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(readdirSync(dataDir).filter((f) => f.endsWith('-wal') || f.endsWith('-shm'))).toEqual([]);
      expect(existsSync(join(dataDir, 'lock'))).toBe(false);
    },
    SLOW,
  );
});

describe('the mcpctl binary', () => {
  const mcpctl = (args: string[]) => spawnSync(process.execPath, [built.mcpctl, ...args], { encoding: 'utf8', env: { ...process.env, MCPCTL_SERVER: 'http://127.0.0.1:9' } });

  it('answers a mistyped command with the command meant', () => {
    const r = mcpctl(['aply', '-f', 'x.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown command "aply"; did you mean "apply"?');
  });

  it('prints a bash completion script that bash parses and that completes commands and flags', () => {
    const script = mcpctl(['completion', 'bash']);
    expect(script.status).toBe(0);
    const parsed = spawnSync('bash', ['-n'], { input: script.stdout, encoding: 'utf8' });
    expect(parsed.stderr).toBe('');
    expect(parsed.status).toBe(0);
    // Completing "mcpctl apply --f" in a real bash.
    const complete = spawnSync(
      'bash',
      ['-c', `${script.stdout}\nCOMP_WORDS=(mcpctl apply --f); COMP_CWORD=2; _mcpctl; echo "\${COMPREPLY[@]}"; COMP_WORDS=(mcpctl ver); COMP_CWORD=1; _mcpctl; echo "\${COMPREPLY[@]}"`],
      { encoding: 'utf8' },
    );
    expect(complete.stdout).toBe('--filename --force\nversion\n');
  });

  it('prints a zsh completion script naming every command; an unknown shell is a usage error', () => {
    const script = mcpctl(['completion', 'zsh']);
    expect(script.status).toBe(0);
    expect(script.stdout.startsWith('#compdef mcpctl\n')).toBe(true);
    expect(script.stdout).toMatch(/commands=\(serve validate diff apply get describe delete history rollback watch token version completion help\)/);
    expect(mcpctl(['completion', 'fish']).status).toBe(2);
  });

  it('version --client needs no server', () => {
    const r = mcpctl(['version', '--client']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Client Version: \d+\.\d+\.\d+\n$/);
  });
});

describe('the data directory lock (in-process)', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'mcpctl-lock-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  // In the jest worker's own process: keep its priority (a nice value is inherited by every thread and process it starts later).
  const config = () => parseServeConfig(['--port', '0', '--data-dir', dataDir, '--no-manifests', '--admin-token', 'lock-test-token-0123456789', '--control-plane-nice', '0'], {});

  it('takes over a stale lock whose process is gone, and refuses a second start in the same process', async () => {
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const deadPid = Number(gone.stdout);
    expect(isRunning(deadPid)).toBe(false);
    writeFileSync(join(dataDir, 'lock'), `${deadPid}\n`);

    const cp = await startControlPlane(config(), { logger: silentLogger });
    try {
      expect(readFileSync(join(dataDir, 'lock'), 'utf8').trim()).toBe(String(process.pid));
      await expect(startControlPlane(config(), { logger: silentLogger })).rejects.toThrow(`in use by another control plane (PID ${process.pid})`);
    } finally {
      await cp.close();
    }
    expect(existsSync(join(dataDir, 'lock'))).toBe(false);
    // Released: the directory opens again.
    const again = await startControlPlane(config(), { logger: silentLogger });
    await again.close();
  });

  it('takes over a lock naming this process when this process does not hold it (PID reuse after a restart)', async () => {
    writeFileSync(join(dataDir, 'lock'), `${process.pid}\n`);
    const cp = await startControlPlane(config(), { logger: silentLogger });
    await cp.close();
    expect(existsSync(join(dataDir, 'lock'))).toBe(false);
  });
});
