// Rendering for the CLI: aligned tables for people, JSON or YAML for scripts.
import { createRequire } from "node:module";

type YamlModule = typeof import("yaml");
let yamlModule: YamlModule | undefined;

/** YAML is loaded on the first `-o yaml`, not at every CLI start. */
function toYaml(value: unknown): string {
  yamlModule ??= createRequire(import.meta.url)("yaml") as YamlModule;
  return yamlModule.stringify(value);
}

export type OutputFormat = "table" | "wide" | "json" | "yaml";

export function parseFormat(value: string | undefined): OutputFormat {
  const format = value ?? "table";
  if (format === "table" || format === "wide" || format === "json" || format === "yaml") return format;
  throw new Error(`unknown output format "${format}" (use json, yaml or wide)`);
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("   ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n") + "\n";
}

/** JSON/YAML of API objects: bigint becomes a number (or a string when too large). */
export function structured(value: unknown, format: "json" | "yaml"): string {
  const plain = JSON.parse(
    JSON.stringify(value, (_k, v: unknown) =>
      typeof v === "bigint" ? (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString()) : v,
    ),
  ) as unknown;
  return format === "json" ? JSON.stringify(plain, null, 2) + "\n" : toYaml(plain);
}

/** "3m ago" from nanoseconds since the epoch. */
export function ago(nanos: bigint, now = Date.now()): string {
  if (nanos === 0n) return "-";
  const seconds = Math.max(0, Math.round((now - Number(nanos / 1_000_000n)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 13);
}

export function humanBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)}${units[unit]}`;
}
