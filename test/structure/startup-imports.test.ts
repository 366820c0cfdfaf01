// What each thread loads at start: the static import graph of the sources (value imports only; `import
// type` is erased, a dynamic import() loads on use) from the server's entry and from the data-plane thread's.
// A SQLite server loads no PostgreSQL client and no cluster module; the control plane's thread loads no data
// plane (it runs on its own thread by default); the data-plane thread loads no resource store, no PostgreSQL
// client, none of the control plane's HTTP modules and no manifest schemas.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** `import … from 'x'`, `import 'x'`, `export … from 'x'`; not `import type`/`export type`, not import(). */
const STATIC_IMPORT = /^\s*(import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;

/** Every module reached from `entry` (paths under src/, and packages as `pkg:name`), with how it was reached. */
function reachable(entry: string): Map<string, string | undefined> {
  const via = new Map<string, string | undefined>([[entry, undefined]]);
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (file.startsWith('pkg:')) continue;
    const text = readFileSync(join(SRC, file), 'utf8');
    for (const m of text.matchAll(STATIC_IMPORT)) {
      const spec = m[2]!;
      let target: string;
      if (spec.startsWith('.')) {
        target = relative(SRC, resolve(dirname(join(SRC, file)), spec.replace(/\.js$/, '.ts')));
        if (!existsSync(join(SRC, target))) continue;
      } else if (spec.startsWith('node:')) continue;
      else target = `pkg:${spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]}`;
      if (!via.has(target)) {
        via.set(target, file);
        queue.push(target);
      }
    }
  }
  return via;
}

/** The chain from the entry to `module`, for the failure message. */
function chain(via: Map<string, string | undefined>, module: string): string {
  const path: string[] = [];
  for (let m: string | undefined = module; m !== undefined; m = via.get(m)) path.unshift(m);
  return path.join(' -> ');
}

function reached(via: Map<string, string | undefined>, matches: (module: string) => boolean): string[] {
  return [...via.keys()].filter(matches).map((m) => chain(via, m));
}

describe('modules loaded at start', () => {
  const serve = reachable('cli/serve.ts');
  const dataPlaneThread = reachable('gateway/host/host-worker.ts');

  it('the walk finds the modules each entry does need (the walk itself works)', () => {
    expect(serve.has('main.ts')).toBe(true);
    expect(serve.has('store/sqlite/sqlite-resource-store.ts')).toBe(true);
    expect(serve.has('pkg:better-sqlite3')).toBe(true);
    expect(dataPlaneThread.has('gateway/data-plane/data-plane.ts')).toBe(true);
    expect(dataPlaneThread.has('store/sqlite/sqlite-gateway-store.ts')).toBe(true);
  });

  it('a server loads the PostgreSQL client and the cluster modules only with a PostgreSQL store', () => {
    const postgres = (m: string) => m === 'pkg:pg' || (m.startsWith('store/postgres/') && !['store/postgres/store-url.ts', 'store/postgres/schema-too-new.ts'].includes(m)) || m === 'cluster/postgres-cluster.ts';
    expect(reached(serve, postgres)).toEqual([]);
    expect(reached(dataPlaneThread, postgres)).toEqual([]);
  });

  it("the control plane's thread loads no data plane (its thread does)", () => {
    expect(reached(serve, (m) => m.startsWith('gateway/data-plane/') && m !== 'gateway/data-plane/upstream-health.ts')).toEqual([]);
  });

  it('the data-plane thread loads no resource store and no control-plane HTTP module', () => {
    expect(reached(dataPlaneThread, (m) => m === 'store/sqlite/sqlite-resource-store.ts' || m.startsWith('http/'))).toEqual([]);
  });

  it('the data-plane thread loads no manifest schemas: no validator, no CEL (it decides a call from the principal alone)', () => {
    expect(reached(dataPlaneThread, (m) => m === 'manifest/schemas.ts' || m === 'pkg:ajv' || m === 'pkg:@marcbachmann/cel-js' || m === 'auth/policy.ts')).toEqual([]);
  });
});
