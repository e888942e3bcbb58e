// Container requests and limits for cpu, memory and ephemeral-storage, with Kubernetes'
// defaulting (a limit without a request makes the request equal to the limit) and checks
// (no negative value, request <= limit).
import { type FieldPath, invalid, notSupported } from "./field-errors.js";
import { type ErrorSink, ObjectReader, isPlainObject } from "./field-reader.js";
import { decodeQuantity } from "./decode-common.js";
import { compareQuantities, type Quantity } from "./quantity.js";
import type { ResourceList, ResourceRequirements } from "./types.js";

const RESOURCE_KEYS = { cpu: "cpu", memory: "memory", "ephemeral-storage": "ephemeralStorage" } as const;
type ResourceName = keyof typeof RESOURCE_KEYS;
const RESOURCE_NAMES = Object.keys(RESOURCE_KEYS).sort() as ResourceName[];

function isResourceName(name: string): name is ResourceName {
  return Object.hasOwn(RESOURCE_KEYS, name);
}

export function decodeResources(value: unknown, path: FieldPath, sink: ErrorSink): ResourceRequirements {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return { requests: {}, limits: {} };
  const limits = decodeResourceList(r.raw("limits"), r.at("limits"), sink);
  const written = decodeResourceList(r.raw("requests"), r.at("requests"), sink);
  r.unsupported(["claims"], "berth does not implement dynamic resource allocation");
  r.finish();

  const requests: Partial<Record<ResourceName, Quantity>> = { ...written };
  for (const name of RESOURCE_NAMES) {
    const limit = limits[name];
    const request = requests[name];
    if (limit === undefined) continue;
    if (request === undefined) requests[name] = limit;
    else if (compareQuantities(request, limit) > 0) {
      sink.add(
        invalid(
          r.at("requests"),
          request.text,
          `must be less than or equal to ${name} limit of ${limit.text}`,
        ),
      );
    }
  }
  return { requests: toResourceList(requests), limits: toResourceList(limits) };
}

function decodeResourceList(
  value: unknown,
  path: FieldPath,
  sink: ErrorSink,
): Partial<Record<ResourceName, Quantity>> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    sink.add(invalid(path, value, "must be an object"));
    return {};
  }
  const out: Partial<Record<ResourceName, Quantity>> = {};
  for (const [name, raw] of Object.entries(value)) {
    const itemPath = path.key(name);
    if (!isResourceName(name)) {
      sink.add(notSupported(itemPath, name, RESOURCE_NAMES));
      continue;
    }
    const quantity = decodeQuantity(raw, itemPath, sink);
    if (quantity === undefined) continue;
    if (quantity.nanos < 0n) {
      sink.add(invalid(itemPath, quantity.text, "must be greater than or equal to 0"));
      continue;
    }
    out[name] = quantity;
  }
  return out;
}

function toResourceList(byName: Partial<Record<ResourceName, Quantity>>): ResourceList {
  const list: { -readonly [K in keyof ResourceList]: ResourceList[K] } = {};
  for (const name of RESOURCE_NAMES) {
    const q = byName[name];
    if (q !== undefined) list[RESOURCE_KEYS[name]] = q;
  }
  return list;
}
