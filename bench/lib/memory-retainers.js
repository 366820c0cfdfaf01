// Reads a V8 heap snapshot (.heapsnapshot) and says who retains what: the dominator tree of the heap
// graph (Cooper, Harvey and Kennedy's iterative algorithm; weak edges do not retain), each object's
// retained size, and totals grouped by owner:
//   byField   "Class.field": the retained size of every object a class instance holds by that property and
//             alone retains (the object's immediate dominator is the instance), summed over instances
//   byClass   self size and count of the objects of each constructor name (strings by kind)
//   sliced    sliced strings, and the bytes of the parents they keep alive
//
//   node bench/lib/memory-retainers.js FILE.heapsnapshot [top]   prints the three tables
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The analysis of one snapshot file: { totalBytes, byField: Map, byClass: Map, sliced }. */
export function analyzeSnapshot(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const meta = snap.snapshot.meta;
  const nodeFields = meta.node_fields.length;
  const edgeFields = meta.edge_fields.length;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const N_TYPE = meta.node_fields.indexOf('type');
  const N_NAME = meta.node_fields.indexOf('name');
  const N_SIZE = meta.node_fields.indexOf('self_size');
  const N_EDGES = meta.node_fields.indexOf('edge_count');
  const E_TYPE = meta.edge_fields.indexOf('type');
  const E_NAME = meta.edge_fields.indexOf('name_or_index');
  const E_TO = meta.edge_fields.indexOf('to_node');
  const { nodes, edges, strings } = snap;
  const n = nodes.length / nodeFields;
  const WEAK = edgeTypes.indexOf('weak');
  const SHORTCUT = edgeTypes.indexOf('shortcut');

  // Edges of each node, as CSR.
  const firstEdge = new Uint32Array(n + 1);
  for (let i = 0, e = 0; i < n; i++) {
    firstEdge[i] = e;
    e += nodes[i * nodeFields + N_EDGES] * edgeFields;
    firstEdge[i + 1] = e;
  }
  const target = (e) => edges[e + E_TO] / nodeFields;
  const retains = (e) => {
    const t = edges[e + E_TYPE];
    return t !== WEAK && t !== SHORTCUT;
  };

  // Postorder from the root (node 0), iteratively.
  const order = new Int32Array(n).fill(-1); // postorder number
  const post = new Uint32Array(n);
  let count = 0;
  {
    const stack = new Uint32Array(n);
    const cursor = new Uint32Array(n);
    const seen = new Uint8Array(n);
    let sp = 0;
    stack[sp++] = 0;
    seen[0] = 1;
    cursor[0] = firstEdge[0];
    while (sp > 0) {
      const v = stack[sp - 1];
      let pushed = false;
      while (cursor[v] < firstEdge[v + 1]) {
        const e = cursor[v];
        cursor[v] += edgeFields;
        if (!retains(e)) continue;
        const w = target(e);
        if (seen[w]) continue;
        seen[w] = 1;
        cursor[w] = firstEdge[w];
        stack[sp++] = w;
        pushed = true;
        break;
      }
      if (!pushed) {
        sp--;
        order[v] = count;
        post[count++] = v;
      }
    }
  }

  // Predecessors (reachable ones only), as CSR.
  const predCount = new Uint32Array(n + 1);
  for (let v = 0; v < n; v++) {
    if (order[v] < 0) continue;
    for (let e = firstEdge[v]; e < firstEdge[v + 1]; e += edgeFields) if (retains(e)) predCount[target(e) + 1]++;
  }
  for (let i = 0; i < n; i++) predCount[i + 1] += predCount[i];
  const preds = new Uint32Array(predCount[n]);
  const fill = predCount.slice(0, n);
  for (let v = 0; v < n; v++) {
    if (order[v] < 0) continue;
    for (let e = firstEdge[v]; e < firstEdge[v + 1]; e += edgeFields) if (retains(e)) preds[fill[target(e)]++] = v;
  }

  // Immediate dominators (by postorder numbers).
  const UNDEF = -1;
  const idom = new Int32Array(count).fill(UNDEF);
  const root = order[0];
  idom[root] = root;
  const intersect = (a, b) => {
    while (a !== b) {
      while (a < b) a = idom[a];
      while (b < a) b = idom[b];
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = count - 2; k >= 0; k--) {
      const v = post[k];
      let best = UNDEF;
      for (let p = predCount[v]; p < predCount[v + 1]; p++) {
        const u = order[preds[p]];
        if (idom[u] === UNDEF) continue;
        best = best === UNDEF ? u : intersect(u, best);
      }
      if (best !== UNDEF && idom[k] !== best) {
        idom[k] = best;
        changed = true;
      }
    }
  }

  // Retained sizes: children (lower postorder numbers) before their dominators.
  const retained = new Float64Array(count);
  for (let k = 0; k < count; k++) retained[k] += nodes[post[k] * nodeFields + N_SIZE];
  for (let k = 0; k < count - 1; k++) if (idom[k] !== UNDEF && idom[k] !== k) retained[idom[k]] += retained[k];

  const typeOf = (v) => nodeTypes[nodes[v * nodeFields + N_TYPE]];
  const nameOf = (v) => strings[nodes[v * nodeFields + N_NAME]];
  const classOf = (v) => {
    const t = typeOf(v);
    return t === 'object' || t === 'closure' ? nameOf(v) : `(${t})`;
  };

  const byField = new Map();
  const byClass = new Map();
  let slicedCount = 0;
  let slicedParents = 0;
  const parentsSeen = new Set();
  for (let k = 0; k < count; k++) {
    const v = post[k];
    const cls = classOf(v);
    const c = byClass.get(cls) ?? { count: 0, selfBytes: 0 };
    c.count++;
    c.selfBytes += nodes[v * nodeFields + N_SIZE];
    byClass.set(cls, c);
    if (typeOf(v) === 'sliced string') {
      slicedCount++;
      for (let e = firstEdge[v]; e < firstEdge[v + 1]; e += edgeFields) {
        const w = target(e);
        if (strings[edges[e + E_NAME]] === 'parent' && !parentsSeen.has(w)) {
          parentsSeen.add(w);
          slicedParents += nodes[w * nodeFields + N_SIZE];
        }
      }
    }
    const t = typeOf(v);
    if (t !== 'object' && t !== 'closure') continue;
    for (let e = firstEdge[v]; e < firstEdge[v + 1]; e += edgeFields) {
      if (!retains(e)) continue;
      const w = target(e);
      const kw = order[w];
      if (kw < 0 || idom[kw] !== k) continue;
      const et = edgeTypes[edges[e + E_TYPE]];
      const field = et === 'element' ? '[]' : et === 'hidden' ? '(hidden)' : strings[edges[e + E_NAME]];
      const key = `${cls}.${field}`;
      byField.set(key, (byField.get(key) ?? 0) + retained[kw]);
    }
  }
  return { totalBytes: retained[root], nodes: count, byField, byClass, sliced: { count: slicedCount, parentBytes: slicedParents } };
}

/** The `top` largest entries of a Map of numbers (or of { selfBytes }), largest first. */
export function largest(map, top, value = (x) => x) {
  return [...map.entries()].sort((a, b) => value(b[1]) - value(a[1])).slice(0, top);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, topText] = process.argv.slice(2);
  const top = Number(topText ?? 40);
  const a = analyzeSnapshot(file);
  const kb = (b) => (b / 1024).toFixed(1).padStart(10);
  console.log(`${a.nodes} reachable objects, ${(a.totalBytes / 1024 / 1024).toFixed(1)} MB retained by the root`);
  console.log('\nretained by owner.field (KB)');
  for (const [k, v] of largest(a.byField, top)) console.log(`${kb(v)}  ${k}`);
  console.log('\nself size by class (KB, count)');
  for (const [k, v] of largest(a.byClass, top, (c) => c.selfBytes)) console.log(`${kb(v.selfBytes)}  ${String(v.count).padStart(8)}  ${k}`);
  console.log(`\nsliced strings: ${a.sliced.count}, keeping ${(a.sliced.parentBytes / 1024).toFixed(1)} KB of parents alive`);
}
