// The README's quick start is run as written (bash, curl, mcpctl) against a real control plane on a
// random port, so the text cannot drift from what works. So is examples/api/curl-walkthrough.sh.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ADMIN_TOKEN, startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { buildPackage, type BuiltPackage } from '../support/built-package.js';
import { freePort } from '../support/peer-process.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SLOW = 180_000;

/** The fenced sh block that follows `marker` in the README. */
function readmeBlock(marker: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf(marker);
  if (at < 0) throw new Error(`README has no "${marker}"`);
  const m = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!m) throw new Error(`no sh block after "${marker}"`);
  return m[1] as string;
}

describe('README quick start', () => {
  let cp: TestControlPlane;
  let dir: string;
  let built: BuiltPackage;
  beforeAll(() => {
    // `npx mcpctl` is the built binary.
    built = buildPackage();
  }, SLOW);
  afterAll(() => built.dispose());
  beforeEach(async () => {
    cp = await startTestControlPlane({ args: ['--resync-interval', '0'] });
    // What the reader has after `npm start` in a clone: ./data/admin-token and ./examples.
    dir = mkdtempSync(join(tmpdir(), 'quick-start-'));
    mkdirSync(join(dir, 'data'));
    writeFileSync(join(dir, 'data', 'admin-token'), `${ADMIN_TOKEN}\n`);
    symlinkSync(join(ROOT, 'examples'), join(dir, 'examples'));
  });
  afterEach(async () => {
    await cp.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Asynchronous: the control plane answers from this process's event loop. */
  const bash = (script: string, env: Record<string, string>) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
      const child = spawn('bash', ['-c', script], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir, ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      child.once('close', (status) => done({ status, stdout, stderr }));
    });

  it(
    'the "another terminal" commands preview, apply for real and show the gateway, on whatever port the server has',
    async () => {
      const block = readmeBlock('Then, in another terminal');
      // `npx mcpctl` in a clone runs the package's own bin; here, the same built file.
      const shim = `npx() { if [ "$1" = mcpctl ]; then shift; node ${JSON.stringify(built.mcpctl)} "$@"; else command npx "$@"; fi; }\n`;
      const r = await bash(`set -euo pipefail\n${shim}${block}`, { CP: cp.url });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('"action":"CREATE","dryRun":true');
      expect(r.stdout).toContain('"action":"CREATE","dryRun":false');
      expect(r.stdout).toMatch(/"name":"github-tools"/);
      // (curl prints no newline after the JSON.)
      expect(r.stdout).toMatch(/NAME +READY +GENERATION +OBSERVED +SOURCE +TOOLS +AGE +REASON +URL +MESSAGE\n/);
      expect(r.stdout).toMatch(/\ngithub-tools +\S+ +1 /);
      expect((await cp.store.get('default:mcp-server:github-tools'))).toBeDefined();
    },
    SLOW,
  );

  it(
    'curl-walkthrough.sh walks the API on the given port, and fails loudly naming the URL when nothing answers',
    async () => {
      const script = join(ROOT, 'examples/api/curl-walkthrough.sh');
      const ok = await bash(`bash ${JSON.stringify(script)}`, { CP: cp.url });
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      expect(ok.stdout).toContain('# 5. Delete');
      expect((await cp.store.get('default:mcp-server:github-tools'))).toBeUndefined();

      const nowhere = `http://127.0.0.1:${await freePort()}`;
      const down = await bash(`bash ${JSON.stringify(script)}`, { CP: nowhere });
      expect(down.status).toBe(1);
      expect(down.stderr).toContain(`cannot reach the control plane at ${nowhere}`);
    },
    SLOW,
  );
});
