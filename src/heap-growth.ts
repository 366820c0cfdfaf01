// How far V8 lets the JavaScript heap grow past what stayed live at its last full collection before it
// collects again. V8's own choice on a machine with memory to spare is up to 4× (300 %): a control plane
// whose live heap is ~70 MB at 10,000 servers then lets the garbage of a cold sync or a discovery round
// pile up to ~300 MB before a full collection, and resident memory follows. A lower factor bounds the heap
// near its live size, paid for with more collector work while garbage is made fast (cold sync, rediscovery);
// steady state makes little garbage and barely pays. Process-wide: the serve command sets it once, at start.
import { setFlagsFromString } from 'node:v8';

/**
 * Sets V8's heap growing factor (--heap-growing-percent) for this process: after each full collection the
 * next one starts once the heap has grown by `percent` % of what stayed live. 0 leaves V8's own choice.
 */
export function applyHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
