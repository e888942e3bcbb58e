// Container environment: literal values, and values from the downward API (pod fields and
// container resources). configMap and secret sources need an API server berth does not have.
import { type FieldPath, invalid, notSupported } from "./field-errors.js";
import { type ErrorSink, ObjectReader } from "./field-reader.js";
import { decodeQuantity, reportAll } from "./decode-common.js";
import { envVarNameErrors, qualifiedNameErrors } from "./names.js";
import { type Quantity, tryParseQuantity } from "./quantity.js";
import {
  DOWNWARD_API_ENV_FIELDS,
  type DownwardApiField,
  type EnvVar,
  type EnvVarSource,
  type FieldRef,
  RESOURCE_FIELD_REFS,
  type ResourceFieldRef,
} from "./types.js";

const UNSUPPORTED_SOURCES = ["configMapKeyRef", "secretKeyRef", "fileKeyRef"];

export function decodeEnvVar(value: unknown, path: FieldPath, sink: ErrorSink): EnvVar | undefined {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return undefined;
  const name = r.requiredString("name");
  if (name !== undefined) reportAll(sink, r.at("name"), name, envVarNameErrors(name));
  const literal = r.string("value") ?? "";
  const valueFrom = r.has("valueFrom")
    ? decodeValueFrom(r.raw("valueFrom"), r.at("valueFrom"), literal, sink)
    : undefined;
  r.finish();
  if (name === undefined) return undefined;
  return valueFrom === undefined ? { name, value: literal } : { name, valueFrom };
}

function decodeValueFrom(
  value: unknown,
  path: FieldPath,
  literal: string,
  sink: ErrorSink,
): EnvVarSource | undefined {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return undefined;
  const sources = [...UNSUPPORTED_SOURCES, "fieldRef", "resourceFieldRef"].filter((key) => r.has(key)).length;
  const fieldRef = r.has("fieldRef") ? decodeFieldRef(r.raw("fieldRef"), r.at("fieldRef"), sink) : undefined;
  const resourceRef = r.has("resourceFieldRef")
    ? decodeResourceFieldRef(r.raw("resourceFieldRef"), r.at("resourceFieldRef"), sink)
    : undefined;
  r.unsupported(UNSUPPORTED_SOURCES, "berth has no API server to read configMaps or secrets from");
  r.finish();
  if (sources === 0) {
    sink.add(
      invalid(
        path,
        "",
        "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
      ),
    );
  } else if (literal !== "") {
    sink.add(invalid(path, "", "may not be specified when `value` is not empty"));
  } else if (sources > 1) {
    sink.add(invalid(path, "", "may not have more than one field specified at a time"));
  }
  return fieldRef ?? resourceRef;
}

function decodeFieldRef(value: unknown, path: FieldPath, sink: ErrorSink): FieldRef | undefined {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return undefined;
  const apiVersion = r.string("apiVersion") || "v1";
  const fieldPath = r.requiredString("fieldPath");
  r.finish();
  if (apiVersion !== "v1") {
    sink.add(notSupported(path.child("apiVersion"), apiVersion, ["v1"]));
    return undefined;
  }
  if (fieldPath === undefined) return undefined;

  const subscripted = splitSubscript(fieldPath);
  if (subscripted !== undefined) {
    const { field, key } = subscripted;
    if (field !== "metadata.labels" && field !== "metadata.annotations") {
      sink.add(invalid(path, field, "does not support subscript"));
      return undefined;
    }
    const errors = qualifiedNameErrors(field === "metadata.annotations" ? key.toLowerCase() : key);
    reportAll(sink, path, key, errors);
    return errors.length === 0 ? { type: "fieldRef", fieldPath, field, key } : undefined;
  }
  const field = DOWNWARD_API_ENV_FIELDS.find((f) => f === fieldPath);
  if (field === undefined) {
    sink.add(notSupported(path.child("fieldPath"), fieldPath, DOWNWARD_API_ENV_FIELDS));
    return undefined;
  }
  return { type: "fieldRef", fieldPath, field };
}

/** `metadata.labels['app']` -> field and key, as Kubernetes splits a subscripted path. */
function splitSubscript(fieldPath: string): { field: DownwardApiField | string; key: string } | undefined {
  if (!fieldPath.endsWith("']")) return undefined;
  const inner = fieldPath.slice(0, -2);
  const open = inner.indexOf("['");
  if (open <= 0) return undefined;
  return { field: inner.slice(0, open), key: inner.slice(open + 2) };
}

const CPU_DIVISORS = new Set([1_000_000n, 1_000_000_000n].map(String));
const BYTE_DIVISORS = new Set(
  [
    ...[0, 3, 6, 9, 12, 15, 18].map((p) => 10n ** BigInt(p)),
    ...[10, 20, 30, 40, 50, 60].map((p) => 1n << BigInt(p)),
  ].map((units) => String(units * 1_000_000_000n)),
);

function decodeResourceFieldRef(
  value: unknown,
  path: FieldPath,
  sink: ErrorSink,
): ResourceFieldRef | undefined {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return undefined;
  const containerName = r.string("containerName") || undefined;
  const resourceText = r.requiredString("resource");
  const divisorValue = r.raw("divisor");
  const written =
    divisorValue === undefined ? undefined : decodeQuantity(divisorValue, r.at("divisor"), sink);
  r.finish();
  if (resourceText === undefined) return undefined;
  const resource = RESOURCE_FIELD_REFS.find((name) => name === resourceText);
  if (resource === undefined) {
    sink.add(notSupported(path.child("resource"), resourceText, RESOURCE_FIELD_REFS));
    return undefined;
  }
  // An unset or zero divisor means 1, as in Kubernetes.
  const divisor: Quantity = written === undefined || written.nanos === 0n ? one() : written;
  const isCpu = resource.endsWith(".cpu");
  const allowed = isCpu ? CPU_DIVISORS : BYTE_DIVISORS;
  if (!allowed.has(String(divisor.nanos))) {
    const detail = isCpu
      ? "only divisor's values 1m and 1 are supported with the cpu resource"
      : `only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the ${
          resource.endsWith(".memory") ? "memory" : "local ephemeral storage"
        } resource`;
    sink.add(invalid(path.child("divisor"), resource, detail));
    return undefined;
  }
  return {
    type: "resourceFieldRef",
    ...(containerName !== undefined && { containerName }),
    resource,
    divisor,
  };
}

function one(): Quantity {
  const parsed = tryParseQuantity("1");
  if ("error" in parsed) throw new Error("the quantity 1 must parse");
  return parsed;
}
