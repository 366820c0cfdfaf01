// PostgreSQL for the benchmarks: the test suite's own server (test/support/postgres.ts, loaded from its
// TypeScript source through the same module hooks the tests' worker threads use), so bench and tests find
// and start PostgreSQL one way: initdb found on PG_BIN, PATH or Debian's directories; a temp directory; a
// free loopback port; stopped and removed when this process ends, however it ends.
//
// Without the binaries a PostgreSQL figure is skipped with one loud line, or fails under
// MCP_CP_TEST_REQUIRE_ALL=1 (what CI sets).
import { register } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './common.js';

export const REQUIRE_ALL = process.env.MCP_CP_TEST_REQUIRE_ALL === '1';

let support;
async function testSupport() {
  if (!support) {
    register(pathToFileURL(join(ROOT, 'test', 'support', 'ts-worker-hooks.mjs')));
    support = await import(pathToFileURL(join(ROOT, 'test', 'support', 'postgres.ts')).href);
  }
  return support;
}

/**
 * The server (started on first use, one per bench process), or undefined when PostgreSQL's binaries are
 * missing: then the line saying so has been written, and the caller answers skipped rows.
 */
export async function benchPostgres() {
  const s = await testSupport();
  const found = s.findPostgres();
  if (!found.initdb) {
    const message = `PostgreSQL (initdb) not found (looked at ${found.looked.join(', ')}); to run these figures: ${s.POSTGRES_INSTALL_HINT}`;
    if (REQUIRE_ALL) throw new Error(`${message} (required: MCP_CP_TEST_REQUIRE_ALL=1)`);
    process.stderr.write(`\n  !!! SKIPPED: ${message}\n\n`);
    return undefined;
  }
  return s.testPostgres();
}

/** Rows for figures that did not run for want of PostgreSQL. */
export function skippedRows(figures, goal) {
  return figures.map((figure) => ({ figure, measured: 'SKIPPED: no PostgreSQL binaries', goal, met: undefined, note: 'see the SKIPPED line above' }));
}
