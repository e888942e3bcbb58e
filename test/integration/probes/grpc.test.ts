// The gRPC probe against a grpc.health.v1 server on 127.0.0.1, built on the generated code.
import { Server, ServerCredentials, status, type ServiceError } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  HealthService,
  type HealthServer,
} from "../../../probes/api/generated/health.js";
import { runGrpcProbe } from "../../../probes/handlers/grpc.js";

const servers: Server[] = [];

afterEach(() => {
  for (const server of servers.splice(0)) server.forceShutdown();
});

async function start(server: Server): Promise<number> {
  servers.push(server);
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
}

/** A health server answering from a fixed table of services, recording the user agents it sees. */
async function healthServer(
  statuses: Record<string, ServingStatus>,
  delayMs = 0,
): Promise<{ port: number; userAgents: string[] }> {
  const userAgents: string[] = [];
  const impl: HealthServer = {
    check: (call, callback) => {
      userAgents.push(String(call.metadata.get("user-agent")[0] ?? ""));
      const known = statuses[call.request.service];
      setTimeout(() => {
        if (known === undefined) {
          const err: Partial<ServiceError> = { code: status.NOT_FOUND, details: "unknown service" };
          callback(err as ServiceError);
        } else {
          callback(null, { status: known });
        }
      }, delayMs);
    },
  };
  const server = new Server();
  server.addService(HealthService, impl);
  return { port: await start(server), userAgents };
}

describe("grpc probe", () => {
  it("passes when the server is SERVING, and announces itself as berth-probe", async () => {
    const { port, userAgents } = await healthServer({ "": ServingStatus.SERVING });
    expect(await runGrpcProbe({ port, service: "" }, "127.0.0.1", 2)).toEqual({
      result: "success",
      output: "service is healthy",
    });
    expect(userAgents[0]).toMatch(/^berth-probe\/\d+\.\d+\.\d+/);
  });

  it("asks about the named service and fails when it is NOT_SERVING", async () => {
    const { port } = await healthServer({ "": ServingStatus.SERVING, db: ServingStatus.NOT_SERVING });
    expect(await runGrpcProbe({ port, service: "db" }, "127.0.0.1", 2)).toEqual({
      result: "failure",
      output: 'service unhealthy (responded with "NOT_SERVING")',
    });
  });

  it("fails on UNKNOWN and on an error status", async () => {
    const { port } = await healthServer({ starting: ServingStatus.UNKNOWN });
    expect((await runGrpcProbe({ port, service: "starting" }, "127.0.0.1", 2)).output).toContain('"UNKNOWN"');
    const missing = await runGrpcProbe({ port, service: "nope" }, "127.0.0.1", 2);
    expect(missing.result).toBe("failure");
    expect(missing.output).toMatch(/^error: health rpc probe failed: .*unknown service/);
  });

  it("fails with a clear message when the server does not implement the health protocol", async () => {
    const port = await start(new Server());
    const outcome = await runGrpcProbe({ port, service: "" }, "127.0.0.1", 2);
    expect(outcome.result).toBe("failure");
    expect(outcome.output).toContain("does not implement the grpc health protocol");
  });

  it("fails when the call outlives the timeout", async () => {
    const { port } = await healthServer({ "": ServingStatus.SERVING }, 3_000);
    expect(await runGrpcProbe({ port, service: "" }, "127.0.0.1", 1)).toEqual({
      result: "failure",
      output: "timeout: health rpc did not complete within 1s",
    });
  });

  it("fails when nothing listens", async () => {
    const server = new Server();
    const port = await start(server);
    server.forceShutdown();
    const outcome = await runGrpcProbe({ port, service: "" }, "127.0.0.1", 1);
    expect(outcome.result).toBe("failure");
    expect(outcome.output).toContain(`failed to connect service "127.0.0.1:${port}" within 1s`);
  });

  it("reports unknown without a pod IP", async () => {
    expect((await runGrpcProbe({ port: 1, service: "" }, undefined, 1)).result).toBe("unknown");
  });
});
