/**
 * Output of the benchmark: aligned plain-text tables on stdout, progress
 * lines on stderr, and the statistics the figures are made of.
 */

/**
 * A table printed with aligned columns; numbers are right-aligned.
 *
 * @example
 * ```ts
 * printTable('Replay', ['entries', 'ms'], [['1,000', 4.2]]);
 * ```
 */
export function printTable(title: string, header: string[], rows: (string | number)[][], notes: string[] = []): void {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const numeric = header.map(
    (_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || /^[\d.,$%×-]+$/.test(String(r[i] ?? ''))),
  );
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [
    title,
    line(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.slice(1).map(line),
    ...notes.map((n) => `  ${n}`),
    '',
  ];
  process.stdout.write(out.join('\n') + '\n');
}

/**
 * A number for humans: thousands separated, at most `digits` decimals, and
 * at least three significant digits for small values.
 *
 * @example
 * ```ts
 * fmt(12345.678) // '12,345.68'
 * fmt(0.000123) // '0.000123'
 * ```
 */
export function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  const decimals = abs === 0 || abs >= 1 ? digits : Math.min(8, Math.max(digits, 2 - Math.floor(Math.log10(abs))));
  return n.toLocaleString('en-US', { maximumFractionDigits: decimals, minimumFractionDigits: 0 });
}

/** A progress line on stderr (stdout carries only tables and the JSON line). */
export function progress(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

/** The median of a non-empty list. @example median([3, 1, 2]) // 2 */
export function median(values: number[]): number {
  return percentile(values, 50);
}

/**
 * The p-th percentile, by linear interpolation between closest ranks.
 *
 * @example
 * ```ts
 * percentile([1, 2, 3, 4], 50) // 2.5
 * ```
 */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

/** Rounds to `digits` decimals (for the JSON figures). @example round(1.23456, 2) // 1.23 */
export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Milliseconds since `start` (a `performance.now()` reading). */
export function since(start: number): number {
  return performance.now() - start;
}
