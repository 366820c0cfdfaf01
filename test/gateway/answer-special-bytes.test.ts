// The search for the end of a JSON string's plain bytes (WebAssembly SIMD) answers exactly what a plain
// byte loop answers: at every kind of special byte, at every offset within the 16-byte blocks and the
// 64 KiB windows, and when two searches take turns with the module's one memory.
import { SpecialBytes } from '../../src/gateway/data-plane/answer-special-bytes.js';

function expected(b: Uint8Array, i: number): number {
  while (i < b.length && !(b[i]! < 0x20 || b[i] === 0x22 || b[i] === 0x5c)) i++;
  return i;
}

/** Deterministic bytes: mostly plain (ASCII and UTF-8 lead/continuation bytes), a special one now and then. */
function bytes(length: number, everyAbout: number, seed: number): Buffer {
  let x = seed;
  const random = () => ((x = (x * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const out = Buffer.alloc(length);
  const specials = [0x00, 0x09, 0x0a, 0x1f, 0x22, 0x5c];
  const plain = () => {
    const c = 0x20 + Math.floor(random() * 0xe0);
    return c === 0x22 || c === 0x5c ? 0x41 : c;
  };
  for (let i = 0; i < length; i++) out[i] = random() < 1 / everyAbout ? specials[Math.floor(random() * specials.length)]! : plain();
  return out;
}

it('finds every special byte a plain loop finds, wherever it lies', () => {
  const search = new SpecialBytes();
  for (const [length, every] of [[70, 10], [1000, 50], [200_000, 5000], [300_000, 1e9]] as const) {
    const b = bytes(length, every, length);
    search.reset(b);
    // Walk as the scanner does: from each found byte on.
    for (let i = 0; i < b.length; ) {
      const at = search.next(i);
      expect(at).toBe(expected(b, i));
      i = at + 1;
    }
  }
});

it('answers for each offset of a block, and for a chunk that is a view into a larger buffer', () => {
  const search = new SpecialBytes();
  const backing = Buffer.alloc(4096, 0x61);
  for (let at = 100; at < 132; at++) {
    backing.fill(0x61);
    backing[at] = 0x22;
    const view = backing.subarray(3, 4000);
    search.reset(view);
    for (const from of [0, 1, 15, 16, 17, at - 3 - 1, at - 3]) expect(search.next(from)).toBe(at - 3);
    expect(search.next(at - 3 + 1)).toBe(view.length);
  }
});

it('keeps two searches apart when they take turns', () => {
  const a = bytes(150_000, 3000, 7);
  const b = bytes(150_000, 3000, 11);
  const sa = new SpecialBytes();
  const sb = new SpecialBytes();
  sa.reset(a);
  sb.reset(b);
  for (let i = 0, j = 0; i < a.length || j < b.length; ) {
    if (i < a.length) {
      const at = sa.next(i);
      expect(at).toBe(expected(a, i));
      i = at + 1;
    }
    if (j < b.length) {
      const at = sb.next(j);
      expect(at).toBe(expected(b, j));
      j = at + 1;
    }
  }
});
