// Small decoding steps shared by the pod, container, probe and volume decoders.
import { type FieldPath, invalid, notSupported, required } from "./field-errors.js";
import { type ErrorSink, type ObjectReader } from "./field-reader.js";
import { portNameErrors, portNumberErrors } from "./names.js";
import { type Quantity, tryParseQuantity } from "./quantity.js";
import type { PortRef } from "./types.js";

/** Adds one Invalid error per message (Kubernetes reports each broken rule separately). */
export function reportAll(
  sink: ErrorSink,
  path: FieldPath,
  value: unknown,
  messages: readonly string[],
): void {
  for (const message of messages) sink.add(invalid(path, value, message));
}

/**
 * An enum field. Absent or "" takes the Kubernetes default, as the API server's defaulting
 * turns an empty string into the default for these fields.
 */
export function readEnum<T extends string>(
  r: ObjectReader,
  key: string,
  allowed: readonly T[],
  fallback: T,
): T {
  return readOptionalEnum(r, key, allowed) ?? fallback;
}

export function readOptionalEnum<T extends string>(
  r: ObjectReader,
  key: string,
  allowed: readonly T[],
): T | undefined {
  const value = r.string(key);
  if (value === undefined || value === "") return undefined;
  const match = allowed.find((a) => a === value);
  if (match === undefined) r.sink.add(notSupported(r.at(key), value, allowed));
  return match;
}

/** A quantity given as a string ("500m") or a bare number (0.5), as Kubernetes accepts both. */
export function decodeQuantity(value: unknown, path: FieldPath, sink: ErrorSink): Quantity | undefined {
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "number" && Number.isFinite(value)) text = String(value);
  else {
    sink.add(invalid(path, value, 'must be a quantity string such as "500m" or "1Gi"'));
    return undefined;
  }
  const parsed = tryParseQuantity(text);
  if ("error" in parsed) {
    sink.add(invalid(path, text, parsed.error));
    return undefined;
  }
  return parsed;
}

/** A port by number (1..65535) or by name (an IANA service name such as "http"). */
export function readPortRef(r: ObjectReader, key: string): PortRef | undefined {
  const value = r.raw(key);
  const path = r.at(key);
  if (value === undefined) {
    r.sink.add(required(path));
    return undefined;
  }
  if (typeof value === "number" && Number.isInteger(value)) {
    const errors = portNumberErrors(value);
    reportAll(r.sink, path, value, errors);
    return errors.length === 0 ? value : undefined;
  }
  if (typeof value === "string") {
    const errors = portNameErrors(value);
    reportAll(r.sink, path, value, errors);
    return errors.length === 0 ? value : undefined;
  }
  r.sink.add(invalid(path, value, "must be a port number or a port name"));
  return undefined;
}

export function readPortNumber(r: ObjectReader, key: string): number | undefined {
  const value = r.int(key, { int32: true });
  if (value === undefined) {
    if (!r.has(key)) r.sink.add(required(r.at(key)));
    return undefined;
  }
  const errors = portNumberErrors(value);
  reportAll(r.sink, r.at(key), value, errors);
  return errors.length === 0 ? value : undefined;
}

export function isAbsolutePath(value: string): boolean {
  return value.startsWith("/");
}

/** A copy without the keys whose value is undefined, so absent fields stay absent. */
export function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
