// Probes (liveness, readiness, startup) and lifecycle hooks (postStart, preStop): exactly one
// handler each, every timing field defaulted as Kubernetes does.
import { type FieldPath, forbidden, invalid, required } from "./field-errors.js";
import { type ErrorSink, ObjectReader } from "./field-reader.js";
import { readEnum, readPortNumber, readPortRef, reportAll } from "./decode-common.js";
import { httpHeaderNameErrors } from "./names.js";
import {
  type ExecAction,
  type GrpcAction,
  type HttpGetAction,
  type HttpHeader,
  type Lifecycle,
  type LifecycleHandler,
  type Probe,
  type ProbeHandler,
  type SleepAction,
  type TcpSocketAction,
  URI_SCHEMES,
} from "./types.js";

export type ProbeKind = "livenessProbe" | "readinessProbe" | "startupProbe";

type AnyHandler = ProbeHandler | SleepAction;
type HandlerKind = AnyHandler["type"];

const PROBE_HANDLERS: readonly HandlerKind[] = ["exec", "httpGet", "tcpSocket", "grpc"];
const LIFECYCLE_HANDLERS: readonly HandlerKind[] = ["exec", "httpGet", "tcpSocket", "sleep"];

export function decodeProbe(
  value: unknown,
  path: FieldPath,
  kind: ProbeKind,
  sink: ErrorSink,
): Probe | undefined {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return undefined;
  const handler = decodeHandler(r, PROBE_HANDLERS);
  // Kubernetes documents a minimum of 1 for these; an explicit 0 is refused rather than
  // quietly replaced by the default.
  const atLeastOne = { int32: true, min: 1 } as const;
  const probe = {
    initialDelaySeconds: r.int("initialDelaySeconds", { int32: true, min: 0 }) ?? 0,
    timeoutSeconds: r.int("timeoutSeconds", atLeastOne) ?? 1,
    periodSeconds: r.int("periodSeconds", atLeastOne) ?? 10,
    successThreshold: r.int("successThreshold", atLeastOne) ?? 1,
    failureThreshold: r.int("failureThreshold", atLeastOne) ?? 3,
  };
  const gracePeriod = r.int("terminationGracePeriodSeconds", {
    min: 1,
    minMessage: "must be greater than 0",
  });
  r.finish();

  if (kind !== "readinessProbe" && probe.successThreshold !== 1) {
    sink.add(invalid(r.at("successThreshold"), probe.successThreshold, "must be 1"));
  }
  if (kind === "readinessProbe" && gracePeriod !== undefined) {
    sink.add(
      invalid(r.at("terminationGracePeriodSeconds"), gracePeriod, "must not be set for readinessProbes"),
    );
  }
  if (handler === undefined || handler.type === "sleep") return undefined;
  return {
    handler,
    ...probe,
    ...(gracePeriod !== undefined &&
      kind !== "readinessProbe" && { terminationGracePeriodSeconds: gracePeriod }),
  };
}

export function decodeLifecycle(
  value: unknown,
  path: FieldPath,
  gracePeriodSeconds: number,
  sink: ErrorSink,
): Lifecycle | undefined {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return undefined;
  const hook = (key: "postStart" | "preStop"): LifecycleHandler | undefined => {
    const hr = r.object(key);
    if (hr === undefined) return undefined;
    const handler = decodeHandler(hr, LIFECYCLE_HANDLERS);
    hr.finish();
    if (handler?.type === "sleep" && handler.seconds > gracePeriodSeconds) {
      sink.add(
        invalid(
          hr.at("sleep"),
          handler.seconds,
          `must be non-negative and less than terminationGracePeriodSeconds (${gracePeriodSeconds})`,
        ),
      );
    }
    return handler?.type === "grpc" ? undefined : handler;
  };
  const postStart = hook("postStart");
  const preStop = hook("preStop");
  r.unsupported(["stopSignal"]);
  r.finish();
  return { ...(postStart && { postStart }), ...(preStop && { preStop }) };
}

/** Reads the handler keys allowed here; reports none or more than one as Kubernetes does. */
function decodeHandler(r: ObjectReader, kinds: readonly HandlerKind[]): AnyHandler | undefined {
  let found: AnyHandler | undefined;
  let count = 0;
  for (const kind of kinds) {
    const hr = r.object(kind);
    if (hr === undefined) {
      if (r.has(kind)) count++;
      continue;
    }
    count++;
    const handler = decodeAction(kind, hr);
    hr.finish();
    if (count > 1) {
      r.sink.add(forbidden(r.at(kind), "may not specify more than 1 handler type"));
      continue;
    }
    found = handler;
  }
  if (count === 0) r.sink.add(required(r.path, "must specify a handler type"));
  return count === 1 ? found : undefined;
}

function decodeAction(kind: HandlerKind, r: ObjectReader): AnyHandler | undefined {
  switch (kind) {
    case "exec":
      return decodeExec(r);
    case "httpGet":
      return decodeHttpGet(r);
    case "tcpSocket":
      return decodeTcpSocket(r);
    case "grpc":
      return decodeGrpc(r);
    case "sleep":
      return decodeSleep(r);
  }
}

function decodeExec(r: ObjectReader): ExecAction {
  const command = r.stringList("command");
  const written = r.raw("command");
  if (written === undefined || (Array.isArray(written) && written.length === 0)) {
    r.sink.add(required(r.at("command")));
  }
  return { type: "exec", command };
}

function decodeHttpGet(r: ObjectReader): HttpGetAction | undefined {
  const port = readPortRef(r, "port");
  const path = r.string("path") || "/";
  const host = r.string("host");
  const scheme = readEnum(r, "scheme", URI_SCHEMES, "HTTP");
  const httpHeaders = r.list("httpHeaders", (item, itemPath) => decodeHeader(item, itemPath, r.sink));
  if (port === undefined) return undefined;
  return { type: "httpGet", path, port, ...(host && { host }), scheme, httpHeaders };
}

function decodeHeader(value: unknown, path: FieldPath, sink: ErrorSink): HttpHeader | undefined {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return undefined;
  const name = r.requiredString("name");
  const headerValue = r.string("value") ?? "";
  r.finish();
  if (name === undefined) return undefined;
  reportAll(sink, path.child("name"), name, httpHeaderNameErrors(name));
  return { name, value: headerValue };
}

function decodeTcpSocket(r: ObjectReader): TcpSocketAction | undefined {
  const port = readPortRef(r, "port");
  const host = r.string("host");
  if (port === undefined) return undefined;
  return { type: "tcpSocket", port, ...(host && { host }) };
}

function decodeGrpc(r: ObjectReader): GrpcAction | undefined {
  const port = readPortNumber(r, "port");
  const service = r.string("service");
  if (port === undefined) return undefined;
  return { type: "grpc", port, ...(service !== undefined && { service }) };
}

function decodeSleep(r: ObjectReader): SleepAction | undefined {
  const seconds = r.int("seconds", {
    min: 0,
    minMessage: "must be non-negative and less than terminationGracePeriodSeconds",
  });
  if (seconds === undefined) {
    if (!r.has("seconds")) r.sink.add(required(r.at("seconds")));
    return undefined;
  }
  return { type: "sleep", seconds };
}
