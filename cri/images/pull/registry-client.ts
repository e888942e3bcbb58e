// One repository on one registry endpoint, spoken to over the distribution API v2: manifests
// by tag or digest, blobs by digest. Handles authentication (one retry after a 401 with what
// the challenge asked for), redirects (blob downloads are often sent to storage elsewhere;
// credentials never follow them to another host), and the mapping of HTTP statuses to failure
// kinds. Manifest fetches retry passing failures themselves; blob downloads are retried whole
// by their caller.
import type { IncomingMessage } from "node:http";
import { parseWwwAuthenticate } from "./auth-challenge.js";
import type { RegistryEndpoint } from "./hosts-config.js";
import { BodyTooLargeError, discardBody, readBody, type HttpTransport } from "./http-transport.js";
import { MediaType } from "../media-types.js";
import type { RegistryAuthenticator, TokenRequest } from "./registry-auth.js";
import { RegistryRequestError } from "./registry-error.js";
import { parseRetryAfter, withRetries, type RetryPolicy, type Sleep } from "./retry.js";

export const MANIFEST_ACCEPT = [
  MediaType.ociManifest,
  MediaType.dockerManifest,
  MediaType.ociIndex,
  MediaType.dockerManifestList,
].join(", ");

const MAX_REDIRECTS = 5;
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export interface RetrySettings {
  policy: RetryPolicy;
  sleep: Sleep;
  random: () => number;
  now: () => number;
}

export interface FetchedManifest {
  bytes: Buffer;
  /** The Content-Type without parameters, if any. */
  contentType?: string;
  /** The registry's Docker-Content-Digest header, if any. */
  digestHeader?: string;
}

export interface RegistryClientOptions {
  endpoint: RegistryEndpoint;
  /** Repository path within the registry, e.g. "library/busybox". */
  repository: string;
  transport: HttpTransport;
  auth: RegistryAuthenticator;
  retry: RetrySettings;
  userAgent: string;
  signal?: AbortSignal;
  onRetry?(err: unknown, attempt: number, delayMs: number): void;
}

/** Classifies errors for withRetries: only transient registry failures are tried again. */
export function retryClassifier(err: unknown): { retry: boolean; retryAfterMs?: number } {
  if (err instanceof RegistryRequestError && err.kind === "transient") {
    return { retry: true, ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}) };
  }
  return { retry: false };
}

export class RegistryClient {
  readonly endpoint: RegistryEndpoint;
  private readonly scope: string;

  constructor(private readonly opts: RegistryClientOptions) {
    this.endpoint = opts.endpoint;
    this.scope = `repository:${opts.repository}:pull`;
  }

  /** GETs a manifest or index by tag or digest, at most `maxBytes` of it. */
  fetchManifest(reference: string, maxBytes: number): Promise<FetchedManifest> {
    const what = `manifest ${this.opts.repository}:${reference} from ${this.endpoint.host}`;
    return this.retrying(async () => {
      const res = await this.send(`manifests/${reference}`, MANIFEST_ACCEPT, what);
      let bytes: Buffer;
      try {
        bytes = await readBody(res, maxBytes, what);
      } catch (err) {
        if (err instanceof BodyTooLargeError) throw new RegistryRequestError("invalid", err.message);
        throw err;
      }
      const contentType = headerValue(res.headers["content-type"])?.split(";")[0]?.trim();
      const digestHeader = headerValue(res.headers["docker-content-digest"])?.trim();
      return {
        bytes,
        ...(contentType ? { contentType } : {}),
        ...(digestHeader ? { digestHeader } : {}),
      };
    });
  }

  /** Opens a blob for streaming. The caller consumes or destroys the body. */
  async openBlob(digest: string): Promise<{ body: IncomingMessage; contentLength?: number }> {
    const what = `blob ${digest} of ${this.opts.repository} from ${this.endpoint.host}`;
    const body = await this.send(`blobs/${digest}`, "*/*", what);
    const length = Number(body.headers["content-length"]);
    return { body, ...(Number.isSafeInteger(length) && length >= 0 ? { contentLength: length } : {}) };
  }

  private retrying<T>(work: () => Promise<T>): Promise<T> {
    return withRetries(
      {
        ...this.opts.retry,
        classify: retryClassifier,
        ...(this.opts.signal ? { signal: this.opts.signal } : {}),
        ...(this.opts.onRetry ? { onRetry: this.opts.onRetry } : {}),
      },
      work,
    );
  }

  /** GETs `<apiBase>/<repository>/<path>`, authenticating and following redirects; resolves
   * with a 200 response or throws a RegistryRequestError. */
  private async send(path: string, accept: string, what: string): Promise<IncomingMessage> {
    const url = new URL(`${this.endpoint.apiBase}/${this.opts.repository}/${path}`);
    for (let authAttempt = 0; ; authAttempt++) {
      const authorization = await this.opts.auth.authorization(this.scope);
      const res = await this.followRedirects(url, accept, authorization);
      if (res.statusCode === 401 && authAttempt === 0) {
        discardBody(res);
        const challenges = parseWwwAuthenticate(res.headers["www-authenticate"]);
        if (this.opts.auth.handleUnauthorized(challenges, this.scope, authorization)) continue;
        throw await this.failure(res, what, authorization !== undefined);
      }
      if (res.statusCode === 200) return res;
      throw await this.failure(res, what, authorization !== undefined);
    }
  }

  private async followRedirects(
    start: URL,
    accept: string,
    authorization: string | undefined,
  ): Promise<IncomingMessage> {
    let url = start;
    for (let hops = 0; ; hops++) {
      const sameOrigin = url.origin === start.origin;
      const headers: Record<string, string | string[]> = {
        ...this.endpoint.headers,
        accept,
        "user-agent": this.opts.userAgent,
        ...(authorization && sameOrigin ? { authorization } : {}),
      };
      const res = await this.opts.transport.request({
        method: "GET",
        url,
        headers,
        ...(this.opts.signal ? { signal: this.opts.signal } : {}),
      });
      const status = res.statusCode ?? 0;
      const location = headerValue(res.headers.location);
      if (![301, 302, 303, 307, 308].includes(status) || !location) return res;
      discardBody(res);
      if (hops >= MAX_REDIRECTS) {
        throw new RegistryRequestError("invalid", `${start.origin}: more than ${MAX_REDIRECTS} redirects`);
      }
      const next = new URL(location, url);
      if (url.protocol === "https:" && next.protocol !== "https:") {
        throw new RegistryRequestError("invalid", `${start.origin} redirected from HTTPS to ${next.origin}`);
      }
      url = next;
    }
  }

  /** The RegistryRequestError for a response that is not a success, with the registry's own
   * error code and message when it sent them. */
  private async failure(
    res: IncomingMessage,
    what: string,
    authenticated: boolean,
  ): Promise<RegistryRequestError> {
    const status = res.statusCode ?? 0;
    let detail = "";
    try {
      const body = await readBody(res, MAX_ERROR_BODY_BYTES, what);
      detail = registryErrorDetail(body);
    } catch {
      res.destroy();
    }
    const suffix = `${detail ? `: ${detail}` : ""}`;
    if (status === 404) return new RegistryRequestError("not-found", `${what}: not found${suffix}`, status);
    if (status === 401 || status === 403) {
      const who = authenticated ? "credentials were refused" : "authentication required, none given";
      return new RegistryRequestError(
        "denied",
        `${what}: access denied (HTTP ${status}, ${who})${suffix}`,
        status,
      );
    }
    if (status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(headerValue(res.headers["retry-after"]), this.opts.retry.now());
      return new RegistryRequestError("transient", `${what}: HTTP ${status}${suffix}`, status, retryAfterMs);
    }
    return new RegistryRequestError("invalid", `${what}: unexpected HTTP ${status}${suffix}`, status);
  }
}

/** Makes the TokenRequest authenticators use, over `transport` with retries. */
export function tokenRequester(
  transport: HttpTransport,
  retry: RetrySettings,
  userAgent: string,
  signal?: AbortSignal,
): TokenRequest {
  return (req) =>
    withRetries({ ...retry, classify: retryClassifier, ...(signal ? { signal } : {}) }, async () => {
      const res = await transport.request({
        method: req.method,
        url: req.url,
        headers: { ...req.headers, "user-agent": userAgent, accept: "application/json" },
        ...(req.body ? { body: req.body } : {}),
        ...(signal ? { signal } : {}),
      });
      const status = res.statusCode ?? 0;
      if (status === 429 || status >= 500) {
        discardBody(res);
        throw new RegistryRequestError(
          "transient",
          `token server ${req.url.origin} answered HTTP ${status}`,
          status,
          parseRetryAfter(headerValue(res.headers["retry-after"]), retry.now()),
        );
      }
      try {
        return { status, body: await readBody(res, 1024 * 1024, `token from ${req.url.origin}`) };
      } catch (err) {
        if (err instanceof BodyTooLargeError) throw new RegistryRequestError("invalid", err.message);
        throw err;
      }
    });
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** "CODE: message" of the first entry of a distribution error body, or "". */
function registryErrorDetail(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = parsed.errors?.[0];
    if (!first) return "";
    return [first.code, first.message].filter((p) => typeof p === "string" && p !== "").join(": ");
  } catch {
    return "";
  }
}
