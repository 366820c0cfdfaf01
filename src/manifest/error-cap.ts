// The one bound on how many errors an input is answered with: every path that reports field errors (API
// bodies, manifest validation, parsed files) lists at most MAX_REPORTED_ERRORS and then one entry counting
// the rest, so no input can make an answer (or the work of building it) grow with its own size.
import type { FieldError } from '../domain/errors.js';

/** At most this many errors are reported for one input; one more entry counts the rest. */
export const MAX_REPORTED_ERRORS = 50;

/**
 * The first MAX_REPORTED_ERRORS of `errors`, in the order given, then one entry (path "", `omitted` set)
 * that counts the rest: those cut here, `uncounted` more known to exist but not listed, and what entries
 * already standing for omitted errors counted (folded in, so capping twice is safe). `estimated`: the
 * count is a lower bound ("about …"). The count entry takes the position of the last error shown, so an
 * answer sorted by line keeps it last.
 */
export function capReportedErrors(errors: readonly FieldError[], uncounted = 0, estimated = false): FieldError[] {
  let omitted = uncounted;
  let about = estimated;
  const listed: FieldError[] = [];
  for (const e of errors) {
    if (e.omitted !== undefined) {
      omitted += e.omitted;
      about ||= e.message.startsWith('about ');
    } else {
      listed.push(e);
    }
  }
  if (listed.length > MAX_REPORTED_ERRORS) {
    omitted += listed.length - MAX_REPORTED_ERRORS;
    listed.length = MAX_REPORTED_ERRORS;
  }
  if (omitted === 0) return listed;
  const count = `${about ? 'about ' : ''}${omitted.toLocaleString('en-US')}`;
  const entry: FieldError = {
    path: '',
    message: `${count} more error${omitted === 1 ? '' : 's'} not shown: only the first ${listed.length} are reported; fix these and send again`,
    omitted,
  };
  const last = listed[listed.length - 1];
  if (last?.line !== undefined) {
    entry.line = last.line;
    entry.col = last.col ?? 1;
  }
  return [...listed, entry];
}
