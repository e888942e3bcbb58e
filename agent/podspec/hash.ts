// A stable fingerprint of a container (or whole pod) spec, recorded when a container is
// created so that a later spec can be compared with what is running: a different hash means
// the container must be replaced. Key order and how a quantity was written ("1Gi" versus
// "1073741824") do not change the hash; any change of meaning does.
import { createHash } from "node:crypto";
import type { Container, PodSpec } from "./types.js";

export function podSpecHash(spec: Container | PodSpec): string {
  return createHash("sha256").update(canonicalJson(spec)).digest("hex").slice(0, 16);
}

function isQuantity(value: object): value is { nanos: bigint } {
  return "nanos" in value && typeof value.nanos === "bigint";
}

/** JSON with sorted keys, undefined members dropped and quantities reduced to their value. */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    return typeof value === "bigint" ? JSON.stringify(value.toString()) : (JSON.stringify(value) ?? "null");
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isQuantity(value)) return JSON.stringify({ quantityNanos: value.nanos.toString() });
  const members = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
  return `{${members.join(",")}}`;
}
