// The gRPC client of berth.v1.Orchestrator: plain or TLS (a CA to trust, optionally a client
// certificate), over TCP or a unix socket. Each report has a deadline; a failed call surfaces
// as a rejected promise and the reporter decides when to try again.
import { readFile } from "node:fs/promises";
import {
  credentials,
  Metadata,
  type ChannelCredentials,
  type ChannelOptions,
  type ServiceError,
} from "@grpc/grpc-js";
import { OrchestratorClient, type NodeReport, type ReportAck } from "../api/generated/report.js";
import type { ReporterConfig } from "./config.js";

export interface OrchestratorTransport {
  report(report: NodeReport, deadlineMs: number): Promise<ReportAck>;
  close(): void;
}

async function optionalFile(path: string): Promise<Buffer | null> {
  return path === "" ? null : readFile(path);
}

export async function channelCredentials(tls: ReporterConfig["tls"]): Promise<ChannelCredentials> {
  if (!tls.enabled) return credentials.createInsecure();
  const [ca, key, cert] = await Promise.all([
    optionalFile(tls.caFile),
    optionalFile(tls.keyFile),
    optionalFile(tls.certFile),
  ]);
  return credentials.createSsl(ca, key, cert);
}

export async function grpcOrchestratorTransport(
  config: Pick<ReporterConfig, "endpoint" | "tls">,
): Promise<OrchestratorTransport> {
  const options: ChannelOptions = {};
  if (config.tls.enabled && config.tls.serverName) {
    options["grpc.ssl_target_name_override"] = config.tls.serverName;
    options["grpc.default_authority"] = config.tls.serverName;
  }
  const client = new OrchestratorClient(config.endpoint, await channelCredentials(config.tls), options);
  return {
    report: (report, deadlineMs) =>
      new Promise<ReportAck>((resolve, reject) => {
        client.report(
          report,
          new Metadata(),
          { deadline: Date.now() + deadlineMs },
          (err: ServiceError | null, ack: ReportAck) => (err ? reject(err) : resolve(ack)),
        );
      }),
    close: () => client.close(),
  };
}
