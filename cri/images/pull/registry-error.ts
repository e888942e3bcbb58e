// How one request to one registry endpoint failed. The puller decides from the kind whether to
// retry, to try the next endpoint, or to give up, and turns the outcome into a BerthError.

export type RegistryFailureKind =
  /** 404: the repository, tag or blob is not there. */
  | "not-found"
  /** 401 after authenticating, or 403. */
  | "denied"
  /** Worth retrying: a reset or timed-out connection, a short read, 429, 5xx. */
  | "transient"
  /** Cannot be reached at all: refused, no such host, TLS verification failed. */
  | "unreachable"
  /** Content that is wrong: digest or size mismatch, too large, not what was asked for. */
  | "invalid";

export class RegistryRequestError extends Error {
  constructor(
    readonly kind: RegistryFailureKind,
    message: string,
    readonly status?: number,
    /** For 429/503: the pause the server asked for. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ECONNABORTED",
  "EAI_AGAIN",
  "ERR_STREAM_PREMATURE_CLOSE",
  "UND_ERR_SOCKET",
]);

/** Classifies a socket or TLS error of a request to `what`. */
export function networkFailure(err: unknown, what: string): RegistryRequestError {
  if (err instanceof RegistryRequestError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? "";
  const message = `${what}: ${e.message ?? String(err)}`;
  if (TRANSIENT_CODES.has(code) || e.message === "aborted" || e.message === "socket hang up") {
    return new RegistryRequestError("transient", message);
  }
  return new RegistryRequestError("unreachable", message);
}

export function isAbortError(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === "AbortError";
}
