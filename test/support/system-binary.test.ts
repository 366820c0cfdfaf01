// The rule for suites that need a system program: found → run; missing → one warning and skip; missing
// under MCP_CP_TEST_REQUIRE_ALL=1 → fail. Real files in a temp directory stand for the programs.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findSystemBinary, requireSystemBinary } from './system-binary.js';

describe('requireSystemBinary', () => {
  let dir: string;
  let program: string;
  let notExecutable: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'mcp-cp-bin-'));
    program = join(dir, 'fake-browser');
    writeFileSync(program, '#!/bin/sh\n');
    chmodSync(program, 0o755);
    notExecutable = join(dir, 'plain-file');
    writeFileSync(notExecutable, '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finds the first executable candidate, by absolute path or on PATH; directories and plain files do not count', () => {
    expect(findSystemBinary([join(dir, 'missing'), dir, notExecutable, program], { env: {} })).toBe(program);
    expect(findSystemBinary(['fake-browser'], { env: { PATH: `/nonexistent:${dir}` } })).toBe(program);
    expect(findSystemBinary(['fake-browser'], { env: { PATH: '/nonexistent' } })).toBeUndefined();
  });

  it('takes only the variable when it is set', () => {
    expect(findSystemBinary([program], { envVar: 'BROWSER_PATH', env: { BROWSER_PATH: '/nonexistent' } })).toBeUndefined();
    expect(findSystemBinary(['/nonexistent'], { envVar: 'BROWSER_PATH', env: { BROWSER_PATH: program } })).toBe(program);
    expect(findSystemBinary([program], { envVar: 'BROWSER_PATH', env: {} })).toBe(program);
  });

  it('runs the suite when found, and warns nothing', () => {
    const warnings: string[] = [];
    const found = requireSystemBinary('browser', [program], { install: 'apt-get install -y browser', env: {}, warn: (l) => warnings.push(l) });
    expect(found).toEqual({ path: program, describe, it });
    expect(warnings).toEqual([]);
  });

  it('skips with one line naming what is missing and how to enable it', () => {
    const warnings: string[] = [];
    const missing = requireSystemBinary('browser', ['/nonexistent/browser'], {
      envVar: 'BROWSER_PATH',
      install: 'apt-get install -y browser',
      env: {},
      warn: (l) => warnings.push(l),
    });
    expect(missing).toEqual({ path: undefined, describe: describe.skip, it: it.skip });
    expect(warnings).toEqual([
      'SKIPPED: browser not found (looked at /nonexistent/browser); these tests did not run. To run them: apt-get install -y browser, or set BROWSER_PATH to its path.',
    ]);
  });

  it('fails instead under MCP_CP_TEST_REQUIRE_ALL=1', () => {
    const warnings: string[] = [];
    expect(() =>
      requireSystemBinary('browser', [program], {
        envVar: 'BROWSER_PATH',
        install: 'apt-get install -y browser',
        env: { BROWSER_PATH: '/nonexistent', MCP_CP_TEST_REQUIRE_ALL: '1' },
        warn: (l) => warnings.push(l),
      }),
    ).toThrow('browser is required (MCP_CP_TEST_REQUIRE_ALL=1) but was not found (looked at BROWSER_PATH=/nonexistent); apt-get install -y browser, or set BROWSER_PATH to its path.');
    expect(warnings).toEqual([]);
    // Found, the variable changes nothing.
    expect(requireSystemBinary('browser', [program], { install: 'x', env: { MCP_CP_TEST_REQUIRE_ALL: '1' } }).path).toBe(program);
  });
});
