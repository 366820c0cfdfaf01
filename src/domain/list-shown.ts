// Names in a message, bounded: a message about thousands of servers stays a line.

/** The first `max` names, comma-separated, then ", and N more" when there are more: "a, b, and 3 more". */
export function listShown(names: readonly string[], max: number): string {
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown}, and ${names.length - max} more` : shown;
}
