// The one seam between berth's kubelet layer and a container runtime: complete, promise-shaped
// RuntimeService and ImageService objects, either over the in-process berth runtime (no gRPC
// hop) or over any CRI socket. The in-process runtime implements a subset of the RPCs; here the
// rest answer UnimplementedError, exactly as they would over its socket, so callers have one
// way to find out what a runtime can do.
import { status, type ServiceDefinition } from "@grpc/grpc-js";
import { DeadlineExceededError, NotFoundError, UnimplementedError } from "../common/errors.js";
import { ImageServiceService, RuntimeServiceService } from "../cri/api/generated/api.js";
import { connectCri } from "../cri/grpc-client.js";
import type { ImageServiceApi, RuntimeServiceApi } from "../cri/service-types.js";

export interface RuntimeClients {
  runtime: RuntimeServiceApi;
  images: ImageServiceApi;
  /** True when the services are reached over a CRI socket rather than in-process. */
  remote: boolean;
  /** Closes the gRPC channels of a remote runtime; nothing to do in-process. */
  close(): void;
}

/** What the in-process runtime offers: any object whose methods are named as the RPCs. */
export interface InProcessServices {
  runtimeService: object;
  imageService: object;
}

/** Full service objects over the in-process runtime; RPCs it lacks reject with UnimplementedError. */
export function inProcessClients(services: InProcessServices): RuntimeClients {
  return {
    runtime: completeService<RuntimeServiceApi>(
      services.runtimeService,
      RuntimeServiceService,
      "runtime.v1.RuntimeService",
    ),
    images: completeService<ImageServiceApi>(
      services.imageService,
      ImageServiceService,
      "runtime.v1.ImageService",
    ),
    remote: false,
    close: () => undefined,
  };
}

/**
 * The runtime the agent's pods run on: the CRI socket named by `runtimeEndpoint`, or the
 * in-process runtime when it is empty.
 */
export function runtimeClients(
  config: { runtimeEndpoint: string },
  inProcess: InProcessServices,
  timeoutMs?: number,
): RuntimeClients {
  if (config.runtimeEndpoint === "") return inProcessClients(inProcess);
  const clients = connectCri(config.runtimeEndpoint, timeoutMs);
  return { runtime: clients.runtime, images: clients.images, remote: true, close: () => clients.close() };
}

type Method = (request: unknown, signal?: AbortSignal) => unknown;

function completeService<T>(impl: object, definition: ServiceDefinition, serviceName: string): T {
  const api: Record<string, Method> = {};
  const methods = impl as Record<string, unknown>;
  for (const [name, method] of Object.entries(definition)) {
    const fn = methods[name];
    const rpc = method.path ? method.path.replace(/^\//, "") : `${serviceName}/${name}`;
    if (typeof fn === "function") {
      api[name] = (fn as Method).bind(impl);
    } else if (method.responseStream) {
      api[name] = () => unimplementedStream(rpc);
    } else {
      api[name] = () => Promise.reject(new UnimplementedError(rpc));
    }
  }
  return api as T;
}

// eslint-disable-next-line require-yield
async function* unimplementedStream(rpc: string): AsyncIterable<never> {
  throw new UnimplementedError(rpc);
}

/** The gRPC status an error stands for: berth's error classes in-process, `code` over gRPC. */
function grpcCode(err: unknown): number | undefined {
  if (err instanceof UnimplementedError) return status.UNIMPLEMENTED;
  if (err instanceof NotFoundError) return status.NOT_FOUND;
  if (err instanceof DeadlineExceededError) return status.DEADLINE_EXCEEDED;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

/** The runtime does not offer this RPC (in-process or remote). */
export function isUnimplemented(err: unknown): boolean {
  return grpcCode(err) === status.UNIMPLEMENTED;
}

/** The runtime no longer knows the object (already removed). */
export function isNotFound(err: unknown): boolean {
  return grpcCode(err) === status.NOT_FOUND;
}

export function isDeadlineExceeded(err: unknown): boolean {
  return grpcCode(err) === status.DEADLINE_EXCEEDED;
}

/** The words of a runtime error without gRPC's "12 UNIMPLEMENTED: " prefix. */
export function runtimeErrorMessage(err: unknown): string {
  const details = (err as { details?: unknown } | null)?.details;
  if (typeof details === "string" && details !== "") return details;
  return err instanceof Error ? err.message : String(err);
}
