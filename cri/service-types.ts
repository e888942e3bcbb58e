// Promise-shaped views of the generated CRI service definitions. The agent talks to a
// runtime only through these types: the in-process berth runtime implements them
// directly, and a gRPC client over any CRI socket is adapted to them.
import type { handleServerStreamingCall, handleUnaryCall } from "@grpc/grpc-js";
import type { ImageServiceServer, RuntimeServiceServer } from "./api/generated/api.js";

/** The generated server interfaces extend grpc-js's index-signature type; keep only named RPCs. */
type NamedKeys<S> = keyof { [K in keyof S as string extends K ? never : K]: S[K] };

export type PromiseService<S> = {
  [K in NamedKeys<S>]: S[K] extends handleUnaryCall<infer Req, infer Res>
    ? (request: Req) => Promise<Res>
    : S[K] extends handleServerStreamingCall<infer Req, infer Res>
      ? (request: Req, signal?: AbortSignal) => AsyncIterable<Res>
      : never;
};

export type RuntimeServiceApi = PromiseService<RuntimeServiceServer>;
export type ImageServiceApi = PromiseService<ImageServiceServer>;
