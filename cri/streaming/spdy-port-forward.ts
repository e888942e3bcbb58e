// Port forwarding over SPDY/3.1 (portforward.k8s.io): for each local connection the
// client opens a pair of streams with the same requestID header, an "error" stream and a
// "data" stream, both naming the port. When a pair is complete, the data stream is
// connected to the port inside the pod; a failure is written as text on the error stream.
// The session carries any number of pairs until the client closes it.
import type { Logger } from "../../common/logger.js";
import { RstStatus } from "./spdy/frames.js";
import { headerValue } from "./spdy/header-block.js";
import type { SpdySession, SpdyStream } from "./spdy/session.js";

export const PORT_FORWARD_SPDY_PROTOCOL = "portforward.k8s.io";

export type PortConnector = (port: number, connection: SpdyStream, signal: AbortSignal) => Promise<void>;

interface Pair {
  port: number;
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

export function serveSpdyPortForward(
  session: SpdySession,
  podSandboxId: string,
  connect: PortConnector,
  logger: Logger,
  streamCreationTimeoutMs: number,
): Promise<void> {
  const pairs = new Map<string, Pair>();
  const abort = new AbortController();

  session.on("stream", (stream) => {
    const type = headerValue(stream.headers, "streamtype");
    const port = Number(headerValue(stream.headers, "port"));
    if ((type !== "data" && type !== "error") || !Number.isInteger(port) || port < 1 || port > 65535) {
      logger.debug(
        { type, port: headerValue(stream.headers, "port") },
        "invalid port-forward stream refused",
      );
      stream.reset(RstStatus.RefusedStream);
      return;
    }
    // Clients before requestID paired the data stream with the error stream opened just before it.
    const requestId =
      headerValue(stream.headers, "requestid") ?? String(type === "error" ? stream.id : stream.id - 2);
    let pair = pairs.get(requestId);
    if (!pair) {
      const timer = setTimeout(() => {
        pairs.delete(requestId);
        pair?.data?.reset();
        pair?.error?.reset();
      }, streamCreationTimeoutMs);
      pair = { port, timer };
      pairs.set(requestId, pair);
    }
    if (pair[type] || pair.port !== port) {
      stream.reset(RstStatus.ProtocolError);
      return;
    }
    stream.respond();
    stream.on("error", () => undefined);
    pair[type] = stream;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(requestId);
      void forward(pair.port, pair.data, pair.error);
    }
  });

  const forward = async (port: number, data: SpdyStream, error: SpdyStream): Promise<void> => {
    error.resume();
    try {
      await connect(port, data, abort.signal);
    } catch (err) {
      const message = `error forwarding port ${port} to pod ${podSandboxId}: ${(err as Error).message}`;
      logger.debug({ port, err }, "port-forward failed");
      if (!error.writableEnded && !error.destroyed) error.write(message);
      if (!data.writableEnded && !data.destroyed) data.end();
    }
    if (!error.writableEnded && !error.destroyed) error.end();
  };

  return new Promise((resolve) => {
    session.once("close", () => {
      abort.abort();
      for (const pair of pairs.values()) clearTimeout(pair.timer);
      pairs.clear();
      resolve();
    });
  });
}
