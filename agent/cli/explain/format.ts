// The small words of a diagnosis: clock times a person reads at a glance ("12:01:03 (3m ago)"),
// memory in the binary units limits are written in ("126Mi"), CPU in millicores ("490m").
import { quantityToBytes, quantityToMilli, tryParseQuantity } from "../../podspec/quantity.js";
import { humanDuration } from "../pod-columns.js";

export interface Clock {
  /** Milliseconds since the epoch. */
  now: number;
  utc: boolean;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** Wall-clock fields of `ms` in the chosen zone. */
function wallClock(ms: number, utc: boolean): Date {
  // Shifting by the offset and reading UTC fields gives the local wall clock.
  const offsetMinutes = utc ? 0 : -new Date(ms).getTimezoneOffset();
  return new Date(ms + offsetMinutes * 60_000);
}

/** "12:01:03" today, "Feb 28 12:01:03" on another day; the ISO text itself when it does not parse. */
export function clockTime(iso: string, clock: Clock): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const d = wallClock(ms, clock.utc);
  const today = wallClock(clock.now, clock.utc);
  const two = (n: number): string => String(n).padStart(2, "0");
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  const sameDay =
    d.getUTCFullYear() === today.getUTCFullYear() &&
    d.getUTCMonth() === today.getUTCMonth() &&
    d.getUTCDate() === today.getUTCDate();
  if (sameDay) return time;
  const year = d.getUTCFullYear() === today.getUTCFullYear() ? "" : ` ${d.getUTCFullYear()}`;
  return `${MONTHS[d.getUTCMonth()]} ${two(d.getUTCDate())}${year} ${time}`;
}

/** "12:01:03 (3m ago)". */
export function clockTimeAgo(iso: string, clock: Clock): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  return `${clockTime(iso, clock)} (${humanDuration(clock.now - ms)} ago)`;
}

/** A duration between two RFC 3339 times, "~2s" or "<1s"; undefined when either is missing. */
export function durationBetween(from: string | undefined, to: string | undefined): string | undefined {
  const a = from ? Date.parse(from) : NaN;
  const b = to ? Date.parse(to) : NaN;
  if (Number.isNaN(a) || Number.isNaN(b) || b < a) return undefined;
  // Status times are whole seconds: equal ones mean a run shorter than a second.
  return b - a < 1000 ? "<1s" : `~${humanDuration(b - a)}`;
}

const BINARY_UNITS = ["", "Ki", "Mi", "Gi", "Ti", "Pi"];

/** Bytes in binary units, whole above 10 ("126Mi"), one decimal below ("1.5Gi"). */
export function binaryBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)}B`;
  const text = Math.abs(value) >= 10 ? String(Math.round(value)) : value.toFixed(1).replace(/\.0$/, "");
  return `${text}${BINARY_UNITS[unit]}`;
}

/** Nanocores as millicores: "490m". */
export function milliCpu(nanoCores: number): string {
  return `${Math.round(nanoCores / 1e6)}m`;
}

export function percentOf(part: number, whole: number): number {
  return whole > 0 ? Math.round((part / whole) * 100) : 0;
}

/** Bytes of a quantity as the pod JSON writes it ("128Mi"); undefined when absent or unreadable. */
export function quantityBytes(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const q = tryParseQuantity(text);
  return "error" in q ? undefined : quantityToBytes(q);
}

/** Millicores of a CPU quantity ("500m", "2"); undefined when absent or unreadable. */
export function quantityMilli(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const q = tryParseQuantity(text);
  return "error" in q ? undefined : quantityToMilli(q);
}

const GO_DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration as the kubelet prints back-offs ("40s", "1m20s", "5m0s"), in ms; undefined if it is not one. */
export function goDurationMs(text: string): number | undefined {
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < text.length) {
    part.lastIndex = index;
    const match = part.exec(text);
    if (!match) return undefined;
    total += Number(match[1]) * (GO_DURATION_UNITS_MS[match[2] ?? ""] ?? 0);
    index = part.lastIndex;
  }
  return index > 0 ? total : undefined;
}

/** "1 time", "3 times". */
export function times(n: number): string {
  return n === 1 ? "1 time" : `${n} times`;
}

/** Sizes as the runtime's OOM messages write them ("126.0 MiB", "512 B"), in bytes. */
export function parseIecBytes(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)$/.exec(text.trim());
  if (!m) return undefined;
  const power = ["B", "KiB", "MiB", "GiB", "TiB"].indexOf(m[2] ?? "");
  return Math.round(Number(m[1]) * 1024 ** power);
}
