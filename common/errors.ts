// The one catalogue of berth's errors. Every failure that reaches an API caller is one of
// these classes; each carries the gRPC status it maps to, so the mapping lives here and
// nowhere else. Messages name the field or object at fault.
import { status } from "@grpc/grpc-js";

/** The most characters of one caller-supplied value (an id, a name, a path) a message repeats. */
export const ECHO_LIMIT = 128;
/** The most characters of a whole error message sent to a caller. */
export const DETAILS_LIMIT = 2048;

/**
 * `value` as a message may repeat it: whole when short, else its first `limit` characters
 * and its length. Clients stall on huge status details, and a message is no place for a
 * 100 KB id someone sent.
 */
export function echo(value: string, limit = ECHO_LIMIT): string {
  if (value.length <= limit) return value;
  return `${value.slice(0, limit)}... (${value.length} characters)`;
}

export abstract class BerthError extends Error {
  abstract readonly grpcCode: status;
  /** Stable machine-readable reason, e.g. "InvalidField". */
  abstract readonly reason: string;
}

/** Input that can never succeed as given. `field` is a dotted path such as `metadata.name`. */
export class InvalidArgumentError extends BerthError {
  readonly grpcCode = status.INVALID_ARGUMENT;
  readonly reason = "InvalidArgument";
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${echo(field)}: ${echo(problem, DETAILS_LIMIT)}`);
  }
}

export class NotFoundError extends BerthError {
  readonly grpcCode = status.NOT_FOUND;
  readonly reason = "NotFound";
  constructor(
    readonly kind: string,
    readonly id: string,
  ) {
    super(`${kind} "${echo(id)}" not found`);
  }
}

export class AlreadyExistsError extends BerthError {
  readonly grpcCode = status.ALREADY_EXISTS;
  readonly reason = "AlreadyExists";
  constructor(kind: string, name: string, existingId?: string) {
    super(`${kind} "${echo(name)}" already exists${existingId ? ` (id ${echo(existingId)})` : ""}`);
  }
}

/** The object exists but is in the wrong state for this operation. */
export class FailedPreconditionError extends BerthError {
  readonly grpcCode = status.FAILED_PRECONDITION;
  readonly reason = "FailedPrecondition";
}

export class DeadlineExceededError extends BerthError {
  readonly grpcCode = status.DEADLINE_EXCEEDED;
  readonly reason = "DeadlineExceeded";
}

export class ResourceExhaustedError extends BerthError {
  readonly grpcCode = status.RESOURCE_EXHAUSTED;
  readonly reason = "ResourceExhausted";
}

export class UnimplementedError extends BerthError {
  readonly grpcCode = status.UNIMPLEMENTED;
  readonly reason = "Unimplemented";
  constructor(what: string) {
    super(`${what} is not implemented by berth`);
  }
}

/** A dependency (runc, conmon, a plugin, a registry) failed; the message carries its words. */
export class RuntimeFailureError extends BerthError {
  readonly grpcCode = status.INTERNAL;
  readonly reason = "RuntimeFailure";
}

/** What was received is not what was asked for (a blob whose digest does not match). */
export class DataLossError extends BerthError {
  readonly grpcCode = status.DATA_LOSS;
  readonly reason = "DataLoss";
}

export class UnavailableError extends BerthError {
  readonly grpcCode = status.UNAVAILABLE;
  readonly reason = "Unavailable";
}

/**
 * Maps any thrown value to a gRPC status code and message. Unknown errors become INTERNAL.
 * Every message is capped: whatever built it, a caller never gets an unbounded reply.
 */
export function toGrpcStatus(err: unknown): { code: status; details: string } {
  if (err instanceof BerthError) return { code: err.grpcCode, details: echo(err.message, DETAILS_LIMIT) };
  const message = err instanceof Error ? err.message : String(err);
  return { code: status.INTERNAL, details: echo(message, DETAILS_LIMIT) };
}
