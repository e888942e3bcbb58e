// What every berth gRPC client shares, without any generated service code: the socket
// target, the message limits, the promise-shaped view of a client and the server-stream
// reader. The CLI imports this alone so
// that a command loads only the generated code of the service it calls.
import {
  Metadata,
  status,
  type Client,
  type ClientReadableStream,
  type ServiceDefinition,
  type ServiceError,
} from "@grpc/grpc-js";

/** The kubelet's CRI client allows 16 MiB messages; so do we. */
export const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** The message limits of every berth gRPC client, as the kubelet's. */
export const clientOptions = {
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
};

/** A grpc-js target for a socket path, "unix:///path" or "unix:/path". */
export function unixTarget(endpoint: string): string {
  return endpoint.startsWith("unix:") ? endpoint.replace(/^unix:\/\//, "unix:") : `unix:${endpoint}`;
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
