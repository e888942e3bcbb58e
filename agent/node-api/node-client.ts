// A promise-shaped client of berth.v1 Node, for the CLI and tests.
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import {
  NodeClient,
  type ApplyPodRequest,
  type ApplyPodResponse,
  type DeletePodRequest,
  type DeletePodResponse,
  type GetEventsRequest,
  type GetEventsResponse,
  type GetPodRequest,
  type ListPodsRequest,
  type ListPodsResponse,
  type NodeInfo,
  type Pod,
  type WatchPodsRequest,
  type WatchPodsResponse,
} from "../api/generated/berth.js";
import { clientOptions, streamToIterable, unixTarget } from "../../cri/grpc-target.js";

export interface NodeApi {
  applyPod(req: ApplyPodRequest): Promise<ApplyPodResponse>;
  /** Waits for the whole graceful deletion: give a deadline beyond the grace period. */
  deletePod(req: DeletePodRequest, timeoutMs?: number): Promise<DeletePodResponse>;
  getPod(req: GetPodRequest): Promise<Pod>;
  listPods(req: ListPodsRequest): Promise<ListPodsResponse>;
  getNode(): Promise<NodeInfo>;
  getEvents(req: GetEventsRequest): Promise<GetEventsResponse>;
  /** Ends when the signal aborts (the call is cancelled) or the server ends the stream. */
  watchPods(req: WatchPodsRequest, signal?: AbortSignal): AsyncIterable<WatchPodsResponse>;
  close(): void;
}

type Callback<T> = (err: ServiceError | null, res: T) => void;

/** endpoint: a socket path, "unix:///path" or "unix:/path". */
export function connectNode(endpoint: string, timeoutMs = 30_000): NodeApi {
  const client = new NodeClient(unixTarget(endpoint), credentials.createInsecure(), clientOptions);
  const unary = <T>(
    call: (md: Metadata, opts: { deadline: Date }, cb: Callback<T>) => unknown,
    ms = timeoutMs,
  ) =>
    new Promise<T>((resolve, reject) => {
      call(new Metadata(), { deadline: new Date(Date.now() + ms) }, (err, res) =>
        err ? reject(err) : resolve(res),
      );
    });
  return {
    applyPod: (req) => unary((md, o, cb) => client.applyPod(req, md, o, cb)),
    deletePod: (req, ms) => unary((md, o, cb) => client.deletePod(req, md, o, cb), ms ?? timeoutMs),
    getPod: (req) => unary((md, o, cb) => client.getPod(req, md, o, cb)),
    listPods: (req) => unary((md, o, cb) => client.listPods(req, md, o, cb)),
    getNode: () => unary((md, o, cb) => client.getNode({}, md, o, cb)),
    getEvents: (req) => unary((md, o, cb) => client.getEvents(req, md, o, cb)),
    watchPods: (req, signal) => streamToIterable(client.watchPods(req), signal),
    close: () => client.close(),
  };
}

/** Runs work with a connected client, closing it afterwards. */
export async function withNodeApi<T>(endpoint: string, work: (api: NodeApi) => Promise<T>): Promise<T> {
  const api = connectNode(endpoint);
  try {
    return await work(api);
  } finally {
    api.close();
  }
}
