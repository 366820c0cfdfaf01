// Reading query and header values the same way in every router: one string or nothing, and a whole number
// in a range, whose error names the query parameter and the range.
import type { FieldError } from '../domain/errors.js';

/** The value when it is one string (not repeated, not absent). */
export function single(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A whole number from min to max, or fallback when absent; otherwise an error at /query/<name> (and fallback). */
export function wholeNumberParam(value: unknown, name: string, min: number, max: number, fallback: number, errors: FieldError[]): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    errors.push({ path: `/query/${name}`, message: `must be a whole number from ${min} to ${max}, got "${String(value)}"` });
    return fallback;
  }
  return n;
}
