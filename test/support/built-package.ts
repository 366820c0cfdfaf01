// The package as `npm run build` makes it, built in a temporary directory of its own, so a test of the
// built binary (or of `npm start`, whose prestart builds) neither writes the checkout's dist/ nor reads
// one another test run is rebuilding. The directory looks like a checkout: package.json, node_modules,
// schemas, src and examples are links to the real ones (the built code finds schemas/ and src/http/ui
// above itself); the tsconfig files are copies, so their relative paths (dist/) resolve inside it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const LINKED = ['package.json', 'node_modules', 'schemas', 'src', 'examples'];
const COPIED = ['tsconfig.json', 'tsconfig.build.json'];

export interface BuiltPackage {
  /** The directory to run `npm start` in. */
  root: string;
  /** The built mcpctl entry point. */
  mcpctl: string;
  dispose(): void;
}

/** Runs `npm run build` in a fresh directory; throws with the build's output when it fails. */
export function buildPackage(): BuiltPackage {
  const root = mkdtempSync(join(tmpdir(), 'mcp-cp-build-'));
  try {
    for (const name of LINKED) symlinkSync(join(ROOT, name), join(root, name));
    for (const name of COPIED) copyFileSync(join(ROOT, name), join(root, name));
    const build = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed: ${build.stdout}${build.stderr}`);
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  return { root, mcpctl: join(root, 'dist', 'src', 'cli', 'mcpctl.js'), dispose: () => rmSync(root, { recursive: true, force: true }) };
}
