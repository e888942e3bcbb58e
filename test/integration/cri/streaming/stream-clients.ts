// Small protocol clients for the streaming tests: a channel.k8s.io WebSocket client and a
// SPDY/3.1 remote-command client built on berth's own framing module.
import { once } from "node:events";
import { request } from "node:http";
import type { Duplex } from "node:stream";
import WebSocket, { type RawData } from "ws";
import { headersOf, headerValue } from "../../../../cri/streaming/spdy/header-block.js";
import { SpdySession, type SpdyStream } from "../../../../cri/streaming/spdy/session.js";

export interface ChannelResult {
  protocol: string;
  stdout: string;
  stderr: string;
  status: string;
  /** Every message as received, channel byte first. */
  messages: Buffer[];
}

export interface ChannelSession {
  ws: WebSocket;
  send(channel: number, data: Buffer | string): void;
  /** Resolves once some output contains the text. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  /** Messages received so far, channel byte first. */
  messages(): Buffer[];
  /** Everything received on one channel so far. */
  dataOn(channel: number): string;
  result: Promise<ChannelResult>;
}

export async function openChannelSession(
  url: string,
  protocols: string[] = ["v5.channel.k8s.io"],
): Promise<ChannelSession> {
  const ws = new WebSocket(url.replace(/^http/, "ws"), protocols);
  const out: ChannelResult = { protocol: "", stdout: "", stderr: "", status: "", messages: [] };
  const waiters: { text: string; resolve: () => void }[] = [];
  ws.on("message", (raw: RawData) => {
    const message = raw as Buffer;
    out.messages.push(message);
    if (message.length === 0) return;
    const data = message.subarray(1).toString();
    if (message[0] === 1) out.stdout += data;
    else if (message[0] === 2) out.stderr += data;
    else if (message[0] === 3) out.status += data;
    for (const w of waiters.splice(0)) {
      if ((out.stdout + out.stderr).includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  });
  const result = new Promise<ChannelResult>((resolve, reject) => {
    ws.once("close", () => resolve(out));
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once("error", reject);
  });
  await Promise.race([once(ws, "open"), result]);
  out.protocol = ws.protocol;
  return {
    ws,
    send: (channel, data) => ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)])),
    waitForOutput: (text, timeoutMs = 20_000) =>
      new Promise<void>((resolve, reject) => {
        if ((out.stdout + out.stderr).includes(text)) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`no "${text}" in output: ${JSON.stringify(out.stdout + out.stderr)}`)),
          timeoutMs,
        );
        waiters.push({ text, resolve: () => (clearTimeout(timer), resolve()) });
      }),
    messages: () => out.messages,
    dataOn: (channel) =>
      out.messages
        .filter((m) => m[0] === channel)
        .map((m) => m.subarray(1).toString("latin1"))
        .join(""),
    result,
  };
}

/** The HTTP status a WebSocket upgrade to the URL gets (101 when accepted). */
export async function upgradeStatus(
  url: string,
  protocols: string[] = ["v5.channel.k8s.io"],
): Promise<number> {
  const ws = new WebSocket(url.replace(/^http/, "ws"), protocols);
  return new Promise((resolve, reject) => {
    ws.once("open", () => {
      ws.terminate();
      resolve(101);
    });
    ws.once("unexpected-response", (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once("error", reject);
  });
}

export function spdyUpgrade(url: string, protocols: string[]): Promise<{ socket: Duplex; protocol: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      headers: { Connection: "Upgrade", Upgrade: "SPDY/3.1", "X-Stream-Protocol-Version": protocols },
    });
    req.once("upgrade", (res, socket, head) => {
      if (head.length) socket.unshift(head);
      resolve({ socket, protocol: String(res.headers["x-stream-protocol-version"]) });
    });
    req.once("response", (res) => {
      res.resume();
      reject(new Error(`HTTP ${res.statusCode}`));
    });
    req.once("error", reject);
    req.end();
  });
}

export interface SpdyCommandResult {
  stdout: string;
  stderr: string;
  status: string;
}

/** Runs a remote command the way client-go's v4 SPDY executor does. */
export async function spdyCommand(
  url: string,
  opts: {
    stdin?: string;
    stdout?: boolean;
    stderr?: boolean;
    tty?: boolean;
    resize?: { Width: number; Height: number };
  },
): Promise<SpdyCommandResult> {
  const { socket, protocol } = await spdyUpgrade(url, ["v4.channel.k8s.io", "v3.channel.k8s.io"]);
  if (protocol !== "v4.channel.k8s.io") throw new Error(`negotiated ${protocol}`);
  const session = new SpdySession(socket, "client");
  const open = (type: string): SpdyStream => session.createStream(headersOf({ streamType: type }));
  const error = open("error");
  const streams: Record<string, SpdyStream> = {};
  if (opts.stdin !== undefined) streams.stdin = open("stdin");
  if (opts.stdout) streams.stdout = open("stdout");
  if (opts.stderr) streams.stderr = open("stderr");
  if (opts.tty) streams.resize = open("resize");
  await Promise.all([error, ...Object.values(streams)].map((s) => s.waitForReply()));
  const collect = (s: SpdyStream | undefined): Promise<string> =>
    new Promise((resolve) => {
      if (!s) return resolve("");
      let text = "";
      s.on("data", (c: Buffer) => (text += c.toString()));
      s.once("end", () => resolve(text));
      s.once("close", () => resolve(text));
    });
  const results = Promise.all([collect(streams.stdout), collect(streams.stderr), collect(error)]);
  if (opts.resize) streams.resize?.write(JSON.stringify(opts.resize));
  if (streams.stdin) streams.stdin.end(opts.stdin);
  const [stdout, stderr, status] = await results;
  session.close();
  return { stdout, stderr, status };
}

export { headerValue };
