// Promise-shaped clients of any CRI endpoint (berth's own socket, containerd, CRI-O),
// so the agent and the CLI use one interface whether the runtime is in-process or remote.
import {
  credentials,
  Metadata,
  type Client,
  type ClientReadableStream,
  type ServiceDefinition,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import {
  ImageServiceClient,
  ImageServiceService,
  RuntimeServiceClient,
  RuntimeServiceService,
} from "./api/generated/api.js";
import { MAX_MESSAGE_BYTES } from "./grpc-server.js";
import type { ImageServiceApi, RuntimeServiceApi } from "./service-types.js";

export interface CriClients {
  runtime: RuntimeServiceApi;
  images: ImageServiceApi;
  close(): void;
}

/** The message limits of every berth gRPC client, as the kubelet's. */
export const clientOptions = {
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
};

/** A grpc-js target for a socket path, "unix:///path" or "unix:/path". */
export function unixTarget(endpoint: string): string {
  return endpoint.startsWith("unix:") ? endpoint.replace(/^unix:\/\//, "unix:") : `unix:${endpoint}`;
}

export function connectCri(endpoint: string, timeoutMs = 120_000): CriClients {
  const target = unixTarget(endpoint);
  const runtimeClient = new RuntimeServiceClient(target, credentials.createInsecure(), clientOptions);
  const imageClient = new ImageServiceClient(target, credentials.createInsecure(), clientOptions);
  return {
    runtime: promisify<RuntimeServiceApi>(runtimeClient, RuntimeServiceService, timeoutMs),
    images: promisify<ImageServiceApi>(imageClient, ImageServiceService, timeoutMs),
    close: () => {
      runtimeClient.close();
      imageClient.close();
    },
  };
}

type Callback = (err: ServiceError | null, res: unknown) => void;
type UnaryFn = (req: unknown, metadata: unknown, options: { deadline: Date }, cb: Callback) => void;
type StreamFn = (req: unknown) => ClientReadableStream<unknown>;

/** A promise-shaped view of any generated grpc-js client: unary calls resolve, streams iterate. */
export function promisify<T>(client: Client, definition: ServiceDefinition, timeoutMs: number): T {
  const api: Record<string, unknown> = {};
  const methods = client as unknown as Record<string, UnaryFn & StreamFn>;
  for (const [name, method] of Object.entries(definition)) {
    const fn = methods[name]!.bind(client);
    if (method.responseStream) {
      api[name] = (req: unknown, signal?: AbortSignal) => streamToIterable((fn as StreamFn)(req), signal);
    } else {
      api[name] = (req: unknown) =>
        new Promise((resolve, reject) => {
          const deadline = new Date(Date.now() + timeoutMs);
          (fn as UnaryFn)(req, new Metadata(), { deadline }, (err, res) =>
            err ? reject(err) : resolve(res),
          );
        });
    }
  }
  return api as T;
}

/** A server stream as an async iterable; aborting the signal cancels the call and ends it quietly. */
export async function* streamToIterable<T>(
  stream: ClientReadableStream<T>,
  signal?: AbortSignal,
): AsyncGenerator<T> {
  const cancel = (): void => stream.cancel();
  signal?.addEventListener("abort", cancel);
  try {
    for await (const item of stream) yield item as T;
  } catch (err) {
    // Cancelling is how a stream ends from this side, not a failure.
    if (signal?.aborted && (err as Partial<ServiceError>).code === status.CANCELLED) return;
    throw err;
  } finally {
    signal?.removeEventListener("abort", cancel);
    stream.cancel();
  }
}
