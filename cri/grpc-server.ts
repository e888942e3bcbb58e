// The gRPC server on berth's unix socket (CRI and berth's own services share it). The
// socket is root-only: whoever can talk to it can run anything on the node.
import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { chmod, mkdir, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { RuntimeFailureError } from "../common/errors.js";
import { MAX_MESSAGE_BYTES } from "./grpc-target.js";

export { MAX_MESSAGE_BYTES };

export interface ServiceBinding {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export async function startGrpcServer(socketPath: string, services: ServiceBinding[]): Promise<Server> {
  const server = new Server({
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  });
  for (const s of services) server.addService(s.definition, s.implementation);
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
  await rm(socketPath, { force: true }); // a stale socket from a previous run
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${socketPath}`, ServerCredentials.createInsecure(), (err) =>
      err ? reject(new RuntimeFailureError(`cannot listen on ${socketPath}: ${err.message}`)) : resolve(),
    ),
  );
  await chmod(socketPath, 0o600);
  return server;
}

export async function stopGrpcServer(server: Server, graceMs = 5000): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
