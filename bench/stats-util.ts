// Small helpers for benchmarks: timing and percentile tables.
export async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? NaN;
}

export function printTable(
  title: string,
  rows: { name: string; samples: number[]; baseline?: number[] }[],
): void {
  console.log(`\n${title}`);
  const header = ["step", "berth median", "berth p95", "baseline median", "baseline p95", "n"];
  const lines = rows.map((r) => [
    r.name,
    `${percentile(r.samples, 50).toFixed(1)} ms`,
    `${percentile(r.samples, 95).toFixed(1)} ms`,
    r.baseline ? `${percentile(r.baseline, 50).toFixed(1)} ms` : "-",
    r.baseline ? `${percentile(r.baseline, 95).toFixed(1)} ms` : "-",
    String(r.samples.length),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  for (const line of [header, ...lines]) console.log(line.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  "));
}

/** A whole-number count from the environment (counts make quick runs possible). */
export function envCount(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number >= 1`);
  return value;
}

/** Aligned columns, header first. */
export function printColumns(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  for (const line of [header, ...rows]) console.log(line.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  "));
}
