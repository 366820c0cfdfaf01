// The one rule for suites that need a program of the system (a browser, openssl, PostgreSQL): use it when
// it is found; otherwise skip the suite with one loud line naming what is missing and how to enable it.
// With MCP_CP_TEST_REQUIRE_ALL=1 (set by .ci/run) a missing program fails the suite instead, so CI
// always runs everything.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** Set to 1 to turn every skip for a missing system program into a failure. */
export const REQUIRE_ALL_VARIABLE = 'MCP_CP_TEST_REQUIRE_ALL';

export interface SystemBinaryOptions {
  /** A variable that names the program's path; when set, it is the only candidate (e.g. CHROMIUM_PATH). */
  envVar?: string;
  /** What to do to get it, for the skip line (e.g. "apt-get install -y chromium"). */
  install: string;
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where the skip line goes. Default: console.warn (jest shows it with the suite's output). */
  warn?: (line: string) => void;
}

export interface SystemBinary {
  /** The executable found, or undefined when the suite is skipped. */
  path: string | undefined;
  /** `describe`, or `describe.skip` when the program is missing. */
  describe: jest.Describe;
  /** `it`, or `it.skip` when the program is missing. */
  it: jest.It;
}

/**
 * The first executable among `candidates` (absolute paths, or names looked up on PATH); only the value of
 * `envVar` when that variable is set.
 */
export function findSystemBinary(candidates: readonly string[], options: Pick<SystemBinaryOptions, 'envVar' | 'env'> = {}): string | undefined {
  const env = options.env ?? process.env;
  const fromEnv = options.envVar ? env[options.envVar] : undefined;
  for (const candidate of fromEnv ? [fromEnv] : candidates) {
    const paths = isAbsolute(candidate) ? [candidate] : (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, candidate));
    const found = paths.find(isExecutable);
    if (found) return found;
  }
  return undefined;
}

/**
 * Call at the top of a test file (describe time). Found: its path, with `describe` and `it`. Missing: one
 * line through `warn` and `describe.skip`/`it.skip`, or, with MCP_CP_TEST_REQUIRE_ALL=1, a thrown error
 * that fails the suite.
 */
export function requireSystemBinary(name: string, candidates: readonly string[], options: SystemBinaryOptions): SystemBinary {
  const env = options.env ?? process.env;
  const path = findSystemBinary(candidates, options);
  if (path) return { path, describe, it };
  const looked = options.envVar && env[options.envVar] ? `${options.envVar}=${env[options.envVar]}` : candidates.join(', ');
  const enable = `${options.install}${options.envVar ? `, or set ${options.envVar} to its path` : ''}`;
  if (env[REQUIRE_ALL_VARIABLE] === '1') {
    throw new Error(`${name} is required (${REQUIRE_ALL_VARIABLE}=1) but was not found (looked at ${looked}); ${enable}.`);
  }
  (options.warn ?? console.warn)(`SKIPPED: ${name} not found (looked at ${looked}); these tests did not run. To run them: ${enable}.`);
  return { path: undefined, describe: describe.skip, it: it.skip };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
