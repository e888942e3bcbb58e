// The gRPC probe: the standard grpc.health.v1 Check call over plaintext, within the timeout;
// only SERVING is healthy. Each probe makes and closes its own channel, so a wedged server
// cannot leave a half-open channel behind for the next run.
import { credentials, Metadata, status as grpcStatus, type ServiceError } from "@grpc/grpc-js";
import { isIPv6 } from "node:net";
import {
  HealthClient,
  HealthCheckResponse_ServingStatus,
  healthCheckResponse_ServingStatusToJSON,
  type HealthCheckResponse,
} from "../api/generated/health.js";
import type { HandlerOutcome } from "../outcome.js";
import type { GrpcAction } from "../spec.js";
import { defaultProbeUserAgent } from "../user-agent.js";

export interface GrpcProbeOptions {
  /** Defaults to `berth-probe/<version>`. */
  userAgent?: string;
}

export async function runGrpcProbe(
  action: GrpcAction,
  podIP: string | undefined,
  timeoutSeconds: number,
  options: GrpcProbeOptions = {},
): Promise<HandlerOutcome> {
  // As in Kubernetes, a gRPC probe has no host field: it always asks the pod itself.
  if (!podIP) return { result: "unknown", output: "grpc probe has no pod IP to connect to" };
  const address = `${isIPv6(podIP) ? `[${podIP}]` : podIP}:${action.port}`;
  const deadline = Date.now() + timeoutSeconds * 1000;
  const client = new HealthClient(address, credentials.createInsecure(), {
    "grpc.primary_user_agent": options.userAgent ?? defaultProbeUserAgent(),
  });
  try {
    try {
      await new Promise<void>((resolve, reject) =>
        client.waitForReady(deadline, (err) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      return {
        result: "failure",
        output: `timeout: failed to connect service ${JSON.stringify(address)} within ${timeoutSeconds}s: ${errorMessage(err)}`,
      };
    }

    let response: HealthCheckResponse;
    try {
      response = await new Promise<HealthCheckResponse>((resolve, reject) =>
        client.check({ service: action.service }, new Metadata(), { deadline }, (err, reply) =>
          err ? reject(err) : resolve(reply),
        ),
      );
    } catch (err) {
      return { result: "failure", output: describeCallError(err, timeoutSeconds) };
    }

    if (response.status !== HealthCheckResponse_ServingStatus.SERVING) {
      const name = healthCheckResponse_ServingStatusToJSON(response.status);
      return { result: "failure", output: `service unhealthy (responded with ${JSON.stringify(name)})` };
    }
    return { result: "success", output: "service is healthy" };
  } finally {
    client.close();
  }
}

function describeCallError(err: unknown, timeoutSeconds: number): string {
  if (isServiceError(err)) {
    if (err.code === grpcStatus.UNIMPLEMENTED) {
      return `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): ${err.details}`;
    }
    if (err.code === grpcStatus.DEADLINE_EXCEEDED) {
      return `timeout: health rpc did not complete within ${timeoutSeconds}s`;
    }
  }
  return `error: health rpc probe failed: ${errorMessage(err)}`;
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number";
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
