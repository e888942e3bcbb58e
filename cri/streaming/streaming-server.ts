// berth's streaming HTTP server: the URLs that Exec, Attach and PortForward return point
// here (/exec/<token>, /attach/<token>, /portforward/<token>). A client upgrades the
// request either to a WebSocket (channel.k8s.io subprotocols, or SPDY tunnelled for
// port-forward) or to SPDY/3.1 (Upgrade: SPDY/3.1 with X-Stream-Protocol-Version). A token
// is used up only by a request that is going to be served, so a client that falls back
// from WebSocket to SPDY after a refused upgrade can use the same URL. Unknown, used and
// expired tokens get 404. It listens on loopback by default: the URL is the only
// credential, and the kubelet or crictl that asks for it runs on this host.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, createWebSocketStream, type WebSocket } from "ws";
import type { Clock } from "../../common/clock.js";
import { systemClock } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import type {
  AttachRequest,
  AttachResponse,
  ExecRequest,
  ExecResponse,
  PortForwardRequest,
  PortForwardResponse,
} from "../api/generated/api.js";
import type { CommandOptions, CommandRunner } from "./command.js";
import { RequestCache } from "./request-cache.js";
import type { StreamingBackend } from "./runtime-backend.js";
import { COMMAND_SPDY_PROTOCOLS, serveSpdyCommand } from "./spdy-command.js";
import { PORT_FORWARD_SPDY_PROTOCOL, serveSpdyPortForward } from "./spdy-port-forward.js";
import { SpdySession } from "./spdy/session.js";
import {
  COMMAND_WEBSOCKET_PROTOCOLS,
  DEFAULT_CHANNEL_PROTOCOL,
  serveWebSocketCommand,
} from "./websocket-command.js";
import {
  PORT_FORWARD_TUNNEL_PROTOCOL,
  PORT_FORWARD_WEBSOCKET_PROTOCOLS,
  serveWebSocketPortForward,
} from "./websocket-port-forward.js";

export interface StreamingServerOptions {
  backend: StreamingBackend;
  logger: Logger;
  clock?: Clock;
  /** Address to listen on; loopback by default. */
  address?: string;
  /** Port to listen on; 0 (the default) lets the kernel choose one at start. */
  port?: number;
  /** Base of the returned URLs, when clients reach the server by another name. */
  baseUrl?: string;
  tokenTtlMs?: number;
  /** How long a SPDY client may take to open its streams. */
  streamCreationTimeoutMs?: number;
}

type Pending =
  | { kind: "exec"; request: ExecRequest }
  | { kind: "attach"; request: AttachRequest }
  | { kind: "portforward"; request: PortForwardRequest };

type Kind = Pending["kind"];

const PATH = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)\/?$/;
const DEFAULT_STREAM_CREATION_TIMEOUT_MS = 30_000;

type Negotiated =
  | { transport: "websocket"; protocol: string }
  | { transport: "spdy"; protocol: string }
  | { transport: "refused"; status: number; message: string; headers?: Record<string, string[]> };

export class StreamingServer {
  private readonly cache: RequestCache<Pending>;
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly live = new Set<Duplex>();
  private baseUrl = "";

  constructor(private readonly opts: StreamingServerOptions) {
    this.cache = new RequestCache<Pending>(opts.clock ?? systemClock, opts.tokenTtlMs);
    this.http = createServer((req, res) => {
      // Plain requests are never served; a valid token is still used up, as the kubelet does.
      const route = this.route(req);
      const found = route && this.cache.consume(route.token)?.kind === route.kind;
      res.writeHead(found ? 400 : 404, { "Content-Type": "text/plain" });
      res.end(found ? "upgrade to a WebSocket or SPDY/3.1 is required\n" : "not found\n");
    });
    this.http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.onUpgrade(req, socket, head),
    );
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      handleProtocols: (protocols, req) => {
        const negotiated = this.negotiate(req, protocols);
        return negotiated.transport === "websocket" && negotiated.protocol ? negotiated.protocol : false;
      },
    });
  }

  async start(): Promise<void> {
    const address = this.opts.address ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen(this.opts.port ?? 0, address, () => {
        this.http.off("error", reject);
        resolve();
      });
    });
    const { port } = this.http.address() as AddressInfo;
    const host = address.includes(":") ? `[${address}]` : address;
    this.baseUrl = (this.opts.baseUrl ?? `http://${host}:${port}`).replace(/\/+$/, "");
    this.opts.logger.info({ url: this.baseUrl }, "streaming server listening");
  }

  /** The base URL of the server (after start). */
  get url(): string {
    return this.baseUrl;
  }

  async close(): Promise<void> {
    for (const socket of this.live) socket.destroy();
    this.live.clear();
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  /** Requests must have been validated by the caller (the RuntimeService RPCs). */
  getExec(request: ExecRequest): ExecResponse {
    return { url: this.urlFor("exec", { kind: "exec", request }) };
  }

  getAttach(request: AttachRequest): AttachResponse {
    return { url: this.urlFor("attach", { kind: "attach", request }) };
  }

  getPortForward(request: PortForwardRequest): PortForwardResponse {
    return { url: this.urlFor("portforward", { kind: "portforward", request }) };
  }

  private urlFor(kind: Kind, pending: Pending): string {
    if (!this.baseUrl) throw new Error("the streaming server is not started");
    return `${this.baseUrl}/${kind}/${this.cache.insert(pending)}`;
  }

  private route(req: IncomingMessage): { kind: Kind; token: string; query: URLSearchParams } | undefined {
    const url = new URL(req.url ?? "/", "http://streaming");
    const match = PATH.exec(url.pathname);
    if (!match) return undefined;
    return { kind: match[1] as Kind, token: match[2] as string, query: url.searchParams };
  }

  /** Picks the transport and subprotocol for an upgrade request, in the client's order. */
  private negotiate(req: IncomingMessage, offered?: Set<string>): Negotiated {
    const route = this.route(req);
    const kind = route?.kind ?? "exec";
    const upgrade = (req.headers.upgrade ?? "").toLowerCase();
    if (upgrade === "websocket") {
      const clientProtocols = [...(offered ?? parseList(req.headers["sec-websocket-protocol"]))];
      if (clientProtocols.length === 0) return { transport: "websocket", protocol: "" };
      const supported =
        kind === "portforward"
          ? [PORT_FORWARD_TUNNEL_PROTOCOL, ...Object.keys(PORT_FORWARD_WEBSOCKET_PROTOCOLS)]
          : Object.keys(COMMAND_WEBSOCKET_PROTOCOLS);
      const protocol = clientProtocols.find((p) => supported.includes(p));
      if (!protocol) {
        return {
          transport: "refused",
          status: 400,
          message: `none of the WebSocket subprotocols ${clientProtocols.join(", ")} is supported`,
        };
      }
      return { transport: "websocket", protocol };
    }
    if (upgrade === "spdy/3.1") {
      const clientProtocols = parseList(req.headers["x-stream-protocol-version"]);
      const supported = kind === "portforward" ? [PORT_FORWARD_SPDY_PROTOCOL] : COMMAND_SPDY_PROTOCOLS;
      if (clientProtocols.length === 0) {
        return { transport: "refused", status: 400, message: "X-Stream-Protocol-Version is required" };
      }
      const protocol = clientProtocols.find((p) => supported.includes(p));
      if (!protocol) {
        return {
          transport: "refused",
          status: 403,
          message: `unable to negotiate protocol: client supports ${clientProtocols.join(", ")}, server accepts ${supported.join(", ")}`,
          headers: { "X-Accepted-Stream-Protocol-Versions": supported },
        };
      }
      return { transport: "spdy", protocol };
    }
    return { transport: "refused", status: 400, message: "Upgrade must be websocket or SPDY/3.1" };
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", () => undefined);
    const route = this.route(req);
    if (!route || !this.cache.has(route.token)) return refuse(socket, 404, "not found");
    const negotiated = this.negotiate(req);
    if (negotiated.transport === "refused")
      return refuse(socket, negotiated.status, negotiated.message, negotiated.headers);
    const pending = this.cache.consume(route.token);
    if (!pending || pending.kind !== route.kind) return refuse(socket, 404, "not found");
    const log = this.opts.logger.child({ stream: pending.kind, protocol: negotiated.protocol || "(none)" });
    this.live.add(socket);
    socket.once("close", () => this.live.delete(socket));

    if (negotiated.transport === "spdy") {
      socket.write(
        "HTTP/1.1 101 Switching Protocols\r\n" +
          "Connection: Upgrade\r\n" +
          "Upgrade: SPDY/3.1\r\n" +
          `X-Stream-Protocol-Version: ${negotiated.protocol}\r\n\r\n`,
      );
      if (head.length) socket.unshift(head);
      const session = new SpdySession(socket, "server", log);
      session.on("error", (err) => log.debug({ err }, "spdy session failed"));
      void this.serveSpdy(session, negotiated.protocol, pending, route.query).catch((err: Error) => {
        log.warn({ err }, "streaming session failed");
        session.destroy();
      });
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on("error", (err) => log.debug({ err }, "websocket error"));
      void this.serveWebSocket(ws, ws.protocol, pending, route.query).catch((err: Error) => {
        log.warn({ err }, "streaming session failed");
        ws.terminate();
      });
    });
  }

  private async serveSpdy(
    session: SpdySession,
    protocol: string,
    pending: Pending,
    _query: URLSearchParams,
  ): Promise<void> {
    const timeout = this.opts.streamCreationTimeoutMs ?? DEFAULT_STREAM_CREATION_TIMEOUT_MS;
    const log = this.opts.logger;
    if (pending.kind === "portforward") {
      const sandboxId = pending.request.podSandboxId;
      await serveSpdyPortForward(
        session,
        sandboxId,
        (port, connection, signal) => this.opts.backend.portForward(sandboxId, port, connection, signal),
        log,
        timeout,
      );
      return;
    }
    const { options, run, cmd } = this.command(pending);
    await serveSpdyCommand(session, protocol, options, run, log, timeout, cmd);
  }

  private async serveWebSocket(
    ws: WebSocket,
    protocol: string,
    pending: Pending,
    query: URLSearchParams,
  ): Promise<void> {
    const log = this.opts.logger;
    if (pending.kind === "portforward") {
      const sandboxId = pending.request.podSandboxId;
      const connect = (port: number, connection: Duplex, signal: AbortSignal): Promise<void> =>
        this.opts.backend.portForward(sandboxId, port, connection, signal);
      if (protocol === PORT_FORWARD_TUNNEL_PROTOCOL) {
        const tunnel = createWebSocketStream(ws);
        tunnel.on("error", () => undefined);
        const session = new SpdySession(tunnel, "server", log);
        session.on("error", (err) => log.debug({ err }, "tunnelled spdy session failed"));
        const timeout = this.opts.streamCreationTimeoutMs ?? DEFAULT_STREAM_CREATION_TIMEOUT_MS;
        await serveSpdyPortForward(session, sandboxId, connect, log, timeout);
        return;
      }
      const fromQuery = query.getAll("port").map(Number);
      const ports = fromQuery.length ? fromQuery : pending.request.port;
      if (ports.length === 0 || ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
        ws.close(1008, "valid port parameters are required");
        return;
      }
      const channelProtocol = PORT_FORWARD_WEBSOCKET_PROTOCOLS[protocol] ?? { version: 4, base64: false };
      await serveWebSocketPortForward(ws, channelProtocol, ports, connect, log);
      return;
    }
    const { options, run, cmd } = this.command(pending);
    const channelProtocol = COMMAND_WEBSOCKET_PROTOCOLS[protocol] ?? DEFAULT_CHANNEL_PROTOCOL;
    await serveWebSocketCommand(ws, channelProtocol, options, run, log, cmd);
  }

  private command(pending: Exclude<Pending, { kind: "portforward" }>): {
    options: CommandOptions;
    run: CommandRunner;
    cmd?: string[];
  } {
    const { request } = pending;
    const options: CommandOptions = {
      stdin: request.stdin,
      stdout: request.stdout,
      stderr: request.stderr,
      tty: request.tty,
    };
    if (pending.kind === "exec") {
      return {
        options,
        run: (streams) => this.opts.backend.exec(pending.request, streams),
        cmd: pending.request.cmd,
      };
    }
    return { options, run: (streams) => this.opts.backend.attach(pending.request, streams) };
  }
}

/** Header values as a list: repeated headers arrive joined by commas. */
function parseList(value: string | string[] | undefined): string[] {
  const values = Array.isArray(value) ? value : value ? [value] : [];
  return values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter(Boolean);
}

function refuse(
  socket: Duplex,
  status: number,
  message: string,
  headers: Record<string, string[]> = {},
): void {
  const reason = { 400: "Bad Request", 403: "Forbidden", 404: "Not Found" }[status] ?? "Error";
  const body = `${message}\n`;
  const extra = Object.entries(headers)
    .flatMap(([name, values]) => values.map((v) => `${name}: ${v}\r\n`))
    .join("");
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
  );
}
