// Jest runs the TypeScript sources as native ES modules (package.json "type": "module"),
// transpiled by swc; type checking is `npm run typecheck`, not the test run.
//
// Two projects: `sqlite` is every test file; `postgres` runs again, with their control planes on
// PostgreSQL, the e2e suites that matter most on both engines (PUT/intake, watch, GitOps, reconcile and
// discovery). `--selectProjects sqlite` runs only the first.
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
];

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
  ],
};
