// Keys, each due at a time, under one clock timer set for the earliest (none while nothing waits): no
// timer per key, so a fleet of 50,000 waiting keys costs a heap entry each, not a Timeout and a timer list.
//
// Contracts:
// - set() makes `at` the key's due time, replacing any earlier set() of it (the replaced entry is dropped
//   as it reaches the top of the heap).
// - onDue(key) runs once per current set(), at or after its due time, in due order (ties: the first set first).
//   It runs synchronously from the timer and may set() or delete() any key.
// - A timer waits at most MAX_TIMER_MS (Node fires a longer one at once) and is armed again until due.
import type { Clock, TimerHandle } from '../domain/clock.js';

/** The longest delay a timer is set for: Node fires one longer than 2^31 - 1 ms at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** One key's due time; in the heap until due, current while `current` maps its key to it (else replaced). */
interface DueEntry {
  key: string;
  at: number;
  /** Order of the set() calls: of two keys due at once, the first set is due first. */
  seq: number;
}

export class DueKeys {
  private readonly current = new Map<string, DueEntry>();
  /** Entries by due time (replaced ones are dropped as they reach the top). */
  private readonly heap = new DueHeap();
  /** The one timer, set for the earliest due time. */
  private timer: { at: number; handle: TimerHandle } | undefined;
  private seq = 0;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (key: string) => void,
  ) {}

  /** Keys waiting. */
  get size(): number {
    return this.current.size;
  }

  /** When key is due; undefined when it is not waiting. */
  dueAt(key: string): number | undefined {
    return this.current.get(key)?.at;
  }

  set(key: string, at: number): void {
    const entry: DueEntry = { key, at, seq: this.seq++ };
    this.current.set(key, entry);
    this.heap.push(entry);
    this.arm();
  }

  delete(key: string): void {
    if (this.current.delete(key)) this.arm();
  }

  clear(): void {
    this.current.clear();
    this.heap.clear();
    this.arm();
  }

  /** Runs onDue for every key now due, in due order, then sets the timer for the next. */
  private fire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    for (let top = this.heap.peek(); top && top.at <= now; top = this.heap.peek()) {
      this.heap.pop();
      if (this.current.get(top.key) !== top) continue;
      this.current.delete(top.key);
      this.onDue(top.key);
    }
    this.arm();
  }

  /** The timer for the earliest current entry (replaced ones at the top are dropped first). */
  private arm(): void {
    let top = this.heap.peek();
    while (top && this.current.get(top.key) !== top) {
      this.heap.pop();
      top = this.heap.peek();
    }
    if (this.timer && (!top || this.timer.at !== top.at)) {
      this.clock.clearTimeout(this.timer.handle);
      this.timer = undefined;
    }
    if (!top || this.timer) return;
    const delayMs = Math.min(MAX_TIMER_MS, Math.max(0, top.at - this.clock.now()));
    this.timer = { at: top.at, handle: this.clock.setTimeout(() => this.fire(), delayMs) };
  }
}

/** A binary min-heap of entries by due time (ties: the one set first). */
class DueHeap {
  private readonly items: DueEntry[] = [];

  peek(): DueEntry | undefined {
    return this.items[0];
  }

  push(item: DueEntry): void {
    const items = this.items;
    items.push(item);
    for (let i = items.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): DueEntry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let least = i;
        if (l < items.length && before(items[l]!, items[least]!)) least = l;
        if (r < items.length && before(items[r]!, items[least]!)) least = r;
        if (least === i) break;
        [items[i], items[least]] = [items[least]!, items[i]!];
        i = least;
      }
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }
}

function before(a: DueEntry, b: DueEntry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
