// DirectoryWatcher on real files: what it reports for edits, adds, deletes, renames, directories and
// symlinks, and that it keeps watching a root that is removed and re-created.
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock, type Clock } from '../../src/domain/clock.js';
import { DirectoryWatcher } from '../../src/sources/directory-watcher.js';
import { waitFor } from '../support/control-plane.js';
import { FakeClock } from '../support/fake-clock.js';
import { tempDir, writeFile } from './helpers.js';

describe('DirectoryWatcher', () => {
  let base: string;
  let cleanup: () => void;
  let root: string;
  let watcher: DirectoryWatcher | undefined;
  /** Everything reported, in order: a path or `rescan`. */
  let reports: string[];
  /** The paths of each onChange call. */
  let calls: string[][];

  beforeEach(() => {
    ({ dir: base, cleanup } = tempDir());
    root = join(base, 'manifests');
    mkdirSync(root);
    reports = [];
    calls = [];
  });
  afterEach(() => {
    watcher?.close();
    watcher = undefined;
    cleanup();
  });

  const start = (clock: Clock = systemClock) => {
    watcher = new DirectoryWatcher({
      root,
      stabilityThresholdMs: 50,
      pollIntervalMs: 10,
      maxHoldMs: 1000,
      clock,
      onChange: (paths) => {
        calls.push([...paths].sort());
        reports.push(...[...paths].sort());
      },
      knownPathsUnder: (rel) => (rel === 'team' ? ['team/a.yaml', 'team/gone.yaml'] : []),
      onRescan: () => reports.push('rescan'),
      onError: (err) => reports.push(`error:${err.message}`),
    });
    watcher.start();
  };
  const reported = (what: string) => waitFor(() => reports.includes(what), { what: `${what} reported` });
  /** A later change to another file has been reported: whatever came before it has been too. */
  const settle = async () => {
    const marker = `marker-${reports.length}.yaml`;
    writeFile(root, marker, 'x');
    await reported(marker);
    reports.splice(reports.indexOf(marker), 1);
  };

  it('reports an edited file once, after it has settled, and nothing else', async () => {
    writeFile(root, 'a.yaml', 'one');
    writeFile(root, 'b.yaml', 'one');
    start();
    writeFile(root, 'a.yaml', 'two');
    writeFile(root, 'a.yaml', 'three');
    await reported('a.yaml');
    await settle();
    expect(reports).toEqual(['a.yaml']);
  });

  it('reports the files of a burst together, holding those settled while another is still written', async () => {
    // Time is a FakeClock moved one poll interval (10 ms) at a time; the files are real.
    const clock = new FakeClock();
    start(clock);
    /** One poll interval passes; returns once that poll has stat()ed the files (it then polls again) or reported. */
    const tick = async () => {
      clock.advance(10);
      await waitFor(() => clock.pendingTimers().length > 0 || calls.length > 0, { what: 'the poll to finish' });
    };
    writeFile(root, 'a.yaml', 'one');
    writeFile(root, 'b.yaml', 'x');
    await waitFor(() => clock.pendingTimers().length > 0, { what: 'the first change seen' });
    // b.yaml grows at every poll for three stability thresholds (150 ms); a.yaml settles after 50 ms meanwhile,
    // and waits for it.
    for (let i = 2; i <= 16; i++) {
      writeFile(root, 'b.yaml', 'x'.repeat(i));
      await tick();
      expect(calls).toEqual([]);
    }
    // Once b.yaml has stayed the same for the stability threshold, both are reported in one call.
    for (let polls = 0; calls.length === 0 && polls < 10; polls++) await tick();
    expect(calls).toEqual([['a.yaml', 'b.yaml']]);
    expect(clock.now()).toBeGreaterThanOrEqual(150 + 50);
  });

  it('reports added and deleted files, and an atomic rename-save once as the file saved', async () => {
    writeFile(root, 'a.yaml', 'one');
    start();
    writeFile(root, 'new.json', '{}');
    rmSync(join(root, 'a.yaml'));
    await reported('new.json');
    await reported('a.yaml');
    reports = [];
    writeFileSync(join(root, 'new.json.tmp'), '{"saved":1}');
    renameSync(join(root, 'new.json.tmp'), join(root, 'new.json'));
    await reported('new.json');
    await settle();
    expect(reports).toEqual(['new.json']);
  });

  it('ignores dotfiles, editor files and other extensions', async () => {
    start();
    for (const rel of ['.hidden.yaml', '.git/config.yaml', 'a.yaml.swp', 'a.yaml~', '#a.yaml#', 'a.yaml.tmp', '4913', 'notes.txt']) writeFile(root, rel, 'x');
    await settle();
    expect(reports).toEqual([]);
  });

  it('watches nested directories: added with their files, moved in, removed, re-created', async () => {
    writeFile(root, 'team/a.yaml', 'one');
    start();
    writeFile(root, 'team/a.yaml', 'two');
    await reported('team/a.yaml');

    writeFile(root, 'new/deep/b.yaml', 'one');
    await reported('new/deep/b.yaml');
    writeFile(root, 'new/deep/b.yaml', 'two');
    reports = [];
    await reported('new/deep/b.yaml');

    writeFile(base, 'outside/c.yaml', 'one');
    renameSync(join(base, 'outside'), join(root, 'moved'));
    await reported('moved/c.yaml');

    rmSync(join(root, 'team'), { recursive: true });
    await reported('team/gone.yaml');
    writeFile(root, 'team/a.yaml', 'again');
    reports = [];
    await reported('team/a.yaml');
    writeFile(root, 'team/a.yaml', 'edited');
    reports = [];
    await reported('team/a.yaml');
  });

  it('follows a symlinked manifest to its target, also when the link is re-pointed', async () => {
    writeFile(base, 'elsewhere/one.yaml', 'one');
    writeFile(base, 'elsewhere/two.yaml', 'two');
    symlinkSync(join(base, 'elsewhere/one.yaml'), join(root, 'link.yaml'));
    start();
    writeFile(base, 'elsewhere/one.yaml', 'one, edited');
    await reported('link.yaml');

    reports = [];
    symlinkSync(join(base, 'elsewhere/two.yaml'), join(root, '.link.yaml.new'));
    renameSync(join(root, '.link.yaml.new'), join(root, 'link.yaml'));
    await reported('link.yaml');
    reports = [];
    writeFile(base, 'elsewhere/two.yaml', 'two, edited');
    await reported('link.yaml');
  });

  it('keeps watching a root that is removed and re-created, or that did not exist yet', async () => {
    writeFile(root, 'a.yaml', 'one');
    start();
    rmSync(root, { recursive: true });
    await reported('rescan');
    reports = [];
    writeFile(root, 'a.yaml', 'back');
    await reported('rescan');
    reports = [];
    writeFile(root, 'a.yaml', 'edited');
    await reported('a.yaml');

    watcher!.close();
    rmSync(root, { recursive: true });
    start();
    reports = [];
    writeFile(root, 'b.yaml', 'created');
    await reported('rescan');
    reports = [];
    writeFile(root, 'b.yaml', 'edited');
    await reported('b.yaml');
  });
});
