// The agent's HTTP endpoint, on loopback unless configured otherwise: /healthz, /metrics
// (Prometheus text format) and /stats/summary (the kubelet's Summary JSON). Every answer
// comes from memory (the stats cache, the metrics registry); none reads a cgroup file.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { Logger } from "../../common/logger.js";
import type { HealthCheck } from "./health.js";
import type { Summary } from "./summary.js";

export interface HttpServerOptions {
  /** Default 127.0.0.1: the endpoint shows every pod's usage, so it stays on the host by default. */
  readonly address?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly logger: Logger;
  readonly health: HealthCheck;
  readonly metrics: Registry;
  readonly summary: () => Summary;
}

export interface AgentHttpServer {
  readonly address: string;
  readonly port: number;
  /** http://address:port */
  readonly url: string;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export async function startHttpServer(opts: HttpServerOptions): Promise<AgentHttpServer> {
  const routes = new Map<string, Handler>([
    [
      "/healthz",
      async (_req, res) => {
        const health = await opts.health();
        reply(res, health.ok ? 200 : 503, "text/plain; charset=utf-8", health.ok ? "ok" : health.message);
      },
    ],
    [
      "/metrics",
      async (_req, res) => {
        reply(res, 200, opts.metrics.contentType, await opts.metrics.metrics());
      },
    ],
    [
      "/stats/summary",
      async (_req, res) => {
        reply(res, 200, "application/json", JSON.stringify(opts.summary()));
      },
    ],
  ]);

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const handler = routes.get(path);
    if (!handler) return reply(res, 404, "text/plain; charset=utf-8", `no such endpoint: ${path}`);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return reply(res, 405, "text/plain; charset=utf-8", `${req.method ?? ""} is not allowed`);
    }
    handler(req, res).catch((err: unknown) => {
      opts.logger.error({ err, path }, "http request failed");
      if (!res.headersSent) reply(res, 500, "text/plain; charset=utf-8", "internal error");
      else res.destroy();
    });
  });

  const address = opts.address ?? "127.0.0.1";
  await listen(server, opts.port, address);
  const port = (server.address() as AddressInfo).port;
  const host = address.includes(":") ? `[${address}]` : address;
  opts.logger.info({ address, port }, "http endpoint serving /healthz, /metrics, /stats/summary");
  return {
    address,
    port,
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Scrapers keep connections alive; they must not hold the agent's shutdown.
        server.closeAllConnections();
      }),
  };
}

function reply(res: ServerResponse, code: number, contentType: string, body: string): void {
  res.writeHead(code, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) });
  res.end(res.req.method === "HEAD" ? undefined : body);
}

function listen(server: Server, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
