// Where a JSON string's plain bytes end: the next byte that is a quote, a backslash or a control byte
// (below 0x20), found 16 bytes at a time by a few lines of WebAssembly SIMD, for the envelope scan
// (answer-envelope.ts) of large answers. In JavaScript the same search costs about two thirds of the
// gateway's own CPU for a 5 MB text result (four bytes a word, a dozen operations each); here it is a
// copy of the bytes into the module's memory (a window at a time) and one vector compare per 16 bytes.
//
// Contract: next(i) answers exactly what the plain loop would (the first such index at or after i, or the
// chunk's length); where WebAssembly is not available (node --jitless) it is that loop.

/** Bytes copied into the module's memory at a time (one page). */
const WINDOW = 64 * 1024;

/** The v128 constant of 16 copies of `byte`. */
const splat = (byte: number): number[] => [0xfd, 0x0c, ...Array<number>(16).fill(byte)];

/**
 * (func $run (param $p i32) (param $end i32) (result i32) (local $v v128)
 *   (block $found (loop $next
 *     (br_if $found (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))   ;; fewer than 16 left
 *     (local.set $v (v128.load (local.get $p)))
 *     (br_if $found (v128.any_true (v128.or (v128.or
 *       (i8x16.lt_u (local.get $v) (v128.const i8x16 0x20 …)) (i8x16.eq (local.get $v) (v128.const i8x16 0x22 …)))
 *       (i8x16.eq (local.get $v) (v128.const i8x16 0x5c …)))))
 *     (local.set $p (i32.add (local.get $p) (i32.const 16)))
 *     (br $next)))
 *   (local.get $p))   ;; the 16 bytes holding the first special byte, or where the last few start
 */
const RUN_BODY = [
  0x01, 0x01, 0x7b, // one local: v128
  0x02, 0x40, 0x03, 0x40, // block, loop
  0x20, 0x00, 0x41, 0x10, 0x6a, 0x20, 0x01, 0x4b, 0x0d, 0x01, // p + 16 > end: br_if block
  0x20, 0x00, 0xfd, 0x00, 0x00, 0x00, 0x21, 0x02, // v = v128.load p
  0x20, 0x02, ...splat(0x20), 0xfd, 0x26, // i8x16.lt_u
  0x20, 0x02, ...splat(0x22), 0xfd, 0x23, // i8x16.eq
  0xfd, 0x50, // v128.or
  0x20, 0x02, ...splat(0x5c), 0xfd, 0x23, // i8x16.eq
  0xfd, 0x50, // v128.or
  0xfd, 0x53, 0x0d, 0x01, // v128.any_true: br_if block
  0x20, 0x00, 0x41, 0x10, 0x6a, 0x21, 0x00, // p += 16
  0x0c, 0x00, 0x0b, 0x0b, // br loop; end loop; end block
  0x20, 0x00, 0x0b, // p
];

function section(id: number, bytes: number[]): number[] {
  return [id, bytes.length, ...bytes]; // every section here is shorter than 128 bytes: a one-byte length
}

const MODULE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // \0asm, version 1
  ...section(1, [0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f]), // type: (i32, i32) -> i32
  ...section(3, [0x01, 0x00]), // one function of that type
  ...section(5, [0x01, 0x00, 0x01]), // one memory, one page at least (WINDOW bytes)
  ...section(7, [0x02, 0x03, 0x72, 0x75, 0x6e, 0x00, 0x00, 0x03, 0x6d, 0x65, 0x6d, 0x02, 0x00]), // export "run", "mem"
  ...section(10, [0x01, RUN_BODY.length, ...RUN_BODY]),
]);

/** What this module uses of the WebAssembly global (not in the TypeScript libs this build has). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
};

interface Simd {
  run: (p: number, end: number) => number;
  bytes: Uint8Array;
}

function instantiate(): Simd | undefined {
  try {
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(MODULE));
    const memory = exports.mem as { buffer: ArrayBuffer };
    return { run: exports.run as Simd['run'], bytes: new Uint8Array(memory.buffer, 0, WINDOW) };
  } catch {
    return undefined;
  }
}

const simd = instantiate();
/** Whose window the module's memory holds (one SpecialBytes at a time: a push runs to its end before the next). */
let loaded: SpecialBytes | undefined;

function special(c: number): boolean {
  return c < 0x20 || c === 0x22 || c === 0x5c;
}

const NO_BYTES = new Uint8Array(0);

/** The special bytes of one chunk, searched as a scan moves forward through it (one per push). */
export class SpecialBytes {
  private chunk: Uint8Array = NO_BYTES;
  /** The part of `chunk` now in the module's memory. */
  private from = 0;
  private to = 0;

  /** The chunk the next calls search; the window of the previous one is stale. */
  reset(chunk: Uint8Array): void {
    this.chunk = chunk;
    this.from = this.to = 0;
  }

  /** The first index at or after `i` holding a quote, a backslash or a control byte; the chunk's length when none does. */
  next(i: number): number {
    const chunk = this.chunk;
    const end = chunk.length;
    if (!simd || end - i < 64) return plain(chunk, i, end);
    while (i < end) {
      if (loaded !== this || i < this.from || i >= this.to) {
        this.from = i;
        this.to = Math.min(end, i + WINDOW);
        simd.bytes.set(chunk.subarray(this.from, this.to), 0);
        loaded = this;
      }
      // The 16 bytes holding the first special byte, or the last few bytes of the window: at most 16 to look at.
      const at = plain(chunk, this.from + simd.run(i - this.from, this.to - this.from), this.to);
      if (at < this.to) return at;
      i = this.to;
    }
    return end;
  }
}

function plain(b: Uint8Array, i: number, end: number): number {
  while (i < end && !special(b[i]!)) i++;
  return i;
}
