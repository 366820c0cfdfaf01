// Jest runs the TypeScript sources as native ES modules (package.json "type": "module"),
// transpiled by swc; type checking is `npm run typecheck`, not the test run.
//
// Two projects: `sqlite` is every test file, and what `npm test` runs; `postgres` runs again, with their
// control planes on PostgreSQL, the e2e suites that matter most (PUT/intake, watch, GitOps, reconcile and
// discovery): `npm run test:postgres` (MCP_CP_TEST_PROJECT=postgres). It is not in `npm test` while two of its cases race with the lone
// replica's own status writes (see the closing note of the session that added it).
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

/** @type {import('jest').Config} */
export default {
  testTimeout: 20000,
  maxWorkers: 2,
  projects: [
    process.env.MCP_CP_TEST_PROJECT === 'postgres'
      ? {
          ...base,
          displayName: 'postgres',
          testMatch: POSTGRES_SUITES.map((path) => `<rootDir>/${path}`),
          setupFilesAfterEnv: ['<rootDir>/test/support/postgres-store-setup.ts'],
        }
      : { ...base, displayName: 'sqlite', testMatch: ['**/*.test.ts'] },
  ],
};
