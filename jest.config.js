// Jest runs the TypeScript sources as native ES modules (package.json "type": "module"),
// transpiled by swc; type checking is `npm run typecheck`, not the test run.
//
// Three projects: `sqlite` is every test file; `postgres` runs again, with their control planes on
// PostgreSQL, the e2e suites that matter most (PUT/intake, watch, GitOps, reconcile and discovery); `thread`
// runs again, with the data plane on its thread as `serve` runs it, end-to-end suites through the gateway.
// `npm test` runs all; MCP_CP_TEST_PROJECT=sqlite, =postgres or =thread runs one (`npm run test:postgres`). Without
// PostgreSQL's binaries the postgres project's tests are skipped with one loud line per file, or fail under
// MCP_CP_TEST_REQUIRE_ALL=1 (test/support/postgres-store-setup.ts).
const base = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['@swc/jest', {
      jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
      module: { type: 'es6' },
    }],
  },
};

/** The suites run on PostgreSQL too (test/support/postgres-store-setup.ts). */
export const POSTGRES_SUITES = [
  'test/e2e/core.test.ts',
  'test/e2e/watch.test.ts',
  'test/e2e/discovery.test.ts',
  'test/sources/watched-directory.test.ts',
  'test/policy/policy-api.test.ts',
  'test/policy/policy-doors.test.ts',
];

/** The suites run with the data plane on its thread (test/support/thread-data-plane-setup.ts). */
export const THREAD_SUITES = ['test/docs/quick-start.test.ts', 'test/e2e/core.test.ts', 'test/gateway/token-refusal.test.ts'];

/** One project only (sqlite, postgres or thread), or all when unset. */
const PROJECT = process.env.MCP_CP_TEST_PROJECT;
if (PROJECT && PROJECT !== 'sqlite' && PROJECT !== 'postgres' && PROJECT !== 'thread') {
  throw new Error(`MCP_CP_TEST_PROJECT must be sqlite, postgres or thread (or unset for all), got ${JSON.stringify(PROJECT)}`);
}

/** @type {import('jest').Config} */
export default {
  testTimeout: 20000,
  maxWorkers: 2,
  projects: [
    { ...base, displayName: 'sqlite', testMatch: ['**/*.test.ts'] },
    {
      ...base,
      displayName: 'postgres',
      testMatch: POSTGRES_SUITES.map((path) => `<rootDir>/${path}`),
      setupFilesAfterEnv: ['<rootDir>/test/support/postgres-store-setup.ts'],
    },
    {
      ...base,
      displayName: 'thread',
      testMatch: THREAD_SUITES.map((path) => `<rootDir>/${path}`),
      setupFilesAfterEnv: ['<rootDir>/test/support/thread-data-plane-setup.ts'],
    },
  ].filter((project) => !PROJECT || project.displayName === PROJECT),
};
