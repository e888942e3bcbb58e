// HTTP(S) requests to one registry endpoint, with its TLS settings (extra CAs on top of the
// system roots, or no verification at all when configured), keep-alive connections, and a
// bound on how long a connection may stay silent. Bodies are streams; nothing is buffered here.
import http, { type IncomingMessage } from "node:http";
import https from "node:https";
import { readFile } from "node:fs/promises";
import { rootCertificates } from "node:tls";
import { FailedPreconditionError } from "../../../common/errors.js";
import { networkFailure } from "./registry-error.js";

export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export interface TransportOptions {
  /** PEM files of CAs trusted besides the system roots. */
  caFiles: string[];
  skipVerify: boolean;
  /** A request fails when its connection is silent this long (waiting for headers or body). */
  idleTimeoutMs?: number;
}

export interface TransportRequest {
  method: "GET" | "HEAD" | "POST";
  url: URL;
  headers: Record<string, string | string[]>;
  body?: Buffer;
  signal?: AbortSignal;
}

const TLS_VERIFY_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

export class HttpTransport {
  private constructor(
    private readonly httpsAgent: https.Agent,
    private readonly httpAgent: http.Agent,
    private readonly idleTimeoutMs: number,
  ) {}

  static async create(opts: TransportOptions): Promise<HttpTransport> {
    const extraCas: string[] = [];
    for (const file of opts.caFiles) {
      try {
        extraCas.push(await readFile(file, "utf8"));
      } catch (err) {
        throw new FailedPreconditionError(`registry CA file ${file}: ${(err as Error).message}`);
      }
    }
    const httpsAgent = new https.Agent({
      keepAlive: true,
      rejectUnauthorized: !opts.skipVerify,
      ...(extraCas.length > 0 ? { ca: [...rootCertificates, ...extraCas] } : {}),
    });
    const httpAgent = new http.Agent({ keepAlive: true });
    return new HttpTransport(httpsAgent, httpAgent, opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS);
  }

  /** Sends the request and resolves with the response head; the caller consumes or destroys
   * the body. Socket and TLS failures reject with a RegistryRequestError. */
  request(req: TransportRequest): Promise<IncomingMessage> {
    const secure = req.url.protocol === "https:";
    const what = `${req.method} ${req.url.origin}${req.url.pathname}`;
    return new Promise((resolve, reject) => {
      const options = {
        method: req.method,
        headers: req.headers,
        ...(req.signal ? { signal: req.signal } : {}),
      };
      const onResponse = (res: IncomingMessage) => resolve(res);
      const outgoing = secure
        ? https.request(req.url, { ...options, agent: this.httpsAgent }, onResponse)
        : http.request(req.url, { ...options, agent: this.httpAgent }, onResponse);
      outgoing.setTimeout(this.idleTimeoutMs, () => {
        const err = new Error(`connection silent for ${this.idleTimeoutMs} ms`) as NodeJS.ErrnoException;
        err.code = "ETIMEDOUT";
        outgoing.destroy(err);
      });
      outgoing.on("error", (err: NodeJS.ErrnoException) => {
        if (err.name === "AbortError") {
          reject(err);
          return;
        }
        if (TLS_VERIFY_CODES.has(err.code ?? "")) {
          err.message += " (trust its CA with `ca` in the registry's hosts.toml)";
        }
        reject(networkFailure(err, what));
      });
      outgoing.end(req.body);
    });
  }

  /** Closes idle keep-alive connections; requests in flight finish. */
  close(): void {
    this.httpsAgent.destroy();
    this.httpAgent.destroy();
  }
}

/** Reads a whole (small) body, failing once it passes `maxBytes`. */
export async function readBody(res: IncomingMessage, maxBytes: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) {
    res.destroy();
    throw new BodyTooLargeError(`${what} is ${declared} bytes, more than the limit of ${maxBytes} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res) {
      const buf = chunk as Buffer;
      size += buf.byteLength;
      if (size > maxBytes) {
        res.destroy();
        throw new BodyTooLargeError(`${what} is more than the limit of ${maxBytes} bytes`);
      }
      chunks.push(buf);
    }
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw err;
    throw networkFailure(err, what);
  }
  return Buffer.concat(chunks);
}

export class BodyTooLargeError extends Error {}

/** Throws away the rest of a body so its connection can be reused; destroys a large one. */
export function discardBody(res: IncomingMessage): void {
  const declared = Number(res.headers["content-length"]);
  if (Number.isFinite(declared) && declared <= 64 * 1024) res.resume();
  else res.destroy();
}
