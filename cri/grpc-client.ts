// Promise-shaped clients of any CRI endpoint (berth's own socket, containerd, CRI-O),
// so the agent and the CLI use one interface whether the runtime is in-process or remote.
import { credentials } from "@grpc/grpc-js";
import {
  ImageServiceClient,
  ImageServiceService,
  RuntimeServiceClient,
  RuntimeServiceService,
} from "./api/generated/api.js";
import { clientOptions, promisify, streamToIterable, unixTarget } from "./grpc-target.js";
import type { ImageServiceApi, RuntimeServiceApi } from "./service-types.js";

export { clientOptions, promisify, streamToIterable, unixTarget };

export interface CriClients {
  runtime: RuntimeServiceApi;
  images: ImageServiceApi;
  close(): void;
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
