// Pure parsers for the handful of formats every cgroup interface file uses, so that each
// controller file only names its keys. Counters are JS numbers: beyond 2^53 they lose
// precision in the last digits, which no stat consumer can notice.
import { RuntimeFailureError } from "../common/errors.js";

/** A limit that the kernel prints as "max" (v2) or as a near-2^63 number (v1) reads as undefined. */
export type Limit = number | undefined;

// v1 prints "unlimited" as the largest page-aligned signed 64-bit value, which depends on the
// page size; anything at or above 2^62 bytes is unlimited in practice on every platform.
const V1_UNLIMITED_THRESHOLD = 2 ** 62;

export function parseUint(text: string, what: string): number {
  const trimmed = text.trim();
  if (!/^\d+$/.test(trimmed)) throw new RuntimeFailureError(`malformed ${what}: ${JSON.stringify(trimmed)}`);
  return Number(trimmed);
}

/** "max" or a number; huge v1 numbers also mean no limit. */
export function parseLimit(text: string, what: string): Limit {
  const trimmed = text.trim();
  if (trimmed === "max") return undefined;
  const value = parseUint(trimmed, what);
  return value >= V1_UNLIMITED_THRESHOLD ? undefined : value;
}

export function formatLimit(limit: number | "max"): string {
  return limit === "max" ? "max" : String(limit);
}

/** "key value" per line (cpu.stat, memory.stat, memory.events). Lines that are not that shape are skipped. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^(\S+)\s+(\d+)\s*$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) values.set(match[1], Number(match[2]));
  }
  return values;
}

/** "key k1=v1 k2=v2" per line (io.stat, PSI files); values stay strings since PSI has decimals. */
export function parseNestedKeyed(text: string): Map<string, Map<string, string>> {
  const rows = new Map<string, Map<string, string>>();
  for (const line of text.split("\n")) {
    const [key, ...pairs] = line.trim().split(/\s+/);
    if (!key) continue;
    const fields = new Map<string, string>();
    for (const pair of pairs) {
      const eq = pair.indexOf("=");
      if (eq > 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    rows.set(key, fields);
  }
  return rows;
}

export function toRecord(values: Map<string, number>): Record<string, number> {
  return Object.fromEntries(values);
}

/** A pid per line, as cgroup.procs and tasks list them. */
export function parsePidList(text: string): number[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) => parseUint(line, "pid list"));
}
