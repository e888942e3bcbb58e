// Binds promise-shaped service implementations to grpc-js. Every RPC of the service
// definition gets a handler: implemented ones run and have their errors mapped to gRPC
// statuses (the one place this happens); missing ones answer UNIMPLEMENTED.
import {
  status,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { once } from "node:events";
import { DeadlineExceededError, echo, toGrpcStatus, UnimplementedError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";

type AnyMethod = (request: unknown, signal?: AbortSignal) => Promise<unknown> | AsyncIterable<unknown>;

/**
 * Told of every finished call: the method as on the wire ("runtime.v1.RuntimeService/Version"),
 * its status code, and how long it took.
 */
export type RpcObserver = (rpc: string, code: status, seconds: number) => void;
type CallObserver = (code: status, seconds: number) => void;

export function bindService(
  serviceName: string,
  definition: ServiceDefinition,
  impl: object,
  logger: Logger,
  observe?: RpcObserver,
): UntypedServiceImplementation {
  const handlers: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const fn = (impl as Record<string, unknown>)[name];
    const rpc = `${serviceName}/${method.originalName ?? name}`;
    const call = typeof fn === "function" ? (fn as AnyMethod).bind(impl) : undefined;
    const wireName = method.path.replace(/^\//, "");
    const observeCall: CallObserver | undefined =
      observe && ((code, seconds) => observe(wireName, code, seconds));
    if (method.responseStream) {
      handlers[name] = (stream: ServerWritableStream<unknown, unknown>) =>
        void serveStream(rpc, call, stream, logger, observeCall);
    } else {
      handlers[name] = (unary: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) =>
        void serveUnary(rpc, call, unary, callback, logger, observeCall);
    }
  }
  return handlers;
}

async function serveUnary(
  rpc: string,
  call: AnyMethod | undefined,
  unary: ServerUnaryCall<unknown, unknown>,
  callback: sendUnaryData<unknown>,
  logger: Logger,
  observe?: CallObserver,
): Promise<void> {
  const started = process.hrtime.bigint();
  const { signal, dispose } = callSignal(rpc, unary);
  try {
    if (!call) throw new UnimplementedError(rpc);
    const response = await (call(unary.request, signal) as Promise<unknown>);
    callback(null, response);
    logger.debug({ rpc, ms: elapsedMs(started) }, "rpc ok");
    observe?.(status.OK, elapsedMs(started) / 1000);
  } catch (err) {
    const { code, details } = toGrpcStatus(err);
    // An unexpected failure is logged whole, with what the request was about.
    if (code === status.INTERNAL) logger.error({ rpc, err, ...requestContext(unary.request) }, "rpc failed");
    else logger.info({ rpc, code: status[code], details }, "rpc refused");
    callback({ code, details });
    observe?.(code, elapsedMs(started) / 1000);
  } finally {
    dispose();
  }
}

/**
 * An AbortSignal for a unary call: aborted when the caller cancels it or its deadline passes
 * (with a DeadlineExceededError as the reason), so that long work stops with the caller.
 */
function callSignal(
  rpc: string,
  unary: ServerUnaryCall<unknown, unknown>,
): { signal: AbortSignal; dispose: () => void } {
  const abort = new AbortController();
  const deadline = unary.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  const deadlinePassed = () => abort.abort(new DeadlineExceededError(`${rpc}: the caller's deadline passed`));
  // grpc-js ends a call whose deadline passed itself, and tells of it as a cancellation.
  const onCancelled = () =>
    Date.now() >= at
      ? deadlinePassed()
      : abort.abort(new DeadlineExceededError(`${rpc} was cancelled by the caller`));
  unary.on("cancelled", onCancelled);
  let timer: NodeJS.Timeout | undefined;
  if (Number.isFinite(at)) {
    // setTimeout takes at most a 32-bit delay; a deadline further away than ~24 days needs no timer.
    const delay = Math.max(0, at - Date.now());
    if (delay < 2 ** 31) timer = setTimeout(deadlinePassed, delay);
  }
  return {
    signal: abort.signal,
    dispose: () => {
      if (timer) clearTimeout(timer);
      unary.off("cancelled", onCancelled);
    },
  };
}

async function serveStream(
  rpc: string,
  call: AnyMethod | undefined,
  stream: ServerWritableStream<unknown, unknown>,
  logger: Logger,
  observe?: CallObserver,
): Promise<void> {
  const started = process.hrtime.bigint();
  const abort = new AbortController();
  stream.on("cancelled", () => abort.abort());
  try {
    if (!call) throw new UnimplementedError(rpc);
    for await (const item of call(stream.request, abort.signal) as AsyncIterable<unknown>) {
      if (abort.signal.aborted) break;
      // Wait for a slow client instead of letting grpc-js buffer without bound.
      if (!stream.write(item)) await once(stream, "drain", { signal: abort.signal });
    }
    stream.end();
    observe?.(abort.signal.aborted ? status.CANCELLED : status.OK, elapsedMs(started) / 1000);
  } catch (err) {
    if (abort.signal.aborted) {
      observe?.(status.CANCELLED, elapsedMs(started) / 1000);
      return;
    }
    const { code, details } = toGrpcStatus(err);
    logger.info({ rpc, code: status[code], details }, "stream ended with an error");
    // grpc-js sends the status of a server stream from its "error" handler (destroy() would not).
    stream.emit("error", Object.assign(new Error(details), { code, details }));
    observe?.(code, elapsedMs(started) / 1000);
  }
}

/** The ids and names a request carries, capped, to tell in the log which object it was about. */
export function requestContext(request: unknown): Record<string, string> {
  const context: Record<string, string> = {};
  if (typeof request !== "object" || request === null) return context;
  const r = request as {
    podSandboxId?: unknown;
    containerId?: unknown;
    config?: { metadata?: { name?: unknown; namespace?: unknown } };
    image?: { image?: unknown };
  };
  const add = (key: string, value: unknown): void => {
    if (typeof value === "string" && value !== "") context[key] = echo(value);
  };
  add("podSandboxId", r.podSandboxId);
  add("containerId", r.containerId);
  add("name", r.config?.metadata?.name);
  add("namespace", r.config?.metadata?.namespace);
  add("image", r.image?.image);
  return context;
}

function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}
