// The jest project `postgres` (jest.config.js): runs its test files with their control planes on
// PostgreSQL (MCP_CP_TEST_STORE=postgres, see control-plane.ts). Where PostgreSQL's binaries are missing,
// the file's tests are skipped with the one loud line of requirePostgres(), or fail under
// MCP_CP_TEST_REQUIRE_ALL=1. Jest gives each test file its own process.env, so this stays in the file.
import { requirePostgres } from './postgres.js';
import { TEST_STORE_VARIABLE } from './control-plane.js';

if (requirePostgres().path) {
  process.env[TEST_STORE_VARIABLE] = 'postgres';
} else {
  const g = globalThis as unknown as { describe: jest.Describe; it: jest.It; test: jest.It };
  g.describe = g.describe.skip as unknown as jest.Describe;
  g.it = g.it.skip as unknown as jest.It;
  g.test = g.test.skip as unknown as jest.It;
}
