// Rows of figures: the printed table and the dated rows appended to bench/results.md.
//
// A row: { figure, size?, measured, baseline, ratio, goal, met, note }
//   measured / baseline  text with absolute numbers (context; absolute times on a shared machine wander)
//   ratio                number (measured vs baseline as the goal states it) or undefined
//   met                  true / false, or undefined when the figure was skipped or has no goal at this size
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './common.js';
import { fmt } from './stats.js';

export const RESULTS_FILE = join(ROOT, 'bench', 'results.md');

export function machine() {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (dirty) commit += '+dirty';
  } catch {
    // not a git checkout
  }
  return { date: new Date().toISOString().slice(0, 16).replace('T', ' '), cpus: cpus().length, cpu: cpus()[0]?.model ?? '?', node: process.version, commit };
}

export function ratioText(r) {
  return r === undefined || r === null || Number.isNaN(r) ? '–' : `${fmt(r, 2)}×`;
}

function metText(met) {
  return met === true ? 'yes' : met === false ? 'NO' : '–';
}

function cells(row) {
  return [
    row.size ? `${row.figure} @${row.size.toLocaleString('en-US')}` : row.figure,
    row.measured ?? '–',
    row.baseline ?? '–',
    ratioText(row.ratio),
    row.goal ?? '–',
    metText(row.met),
    row.note ?? '',
  ];
}

const HEAD = ['figure', 'measured', 'baseline (same run)', 'ratio', 'goal', 'met', 'note'];

export function printTable(rows, out = process.stdout) {
  const table = [HEAD, ...rows.map(cells)];
  const widths = HEAD.map((_, c) => Math.min(c === 6 ? 60 : 48, Math.max(...table.map((r) => String(r[c]).length))));
  const line = (r) => r.map((v, c) => String(v).slice(0, c === 6 ? 200 : 200).padEnd(widths[c])).join('  ').trimEnd();
  out.write(`\n${line(HEAD)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of table.slice(1)) out.write(`${line(r)}\n`);
  out.write('\n');
}

const MD_HEAD = '| date | CPUs | node | commit | figure | measured | baseline (same run) | ratio | goal | met | note |\n|---|---|---|---|---|---|---|---|---|---|---|\n';

function escapeCell(v) {
  return String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function appendResults(rows, m = machine()) {
  if (!existsSync(RESULTS_FILE)) {
    writeFileSync(
      RESULTS_FILE,
      '# Benchmark results\n\nAppended by `npm run bench` (see README.md, "Benchmarks"): one row per figure and run. ' +
        'Ratios compare with a baseline measured in the same run on the same machine; absolute numbers are context.\n\n' +
        MD_HEAD,
    );
  }
  const text = rows
    .map((row) => `| ${[m.date, m.cpus, m.node, m.commit, ...cells(row)].map(escapeCell).join(' | ')} |`)
    .join('\n');
  appendFileSync(RESULTS_FILE, `${text}\n`);
}
