// Reads one object of a parsed manifest field by field, checking JSON types on the way, and
// remembers which keys it read. `finish()` then reports every key nobody asked for as an
// unknown field: the schema is the set of keys the decoders read, so a field can never be
// silently dropped. A key set to null counts as absent, as in Kubernetes.
import {
  type FieldError,
  FieldPath,
  invalid,
  required,
  unknownField,
  unsupportedField,
} from "./field-errors.js";

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;

/** Collects errors for one manifest; decoders push, the caller throws once at the end. */
export class ErrorSink {
  readonly errors: FieldError[] = [];

  add(...errors: FieldError[]): void {
    this.errors.push(...errors);
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export interface IntOptions {
  /** Values outside int32 are refused, as the Kubernetes field is an int32. */
  readonly int32?: boolean;
  readonly min?: number;
  /** Message when below min; defaults to `must be greater than or equal to <min>`. */
  readonly minMessage?: string;
}

export class ObjectReader {
  private readonly read = new Set<string>();

  private constructor(
    readonly path: FieldPath,
    private readonly obj: Readonly<Record<string, unknown>>,
    readonly sink: ErrorSink,
  ) {}

  /** A reader over `value`, or undefined (with an error) when it is not an object. */
  static of(value: unknown, path: FieldPath, sink: ErrorSink): ObjectReader | undefined {
    if (!isPlainObject(value)) {
      sink.add(invalid(path, value, "must be an object"));
      return undefined;
    }
    return new ObjectReader(path, value, sink);
  }

  /** The path of a field of this object (or of a field below it). */
  at(key: string, ...below: string[]): FieldPath {
    return this.path.child(key, ...below);
  }

  /** True when the key is present with a non-null value (does not mark it read). */
  has(key: string): boolean {
    return Object.hasOwn(this.obj, key) && this.obj[key] !== null && this.obj[key] !== undefined;
  }

  /** The raw value, marking the key as read; undefined when absent or null. */
  raw(key: string): unknown {
    this.read.add(key);
    if (!this.has(key)) return undefined;
    return this.obj[key];
  }

  string(key: string): string | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== "string") {
      this.sink.add(invalid(this.at(key), value, "must be a string"));
      return undefined;
    }
    return value;
  }

  /** A string that must be present and non-empty. */
  requiredString(key: string, detail = ""): string | undefined {
    const value = this.string(key);
    if (value === undefined && !this.has(key)) this.sink.add(required(this.at(key), detail));
    if (value === "") {
      this.sink.add(required(this.at(key), detail));
      return undefined;
    }
    return value;
  }

  bool(key: string): boolean | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") {
      this.sink.add(invalid(this.at(key), value, "must be a boolean"));
      return undefined;
    }
    return value;
  }

  int(key: string, options: IntOptions = {}): number | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    return checkInt(value, this.at(key), this.sink, options);
  }

  object(key: string): ObjectReader | undefined {
    const value = this.raw(key);
    if (value === undefined) return undefined;
    return ObjectReader.of(value, this.at(key), this.sink);
  }

  /** Decodes each element of a list; elements that fail to decode are left out. */
  list<T>(key: string, decode: (item: unknown, path: FieldPath) => T | undefined): T[] {
    const value = this.raw(key);
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      this.sink.add(invalid(this.at(key), value, "must be a list"));
      return [];
    }
    const out: T[] = [];
    value.forEach((item: unknown, i) => {
      const decoded = decode(item, this.at(key).index(i));
      if (decoded !== undefined) out.push(decoded);
    });
    return out;
  }

  stringList(key: string): string[] {
    return this.list(key, (item, path) => {
      if (typeof item === "string") return item;
      this.sink.add(invalid(path, item, "must be a string"));
      return undefined;
    });
  }

  /** A map of string to string (labels, annotations, nodeSelector). */
  stringMap(key: string): Record<string, string> {
    const value = this.raw(key);
    if (value === undefined) return {};
    if (!isPlainObject(value)) {
      this.sink.add(invalid(this.at(key), value, "must be an object"));
      return {};
    }
    const entries: [string, string][] = [];
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === "string") entries.push([k, v]);
      else this.sink.add(invalid(this.at(key).key(k), v, "must be a string"));
    }
    return Object.fromEntries(entries);
  }

  /**
   * Kubernetes fields that berth accepts and deliberately does not act on; the caller says why
   * in a comment next to the call.
   */
  ignore(...keys: string[]): void {
    for (const key of keys) this.read.add(key);
  }

  /** Kubernetes fields berth does not implement: present means refused, never ignored. */
  unsupported(keys: readonly string[], why?: string): void {
    for (const key of keys) {
      this.read.add(key);
      if (this.has(key)) this.sink.add(unsupportedField(this.path, key, why));
    }
  }

  /** Reports every key that no decoder read. Call after all reads. */
  finish(): void {
    for (const key of Object.keys(this.obj)) {
      if (!this.read.has(key)) this.sink.add(unknownField(this.path, key));
    }
  }
}

export function checkInt(
  value: unknown,
  path: FieldPath,
  sink: ErrorSink,
  options: IntOptions = {},
): number | undefined {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    sink.add(invalid(path, value, "must be an integer"));
    return undefined;
  }
  if (!Number.isSafeInteger(value) || (options.int32 === true && (value < INT32_MIN || value > INT32_MAX))) {
    sink.add(invalid(path, value, options.int32 === true ? "must fit in 32 bits" : "must fit in 53 bits"));
    return undefined;
  }
  if (options.min !== undefined && value < options.min) {
    sink.add(invalid(path, value, options.minMessage ?? `must be greater than or equal to ${options.min}`));
    return undefined;
  }
  return value;
}
