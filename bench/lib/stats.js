// Small statistics helpers: percentiles by nearest rank, and number formatting for the tables.

export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(values) {
  return {
    n: values.length,
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p99: percentile(values, 99),
    max: values.length ? Math.max(...values) : NaN,
    mean: values.length ? values.reduce((a, b) => a + b, 0) / values.length : NaN,
  };
}

export function median(values) {
  return percentile(values, 50);
}

/** 1234.5 → "1,235"; 12.345 → "12.3"; 0.0123 → "0.012". */
export function fmt(n, digits) {
  if (n === undefined || n === null || Number.isNaN(n)) return '–';
  const d = digits ?? (Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : Math.abs(n) >= 1 ? 2 : 3);
  return n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

export const ms = (n) => `${fmt(n)} ms`;
export const mb = (n) => `${fmt(n, 1)} MB`;
