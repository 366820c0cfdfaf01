// Two processes taking over the same stale data-dir lock: exactly one wins. The other process is played
// at the one moment that matters: after this one found the lock stale, before it takes it over.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireDataDirLock, DataDirLockedError } from '../../src/data-dir-lock.js';

/** A PID that ran and is gone. */
function deadPid(): number {
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(gone.stdout);
}

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'mcp-lock-race-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const lockPath = () => join(dataDir, 'lock');

it('yields to a process that took the stale lock over first, and leaves that lock in place', () => {
  const dead = deadPid();
  const winner = process.ppid; // a running process other than this one
  writeFileSync(lockPath(), `${dead}\n`);
  const attempt = () =>
    acquireDataDirLock(dataDir, {
      // The other process, meanwhile: removes the stale lock and links its own.
      beforeTakeover: () => {
        rmSync(lockPath());
        writeFileSync(lockPath(), `${winner}\n`);
      },
    });
  expect(attempt).toThrow(DataDirLockedError);
  expect(attempt).toThrow(`PID ${winner}`);
  expect(readFileSync(lockPath(), 'utf8')).toBe(`${winner}\n`);
  expect(readdirSync(dataDir)).toEqual(['lock']);
});

it('takes a stale lock over when nobody else does, and releases it', () => {
  writeFileSync(lockPath(), `${deadPid()}\n`);
  const lock = acquireDataDirLock(dataDir);
  expect(readFileSync(lockPath(), 'utf8')).toBe(`${process.pid}\n`);
  expect(readdirSync(dataDir)).toEqual(['lock']);
  lock.release();
  expect(existsSync(lockPath())).toBe(false);
});

it('a stale lock another process moved aside first: links its own into the free place', () => {
  writeFileSync(lockPath(), `${deadPid()}\n`);
  const lock = acquireDataDirLock(dataDir, { beforeTakeover: () => rmSync(lockPath()) });
  expect(readFileSync(lockPath(), 'utf8')).toBe(`${process.pid}\n`);
  lock.release();
});
