// The HTTP GET probe, with the kubelet's rules so that endpoints written for Kubernetes behave
// the same under berth: 200-399 is healthy; redirects are followed only while they stay on the
// probed host; HTTPS certificates are not verified (the probe checks liveness, not identity);
// one deadline covers every request and the body, and no more than 10 KiB of body is read.
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import * as http from "node:http";
import * as https from "node:https";
import { isIPv6 } from "node:net";
import { capOutput, MAX_PROBE_OUTPUT_BYTES, type HandlerOutcome } from "../outcome.js";
import type { HttpGetAction, HttpHeader } from "../spec.js";
import { defaultProbeUserAgent } from "../user-agent.js";

export interface HttpGetProbeOptions {
  /** Defaults to `berth-probe/<version>`; a User-Agent in the probe's own headers wins. */
  userAgent?: string;
}

/** Redirect statuses that carry a Location to follow with another GET. */
const FOLLOWED_REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Requests made for one probe, the first one included, before redirects count as a failure. */
const MAX_REQUESTS = 10;

export async function runHttpGetProbe(
  action: HttpGetAction,
  podIP: string | undefined,
  timeoutSeconds: number,
  options: HttpGetProbeOptions = {},
): Promise<HandlerOutcome> {
  const host = action.host ?? podIP;
  if (!host) return { result: "unknown", output: "httpGet probe has no host and the pod has no IP" };
  const prepared = preparedRequest(action, host, options.userAgent ?? defaultProbeUserAgent());
  if (prepared instanceof Error) {
    return { result: "unknown", output: `httpGet probe has a malformed URL: ${prepared.message}` };
  }
  const { url, headers, hostOverride } = prepared;

  const deadline = new Deadline(timeoutSeconds * 1000);
  const attempt = { url };
  try {
    return await getFollowingLocalRedirects(attempt, headers, hostOverride, deadline);
  } catch (err) {
    const reason = deadline.expired ? `timed out after ${timeoutSeconds}s` : errorMessage(err);
    return { result: "failure", output: `Get "${attempt.url.href}": ${reason}` };
  } finally {
    deadline.clear();
  }
}

/**
 * One deadline for a whole probe run: when it passes, the request or response in hand is
 * destroyed, which fails whatever awaits it. A plain timer and a reference rather than an
 * AbortSignal handed to every request: the signal's listeners cost more than the rest of the
 * client's work for a probe that answers at once.
 */
class Deadline {
  expired = false;
  private current: { destroy(err: Error): unknown } | undefined;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(ms: number) {
    this.timer = setTimeout(() => {
      this.expired = true;
      this.current?.destroy(new Error("aborted"));
    }, ms);
  }

  /** Makes `stream` the one to destroy when the deadline passes; destroys it now if it has. */
  guard(stream: { destroy(err: Error): unknown }): void {
    this.current = stream;
    if (this.expired) stream.destroy(new Error("aborted"));
  }

  clear(): void {
    clearTimeout(this.timer);
    this.current = undefined;
  }
}

interface PreparedRequest extends PreparedHeaders {
  url: URL;
}

interface CachedRequest {
  host: string;
  userAgent: string;
  request: PreparedRequest | Error;
}

/**
 * A probe's spec is fixed while it runs every period, so its URL and headers are built once and
 * kept beside the spec object (dropped with it); a different host or User-Agent rebuilds them.
 * Nothing here is mutated by a run: a redirect makes a new URL and a Host override a new header set.
 */
const preparedByAction = new WeakMap<HttpGetAction, CachedRequest>();

function preparedRequest(action: HttpGetAction, host: string, userAgent: string): PreparedRequest | Error {
  const cached = preparedByAction.get(action);
  if (cached && cached.host === host && cached.userAgent === userAgent) return cached.request;
  let request: PreparedRequest | Error;
  try {
    request = { url: probeUrl(action, host), ...requestHeaders(action.httpHeaders, userAgent) };
  } catch (err) {
    request = err instanceof Error ? err : new Error(String(err));
  }
  preparedByAction.set(action, { host, userAgent, request });
  return request;
}

function probeUrl(action: HttpGetAction, host: string): URL {
  const hostPort = `${isIPv6(host) ? `[${host}]` : host}:${action.port}`;
  const path = action.path.startsWith("/") ? action.path : `/${action.path}`;
  // Parsed as one string so that a path such as "//x" stays a path and never becomes a host.
  return new URL(`${action.scheme.toLowerCase()}://${hostPort}${path}`);
}

interface PreparedHeaders {
  headers: OutgoingHttpHeaders;
  hostOverride: string | undefined;
}

function requestHeaders(custom: HttpHeader[], userAgent: string): PreparedHeaders {
  // Header names are case-insensitive: values given under any spelling of a name are merged.
  const byName = new Map<string, { name: string; values: string[] }>();
  for (const { name, value } of custom) {
    const key = name.toLowerCase();
    const entry = byName.get(key) ?? { name, values: [] };
    entry.values.push(value);
    byName.set(key, entry);
  }
  const first = (key: string): string | undefined => byName.get(key)?.values[0];

  if (!byName.has("user-agent")) byName.set("user-agent", { name: "User-Agent", values: [userAgent] });
  // An explicitly empty User-Agent or Accept means "send none", as with the kubelet.
  else if (first("user-agent") === "") byName.delete("user-agent");
  if (!byName.has("accept")) byName.set("accept", { name: "Accept", values: ["*/*"] });
  else if (first("accept") === "") byName.delete("accept");

  const hostOverride = first("host") || undefined;
  byName.delete("host");

  const headers: OutgoingHttpHeaders = {};
  for (const { name, values } of byName.values()) headers[name] = values.length === 1 ? values[0] : values;
  return { headers, hostOverride };
}

async function getFollowingLocalRedirects(
  attempt: { url: URL },
  headers: OutgoingHttpHeaders,
  hostOverride: string | undefined,
  deadline: Deadline,
): Promise<HandlerOutcome> {
  const probedHostname = attempt.url.hostname;
  let host = hostOverride;
  for (let requests = 1; ; requests++) {
    const response = await get(
      attempt.url,
      host === undefined ? headers : { ...headers, Host: host },
      deadline,
    );
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (!FOLLOWED_REDIRECTS.has(status) || !location) return classify(response, deadline);

    const next = new URL(location, attempt.url);
    // A redirect elsewhere is not followed: the probe asks about this container, and following
    // would let an application point the agent at any address. The 3xx itself counts as a pass.
    if (next.hostname !== probedHostname) return classify(response, deadline);
    response.destroy();
    if (requests >= MAX_REQUESTS) throw new Error(`stopped after ${MAX_REQUESTS} redirects`);
    if (next.protocol !== "http:" && next.protocol !== "https:") {
      throw new Error(`redirect to unsupported protocol scheme ${JSON.stringify(next.protocol)}`);
    }
    // A Host override names the server the first URL reaches; it still holds for a relative
    // Location on that server, but an absolute one names its own host.
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(location)) host = undefined;
    attempt.url = next;
  }
}

function get(url: URL, headers: OutgoingHttpHeaders, deadline: Deadline): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    // agent: false gives each request its own connection, closed afterwards: probes must not
    // pile up idle keep-alive sockets in every container.
    const onResponse = (response: IncomingMessage): void => {
      // A response dropped mid-body emits "error"; whoever reads the body listens for it, and
      // one that is discarded unread must not take the agent down with an unhandled event.
      response.on("error", () => undefined);
      resolve(response);
    };
    const request =
      url.protocol === "https:"
        ? https.get(url, { headers, agent: false, rejectUnauthorized: false }, onResponse)
        : http.get(url, { headers, agent: false }, onResponse);
    request.on("error", reject);
    deadline.guard(request);
  });
}

async function classify(response: IncomingMessage, deadline: Deadline): Promise<HandlerOutcome> {
  const status = response.statusCode ?? 0;
  if (status < 200 || status >= 400) {
    response.destroy();
    return { result: "failure", output: `HTTP probe failed with statuscode: ${status}` };
  }
  const body = (await readCapped(response, deadline)).toString("utf8");
  if (status >= 300) {
    return { result: "success", warning: true, output: `Probe terminated redirects, Response body: ${body}` };
  }
  return { result: "success", output: body };
}

/** Reads the body up to the output cap, then drops the connection instead of reading on. */
function readCapped(response: IncomingMessage, deadline: Deadline): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve(capOutput(Buffer.concat(chunks)));
    };
    // On the deadline the response is destroyed with an error, which ends the read below.
    deadline.guard(response);
    response.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= MAX_PROBE_OUTPUT_BYTES) {
        finish();
        response.destroy();
      }
    });
    response.on("end", () => finish());
    response.on("error", (err) => finish(err));
    response.on("close", () =>
      finish(response.complete ? undefined : new Error("connection closed before the body ended")),
    );
  });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
