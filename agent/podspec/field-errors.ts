// Field errors worded the way Kubernetes words them, so that a user who knows
// `kubectl apply` output reads berth's rejections without translation:
//   spec.containers[1].livenessProbe.periodSeconds: Invalid value: 0: must be greater than or equal to 1
// Validation collects every error of a manifest, then throws them together as one
// PodSpecInvalidError (an InvalidArgumentError, so it maps to INVALID_ARGUMENT).
import { InvalidArgumentError } from "../../common/errors.js";

/** A field path as Kubernetes prints it: `spec.containers[0].ports[1].name`, `resources.limits[cpu]`. */
export class FieldPath {
  private constructor(private readonly text: string) {}

  static root(name = ""): FieldPath {
    return new FieldPath(name);
  }

  child(...names: string[]): FieldPath {
    let text = this.text;
    for (const name of names) text = text === "" ? name : `${text}.${name}`;
    return new FieldPath(text);
  }

  index(i: number): FieldPath {
    return new FieldPath(`${this.text}[${i}]`);
  }

  key(k: string): FieldPath {
    return new FieldPath(`${this.text}[${k}]`);
  }

  toString(): string {
    return this.text;
  }
}

export type FieldErrorType =
  | "Invalid"
  | "Required"
  | "Duplicate"
  | "NotSupported"
  | "NotFound"
  | "Forbidden"
  | "TooLong"
  | "UnknownField"
  | "UnsupportedField";

export class FieldError {
  constructor(
    readonly type: FieldErrorType,
    /** The path of the offending field, e.g. `spec.containers[0].name`. */
    readonly field: string,
    /** What is wrong, without the path: `Invalid value: 0: must be greater than or equal to 1`. */
    readonly problem: string,
  ) {}

  toString(): string {
    // A problem with the document itself (an unknown top-level key) has no path to print.
    return this.field === "" ? this.problem : `${this.field}: ${this.problem}`;
  }
}

/** Prints a bad value as Kubernetes does: strings quoted, numbers and booleans bare, the rest as JSON. */
export function formatValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return String(value);
  if (value === undefined || value === null) return "null";
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  } catch {
    return String(value);
  }
}

export function invalid(path: FieldPath, value: unknown, detail: string): FieldError {
  const body = `Invalid value: ${formatValue(value)}`;
  return new FieldError("Invalid", path.toString(), detail === "" ? body : `${body}: ${detail}`);
}

export function required(path: FieldPath, detail = ""): FieldError {
  return new FieldError(
    "Required",
    path.toString(),
    detail === "" ? "Required value" : `Required value: ${detail}`,
  );
}

export function duplicate(path: FieldPath, value: unknown): FieldError {
  return new FieldError("Duplicate", path.toString(), `Duplicate value: ${formatValue(value)}`);
}

export function notSupported(path: FieldPath, value: unknown, supported: readonly string[]): FieldError {
  const list = supported.map((s) => JSON.stringify(s)).join(", ");
  return new FieldError(
    "NotSupported",
    path.toString(),
    `Unsupported value: ${formatValue(value)}: supported values: ${list}`,
  );
}

export function notFound(path: FieldPath, value: unknown): FieldError {
  return new FieldError("NotFound", path.toString(), `Not found: ${formatValue(value)}`);
}

export function forbidden(path: FieldPath, detail: string): FieldError {
  return new FieldError("Forbidden", path.toString(), `Forbidden: ${detail}`);
}

export function tooLong(path: FieldPath, maxBytes: number): FieldError {
  return new FieldError("TooLong", path.toString(), `Too long: must have at most ${maxBytes} bytes`);
}

export function unknownField(path: FieldPath, name: string): FieldError {
  return new FieldError("UnknownField", path.toString(), `unknown field ${JSON.stringify(name)}`);
}

export function unsupportedField(path: FieldPath, name: string, why?: string): FieldError {
  const body = `unsupported field ${JSON.stringify(name)}`;
  return new FieldError("UnsupportedField", path.toString(), why === undefined ? body : `${body}: ${why}`);
}

/** The errors of one document, with what to print in front of them (file, document number). */
export interface FieldErrorGroup {
  readonly context?: string;
  readonly errors: readonly FieldError[];
}

/**
 * Every error found in one manifest. `field` names the first offending field; the message
 * lists all of them, separated by "; ", each as `<path>: <problem>`, after the context (the
 * source of the manifest) when one is given.
 */
export class PodSpecInvalidError extends InvalidArgumentError {
  readonly fieldErrors: readonly FieldError[];

  constructor(fieldErrors: readonly FieldError[], context?: string) {
    super(fieldErrors[0]?.field || "pod", "invalid pod spec");
    if (fieldErrors.length === 0) throw new RangeError("PodSpecInvalidError needs at least one field error");
    this.fieldErrors = fieldErrors;
    this.message = describeGroups([{ context, errors: fieldErrors }]);
  }

  /** One error for several documents, each document's errors behind its own context. */
  static ofGroups(groups: readonly FieldErrorGroup[]): PodSpecInvalidError {
    const error = new PodSpecInvalidError(groups.flatMap((g) => g.errors));
    error.message = describeGroups(groups);
    return error;
  }
}

function describeGroups(groups: readonly FieldErrorGroup[]): string {
  return groups
    .map((g) => {
      const list = g.errors.map(String).join("; ");
      return g.context === undefined ? list : `${g.context}: ${list}`;
    })
    .join("; ");
}
