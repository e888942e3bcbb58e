// Exec and attach over a WebSocket with the channel.k8s.io subprotocols (what kubectl
// 1.30+ and crictl use by default). Every message starts with a channel byte: 0 stdin,
// 1 stdout, 2 stderr, 3 error/status, 4 resize; v5 adds 255, "close this channel", whose
// payload names the channel (0: the client's stdin is done). The base64 variants send text
// messages: the channel as an ASCII digit, then the data in base64.
import { PassThrough, Writable } from "node:stream";
import { finished } from "node:stream/promises";
import type { RawData, WebSocket } from "ws";
import type { Logger } from "../../common/logger.js";
import {
  ResizeDecoder,
  ResizeEvents,
  statusJson,
  statusText,
  type CommandOptions,
  type CommandOutcome,
  type CommandRunner,
  type CommandStreams,
} from "./command.js";

export interface ChannelProtocol {
  version: number;
  base64: boolean;
}

/** The remote-command subprotocols berth accepts, newest first. */
export const COMMAND_WEBSOCKET_PROTOCOLS: Record<string, ChannelProtocol> = {
  "v5.channel.k8s.io": { version: 5, base64: false },
  "v4.channel.k8s.io": { version: 4, base64: false },
  "v4.base64.channel.k8s.io": { version: 4, base64: true },
  "v3.channel.k8s.io": { version: 3, base64: false },
  "v2.channel.k8s.io": { version: 2, base64: false },
  "channel.k8s.io": { version: 1, base64: false },
  "base64.channel.k8s.io": { version: 1, base64: true },
};

/** A client that names no subprotocol gets the original binary channel protocol. */
export const DEFAULT_CHANNEL_PROTOCOL: ChannelProtocol = { version: 1, base64: false };

export const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Encodes one message for a channel. */
export function channelMessage(protocol: ChannelProtocol, channel: number, data: Buffer): Buffer | string {
  if (protocol.base64) return String.fromCharCode(48 + channel) + data.toString("base64");
  return Buffer.concat([Buffer.from([channel]), data]);
}

/** Decodes one message into channel and data; undefined for an empty message. */
export function parseChannelMessage(
  protocol: ChannelProtocol,
  message: Buffer,
): { channel: number; data: Buffer } | undefined {
  if (message.length === 0) return undefined;
  if (protocol.base64) {
    const text = message.toString("latin1");
    return { channel: text.charCodeAt(0) - 48, data: Buffer.from(text.slice(1), "base64") };
  }
  return { channel: message[0] as number, data: message.subarray(1) };
}

/** A Writable that sends each chunk as one message on a channel; writes wait for the socket. */
export class ChannelWriter extends Writable {
  constructor(
    private readonly ws: WebSocket,
    private readonly protocol: ChannelProtocol,
    private readonly channel: number,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState !== this.ws.OPEN) return callback();
    this.ws.send(channelMessage(this.protocol, this.channel, chunk), (err) => callback(err ?? null));
  }
}

export async function serveWebSocketCommand(
  ws: WebSocket,
  protocol: ChannelProtocol,
  options: CommandOptions,
  run: CommandRunner,
  logger: Logger,
  cmd?: string[],
): Promise<void> {
  const abort = new AbortController();
  const stdin = options.stdin ? new PassThrough() : undefined;
  const stdout = options.stdout ? new ChannelWriter(ws, protocol, Channel.stdout) : undefined;
  const stderr = options.stderr && !options.tty ? new ChannelWriter(ws, protocol, Channel.stderr) : undefined;
  const resizeEvents = new ResizeEvents();
  const resizes = new ResizeDecoder();

  ws.on("message", (raw: RawData) => {
    const message = parseChannelMessage(protocol, toBuffer(raw));
    if (!message) return;
    switch (message.channel) {
      case Channel.stdin:
        if (stdin && !stdin.writableEnded) stdin.write(message.data);
        return;
      case Channel.resize:
        for (const size of resizes.push(message.data)) resizeEvents.emit(size);
        return;
      case Channel.close:
        if (protocol.version >= 5 && message.data[0] === Channel.stdin) stdin?.end();
        return;
      default:
        logger.debug({ channel: message.channel }, "message on an unknown channel ignored");
    }
  });
  const onGone = (): void => {
    abort.abort();
    stdin?.end();
  };
  ws.on("close", onGone);
  ws.on("error", onGone);

  // An empty message on the lowest output channel tells the client the streams are open.
  const first = options.stdout ? Channel.stdout : stderr ? Channel.stderr : Channel.error;
  ws.send(channelMessage(protocol, first, Buffer.alloc(0)));

  const streams: CommandStreams = {
    stdin,
    stdout,
    stderr,
    tty: options.tty,
    onResize: (listener) => resizeEvents.on(listener),
    signal: abort.signal,
  };
  let outcome: CommandOutcome;
  try {
    outcome = await run(streams);
  } catch (err) {
    outcome = { kind: "failed", message: (err as Error).message };
  }
  for (const out of [stdout, stderr]) {
    if (!out) continue;
    out.end();
    await finished(out).catch(() => undefined);
  }
  if (ws.readyState !== ws.OPEN) return;
  const status = protocol.version >= 4 ? statusJson(outcome, cmd) : statusText(outcome);
  if (status) ws.send(channelMessage(protocol, Channel.error, Buffer.from(status)));
  ws.close(1000);
}
