// The edge where pod manifests enter berth. Text (YAML or JSON, one or more documents) is
// parsed and every document validated into a PodSpec; anything wrong anywhere is reported
// at once, as one InvalidArgumentError listing every field at fault.
import { randomUUID } from "node:crypto";
import { parseAllDocuments } from "yaml";
import { InvalidArgumentError } from "../../common/errors.js";
import { type FieldErrorGroup, PodSpecInvalidError } from "./field-errors.js";
import { ErrorSink } from "./field-reader.js";
import { decodePod } from "./decode-pod.js";
import type { PodSpec } from "./types.js";

export interface ValidateOptions {
  /** Gives a uid to a pod whose manifest has none; a random UUID by default. */
  readonly generateUid?: () => string;
}

/**
 * Validates one parsed Pod object (as decoded from JSON or YAML) into a PodSpec, filling in
 * every Kubernetes default. Throws PodSpecInvalidError listing all errors.
 */
export function validatePod(obj: unknown, options: ValidateOptions = {}): PodSpec {
  const sink = new ErrorSink();
  const pod = decodePod(obj, sink, { generateUid: options.generateUid ?? randomUUID });
  if (sink.errors.length > 0 || pod === undefined) throw new PodSpecInvalidError(sink.errors);
  return pod;
}

/**
 * Parses a manifest file's text. Every document must be a v1 Pod; empty documents (a stray
 * `---`) are skipped. `sourceName` (a file name, "stdin", "api") prefixes error messages.
 */
export function parsePodManifest(text: string, sourceName: string, options: ValidateOptions = {}): PodSpec[] {
  // Merge keys (<<) are honoured because Kubernetes' YAML reader honours them; all other
  // scalars follow YAML 1.2, so `on` and `yes` stay strings.
  const documents = parseAllDocuments(text, { merge: true, prettyErrors: true });
  const several = documents.length > 1;
  const pods: PodSpec[] = [];
  const failures: FieldErrorGroup[] = [];

  documents.forEach((document, i) => {
    const context = several ? `${sourceName} (document ${i + 1})` : sourceName;
    const syntaxError = document.errors[0];
    if (syntaxError !== undefined) {
      throw new InvalidArgumentError(context, `not valid YAML or JSON: ${syntaxError.message}`);
    }
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    try {
      pods.push(validatePod(value, options));
    } catch (err) {
      if (!(err instanceof PodSpecInvalidError)) throw err;
      failures.push({ context, errors: err.fieldErrors });
    }
  });

  if (failures.length === 1 && failures[0] !== undefined) {
    throw new PodSpecInvalidError(failures[0].errors, failures[0].context);
  }
  if (failures.length > 1) throw PodSpecInvalidError.ofGroups(failures);
  if (pods.length === 0) throw new InvalidArgumentError(sourceName, "contains no pod");
  return pods;
}
