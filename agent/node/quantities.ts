// Node quantities as Kubernetes prints them, and the few text formats of the node and eviction
// config: byte counts in the canonical form of a BinarySI resource.Quantity ("24684084Ki",
// "100Mi"), CPU in cores or millicores ("2", "1900m"), and Go durations ("5m", "1m30s").
import { InvalidArgumentError } from "../../common/errors.js";
import { parseQuantity, quantityToBytes, quantityToMilli } from "../podspec/quantity.js";

const BINARY_SUFFIXES = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"] as const;
const DECIMAL_SUFFIXES = ["", "k", "M", "G", "T", "P", "E"] as const;

/** An integer in DecimalSI canonical form: trailing thousands become a suffix ("1000" -> "1k"). */
export function formatDecimal(value: number): string {
  let v = Math.trunc(value);
  let exponent = 0;
  while (v !== 0 && v % 1000 === 0 && exponent < DECIMAL_SUFFIXES.length - 1) {
    v /= 1000;
    exponent++;
  }
  return `${v}${DECIMAL_SUFFIXES[exponent]}`;
}

/**
 * Bytes as a BinarySI quantity prints: the largest power of 1024 that divides the value
 * exactly ("104857600" -> "100Mi", "83886081" -> "83886081"); below 1024 Kubernetes falls back
 * to decimal notation.
 */
export function formatBytes(bytes: number): string {
  const v = Math.trunc(bytes);
  if (Math.abs(v) < 1024) return formatDecimal(v);
  let exponent = 0;
  let mantissa = v;
  while (mantissa % 1024 === 0 && exponent < BINARY_SUFFIXES.length - 1) {
    mantissa /= 1024;
    exponent++;
  }
  return `${mantissa}${BINARY_SUFFIXES[exponent]}`;
}

/** CPU from millicores: whole cores when exact ("2"), else millicores ("1900m"). */
export function formatMilliCpu(milli: number): string {
  const m = Math.trunc(milli);
  return m % 1000 === 0 ? formatDecimal(m / 1000) : `${m}m`;
}

/** A quantity in the config, "" meaning none: bytes. */
export function parseBytesSetting(text: string, field: string): number {
  if (text.trim() === "") return 0;
  const bytes = quantityToBytes(parseQuantity(text.trim(), field));
  if (bytes < 0) throw new InvalidArgumentError(field, `must not be negative, got "${text}"`);
  return bytes;
}

/** A CPU quantity in the config, "" meaning none: millicores. */
export function parseMilliCpuSetting(text: string, field: string): number {
  if (text.trim() === "") return 0;
  const milli = quantityToMilli(parseQuantity(text.trim(), field));
  if (milli < 0) throw new InvalidArgumentError(field, `must not be negative, got "${text}"`);
  return milli;
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go duration ("5m", "1m30s", "250ms"; "0" alone is zero), in milliseconds. */
export function parseDuration(text: string, field: string): number {
  const trimmed = text.trim();
  if (trimmed === "0") return 0;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < trimmed.length) {
    part.lastIndex = index;
    const match = part.exec(trimmed);
    if (!match) break;
    total += Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? ""] ?? 0);
    index = part.lastIndex;
  }
  if (trimmed === "" || index !== trimmed.length) {
    throw new InvalidArgumentError(field, `"${text}" is not a duration such as "90s", "5m" or "1m30s"`);
  }
  return total;
}
