// Port forwarding over a WebSocket with channels, as the kubelet serves it: the ports
// come from the URL's port parameters (or the PortForward request), and port i uses
// channel 2i for data and 2i+1 for errors. The server's first message on each channel is
// the port as a 16-bit little-endian number. One connection per port for the life of
// the WebSocket.
import { Duplex } from "node:stream";
import type { RawData, WebSocket } from "ws";
import type { Logger } from "../../common/logger.js";
import { channelMessage, parseChannelMessage, toBuffer, type ChannelProtocol } from "./websocket-command.js";

export const PORT_FORWARD_WEBSOCKET_PROTOCOLS: Record<string, ChannelProtocol> = {
  "v4.channel.k8s.io": { version: 4, base64: false },
  "v4.base64.channel.k8s.io": { version: 4, base64: true },
  "portforward.k8s.io": { version: 4, base64: false },
};

/** SPDY/3.1 frames tunnelled in binary WebSocket messages (what kubectl 1.31+ tries first). */
export const PORT_FORWARD_TUNNEL_PROTOCOL = "SPDY/3.1+portforward.k8s.io";

export type DuplexConnector = (port: number, connection: Duplex, signal: AbortSignal) => Promise<void>;

class ChannelDuplex extends Duplex {
  constructor(
    private readonly ws: WebSocket,
    private readonly protocol: ChannelProtocol,
    private readonly channel: number,
  ) {
    super({ allowHalfOpen: true });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return callback();
    this.ws.send(channelMessage(this.protocol, this.channel, chunk), (err) => callback(err ?? null));
  }
}

export async function serveWebSocketPortForward(
  ws: WebSocket,
  protocol: ChannelProtocol,
  ports: number[],
  connect: DuplexConnector,
  logger: Logger,
): Promise<void> {
  const abort = new AbortController();
  const connections = ports.map((_, i) => new ChannelDuplex(ws, protocol, 2 * i));
  ws.on("message", (raw: RawData) => {
    const message = parseChannelMessage(protocol, toBuffer(raw));
    if (!message) return;
    const index = message.channel / 2;
    const connection = Number.isInteger(index) ? connections[index] : undefined;
    if (connection && !connection.readableEnded) connection.push(message.data);
  });
  ws.on("close", () => {
    abort.abort();
    for (const c of connections) c.push(null);
  });
  ws.on("error", () => abort.abort());

  await Promise.all(
    ports.map(async (port, i) => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16LE(port);
      ws.send(channelMessage(protocol, 2 * i, prefix));
      ws.send(channelMessage(protocol, 2 * i + 1, prefix));
      const connection = connections[i] as ChannelDuplex;
      connection.on("error", () => undefined);
      try {
        await connect(port, connection, abort.signal);
      } catch (err) {
        logger.debug({ port, err }, "port-forward failed");
        if (ws.readyState === ws.OPEN)
          ws.send(channelMessage(protocol, 2 * i + 1, Buffer.from((err as Error).message)));
      }
    }),
  );
  if (ws.readyState === ws.OPEN) ws.close(1000);
}
