// The probe spec as Kubernetes users write it (field names, defaults and limits of the
// core/v1 Probe), and the one place where a probe from a pod spec is defaulted and checked.
// Named ports are resolved by the caller, who knows the container's ports; here a port is a number.
import { InvalidArgumentError } from "../common/errors.js";

export type ProbeKind = "liveness" | "readiness" | "startup";

export const PROBE_KINDS: readonly ProbeKind[] = ["liveness", "readiness", "startup"];

export interface ExecAction {
  command: string[];
}

export type UriScheme = "HTTP" | "HTTPS";

export interface HttpHeader {
  name: string;
  value: string;
}

export interface HttpGetAction {
  scheme: UriScheme;
  /** Defaults to the pod IP when absent. */
  host?: string;
  path: string;
  port: number;
  httpHeaders: HttpHeader[];
}

export interface TcpSocketAction {
  /** Defaults to the pod IP when absent. */
  host?: string;
  port: number;
}

export interface GrpcAction {
  port: number;
  /** The service name sent in the health check request; "" asks about the server as a whole. */
  service: string;
}

/** Exactly one handler, under the same key as in a pod spec, so `"httpGet" in probe` narrows. */
export type ProbeHandler =
  { exec: ExecAction } | { httpGet: HttpGetAction } | { tcpSocket: TcpSocketAction } | { grpc: GrpcAction };

export interface ProbeTiming {
  initialDelaySeconds: number;
  timeoutSeconds: number;
  periodSeconds: number;
  successThreshold: number;
  failureThreshold: number;
  /** Overrides the pod's grace period when this probe's failure kills the container. */
  terminationGracePeriodSeconds?: number;
}

/** A probe after `normalizeProbe`: defaults applied, every constraint checked. */
export type Probe = ProbeHandler & ProbeTiming;

/** A probe as written in a pod spec: every field optional, values not yet checked. */
export interface ProbeInput {
  exec?: { command?: string[] };
  httpGet?: {
    scheme?: string;
    host?: string;
    path?: string;
    port?: number;
    httpHeaders?: { name?: string; value?: string }[];
  };
  tcpSocket?: { host?: string; port?: number };
  grpc?: { port?: number; service?: string };
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  terminationGracePeriodSeconds?: number;
}

export const PROBE_DEFAULTS = {
  initialDelaySeconds: 0,
  timeoutSeconds: 1,
  periodSeconds: 10,
  successThreshold: 1,
  failureThreshold: 3,
  httpScheme: "HTTP",
  httpPath: "/",
} as const satisfies Omit<ProbeTiming, "terminationGracePeriodSeconds"> & {
  httpScheme: UriScheme;
  httpPath: string;
};

const HANDLER_KEYS = ["exec", "httpGet", "tcpSocket", "grpc"] as const;

// RFC 9110 token characters: what a header field name may contain.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Applies the Kubernetes defaults to a probe and checks it as the API server would. `prefix`
 * is the probe's path in the caller's document (e.g. `spec.containers[1].livenessProbe`);
 * errors name the field under it. As in Kubernetes, 0 in a field with a default means the
 * default, because manifests written for Kubernetes rely on that.
 */
export function normalizeProbe(kind: ProbeKind, input: ProbeInput, prefix = ""): Probe {
  const field = (name: string): string => (prefix ? `${prefix}.${name}` : name);
  if (input === null || typeof input !== "object") {
    throw new InvalidArgumentError(prefix || "probe", "must be an object");
  }

  const timing: ProbeTiming = {
    initialDelaySeconds: integerAtLeast(input.initialDelaySeconds, 0, 0, field("initialDelaySeconds")),
    timeoutSeconds: defaulted(input.timeoutSeconds, PROBE_DEFAULTS.timeoutSeconds, field("timeoutSeconds")),
    periodSeconds: defaulted(input.periodSeconds, PROBE_DEFAULTS.periodSeconds, field("periodSeconds")),
    successThreshold: defaulted(
      input.successThreshold,
      PROBE_DEFAULTS.successThreshold,
      field("successThreshold"),
    ),
    failureThreshold: defaulted(
      input.failureThreshold,
      PROBE_DEFAULTS.failureThreshold,
      field("failureThreshold"),
    ),
  };
  // A liveness or startup probe acts on the first success; a higher threshold would only
  // delay that, so Kubernetes forbids it.
  if (kind !== "readiness" && timing.successThreshold !== 1) {
    throw new InvalidArgumentError(field("successThreshold"), `must be 1 for ${kind} probes`);
  }
  if (input.terminationGracePeriodSeconds !== undefined) {
    // Readiness failures never kill the container, so a grace period there means nothing.
    if (kind === "readiness") {
      throw new InvalidArgumentError(
        field("terminationGracePeriodSeconds"),
        "must not be set for readiness probes",
      );
    }
    timing.terminationGracePeriodSeconds = integerAtLeast(
      input.terminationGracePeriodSeconds,
      1,
      undefined,
      field("terminationGracePeriodSeconds"),
    );
  }
  return { ...normalizeHandler(input, prefix, field), ...timing };
}

function normalizeHandler(input: ProbeInput, prefix: string, field: (name: string) => string): ProbeHandler {
  const present = HANDLER_KEYS.filter((key) => input[key] !== undefined && input[key] !== null);
  if (present.length === 0) {
    throw new InvalidArgumentError(
      prefix || "probe",
      "must specify a handler: exec, httpGet, tcpSocket or grpc",
    );
  }
  if (present.length > 1) {
    throw new InvalidArgumentError(
      prefix || "probe",
      `may not specify more than 1 handler (got ${present.join(", ")})`,
    );
  }

  if (input.exec) {
    const command = input.exec.command;
    if (!Array.isArray(command) || command.length === 0) {
      throw new InvalidArgumentError(field("exec.command"), "must be a non-empty list");
    }
    command.forEach((arg, i) => {
      if (typeof arg !== "string")
        throw new InvalidArgumentError(field(`exec.command[${i}]`), "must be a string");
    });
    if (command[0] === "") throw new InvalidArgumentError(field("exec.command[0]"), "must not be empty");
    return { exec: { command: [...command] } };
  }

  if (input.httpGet) {
    const http = input.httpGet;
    const scheme = http.scheme === undefined || http.scheme === "" ? PROBE_DEFAULTS.httpScheme : http.scheme;
    if (scheme !== "HTTP" && scheme !== "HTTPS") {
      throw new InvalidArgumentError(
        field("httpGet.scheme"),
        `must be HTTP or HTTPS, not ${JSON.stringify(scheme)}`,
      );
    }
    const path = http.path === undefined || http.path === "" ? PROBE_DEFAULTS.httpPath : http.path;
    if (typeof path !== "string") throw new InvalidArgumentError(field("httpGet.path"), "must be a string");
    const headers = (http.httpHeaders ?? []).map((header, i): HttpHeader => {
      const at = field(`httpGet.httpHeaders[${i}]`);
      if (typeof header?.name !== "string" || !HEADER_NAME.test(header.name)) {
        throw new InvalidArgumentError(`${at}.name`, "must be a valid HTTP header name");
      }
      const value = header.value ?? "";
      if (typeof value !== "string" || /[\r\n\0]/.test(value)) {
        throw new InvalidArgumentError(`${at}.value`, "must be a string without CR, LF or NUL");
      }
      return { name: header.name, value };
    });
    return {
      httpGet: {
        scheme,
        ...optionalHost(http.host, field("httpGet.host")),
        path,
        port: port(http.port, field("httpGet.port")),
        httpHeaders: headers,
      },
    };
  }

  if (input.tcpSocket) {
    const tcp = input.tcpSocket;
    return {
      tcpSocket: {
        ...optionalHost(tcp.host, field("tcpSocket.host")),
        port: port(tcp.port, field("tcpSocket.port")),
      },
    };
  }

  const grpc = input.grpc ?? {};
  const service = grpc.service ?? "";
  if (typeof service !== "string") throw new InvalidArgumentError(field("grpc.service"), "must be a string");
  return { grpc: { port: port(grpc.port, field("grpc.port")), service } };
}

function optionalHost(host: unknown, path: string): { host?: string } {
  if (host === undefined || host === "") return {};
  if (typeof host !== "string" || /[\s/]/.test(host)) {
    throw new InvalidArgumentError(path, "must be a host name or IP address");
  }
  return { host };
}

function port(value: unknown, path: string): number {
  if (value === undefined) throw new InvalidArgumentError(path, "is required");
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new InvalidArgumentError(path, "must be a port number between 1 and 65535");
  }
  return value;
}

/** Unset and 0 both mean the default; anything else must be a whole number >= 1. */
function defaulted(value: unknown, fallback: number, path: string): number {
  if (value === undefined || value === 0) return fallback;
  return integerAtLeast(value, 1, fallback, path);
}

function integerAtLeast(value: unknown, min: number, fallback: number | undefined, path: string): number {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new InvalidArgumentError(path, "must be a whole number");
  }
  if (value < min) throw new InvalidArgumentError(path, `must be >= ${min}`);
  return value;
}

/** The handler's name, for logs and metrics labels. */
export function handlerName(probe: ProbeHandler): "exec" | "httpGet" | "tcpSocket" | "grpc" {
  if ("exec" in probe) return "exec";
  if ("httpGet" in probe) return "httpGet";
  if ("tcpSocket" in probe) return "tcpSocket";
  return "grpc";
}
