// The clock's now as ISO text, remembered for the millisecond: a write asks it several times.
import type { Clock } from '../domain/clock.js';
import { isoTime } from '../domain/clock.js';

export class IsoNow {
  private ms = NaN;
  private text = '';

  constructor(readonly clock: Clock) {}

  now(): string {
    const ms = this.clock.now();
    if (ms !== this.ms) {
      this.ms = ms;
      this.text = isoTime(ms);
    }
    return this.text;
  }
}
