// The client side of berth's streaming server, for `berth exec -it POD -- CMD` and
// `berth port-forward POD LOCAL:REMOTE`: given the URL an Exec, Attach or PortForward RPC
// returned, speak the same protocols kubectl and crictl do.
// - exec/attach: a WebSocket with v5.channel.k8s.io; the local terminal goes raw while a
//   TTY session runs and its size follows the window.
// - port-forward: SPDY/3.1 (portforward.k8s.io), which carries any number of connections
//   over one session, since the URL works only once.
import { once } from "node:events";
import { request } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import type { Readable, Writable } from "node:stream";
import type { Duplex } from "node:stream";
import WebSocket, { type RawData } from "ws";
import { SpdySession } from "../../cri/streaming/spdy/session.js";
import { headersOf } from "../../cri/streaming/spdy/header-block.js";

export interface TerminalSize {
  width: number;
  height: number;
}

export interface RemoteCommandIO {
  /** Sent to the process; its end closes the process's stdin. */
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  tty: boolean;
  /** The first size and later changes of the local terminal (TTY sessions). */
  initialSize?: TerminalSize;
  onResize?: (listener: (size: TerminalSize) => void) => () => void;
}

export class RemoteCommandError extends Error {}

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const ERROR = 3;
const RESIZE = 4;
const CLOSE = 255;

/** Runs an exec or attach session over its URL and resolves with the exit code. */
export async function streamRemoteCommand(url: string, io: RemoteCommandIO): Promise<number> {
  const ws = new WebSocket(url.replace(/^http/, "ws"), ["v5.channel.k8s.io", "v4.channel.k8s.io"], {
    perMessageDeflate: false,
  });
  await Promise.race([
    once(ws, "open"),
    once(ws, "unexpected-response").then(([, res]) => {
      throw new RemoteCommandError(
        `the streaming server refused the session (HTTP ${(res as { statusCode?: number }).statusCode})`,
      );
    }),
  ]);
  const v5 = ws.protocol === "v5.channel.k8s.io";
  const send = (channel: number, data: Buffer | string): void => {
    if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([Buffer.from([channel]), Buffer.from(data)]));
  };
  let status = "";
  ws.on("message", (raw: RawData) => {
    const message = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
    if (message.length === 0) return;
    const data = message.subarray(1);
    if (message[0] === STDOUT) io.stdout?.write(data);
    else if (message[0] === STDERR) (io.stderr ?? io.stdout)?.write(data);
    else if (message[0] === ERROR) status += data.toString();
  });

  const sendSize = (size: TerminalSize): void =>
    send(RESIZE, JSON.stringify({ Width: size.width, Height: size.height }));
  let stopResizing: (() => void) | undefined;
  if (io.tty) {
    if (io.initialSize) sendSize(io.initialSize);
    stopResizing = io.onResize?.(sendSize);
  }
  const onInput = (chunk: Buffer | string): void => send(STDIN, chunk);
  const onInputEnd = (): void => {
    if (v5) send(CLOSE, Buffer.from([STDIN]));
  };
  io.stdin?.on("data", onInput);
  io.stdin?.once("end", onInputEnd);
  try {
    await once(ws, "close");
  } finally {
    stopResizing?.();
    io.stdin?.off("data", onInput);
    io.stdin?.off("end", onInputEnd);
  }
  return exitCodeOf(status);
}

/** Reads the status the server sent on the error channel. */
export function exitCodeOf(status: string): number {
  if (!status.trim()) return 0;
  let parsed: {
    status?: string;
    reason?: string;
    message?: string;
    details?: { causes?: { reason?: string; message?: string }[] };
  };
  try {
    parsed = JSON.parse(status) as typeof parsed;
  } catch {
    throw new RemoteCommandError(status.trim());
  }
  if (parsed.status === "Success") return 0;
  if (parsed.reason === "NonZeroExitCode") {
    const cause = parsed.details?.causes?.find((c) => c.reason === "ExitCode");
    const code = Number(cause?.message);
    if (Number.isInteger(code)) return code;
  }
  throw new RemoteCommandError(parsed.message ?? status.trim());
}

/**
 * Runs a session on this process's terminal: raw mode while it lasts (with a TTY), the
 * window size sent on every change, stdin forwarded when asked for.
 */
export async function runOnTerminal(url: string, opts: { tty: boolean; stdin: boolean }): Promise<number> {
  const input = process.stdin;
  const output = process.stdout;
  const raw = opts.tty && opts.stdin && input.isTTY;
  if (raw) input.setRawMode(true);
  const size = (): TerminalSize | undefined =>
    output.isTTY ? { width: output.columns, height: output.rows } : undefined;
  try {
    return await streamRemoteCommand(url, {
      stdin: opts.stdin ? input : undefined,
      stdout: output,
      stderr: opts.tty ? undefined : process.stderr,
      tty: opts.tty,
      initialSize: size(),
      onResize: (listener) => {
        const onResize = (): void => {
          const current = size();
          if (current) listener(current);
        };
        output.on("resize", onResize);
        return () => output.off("resize", onResize);
      },
    });
  } finally {
    if (raw) input.setRawMode(false);
    if (opts.stdin) input.pause();
  }
}

export interface PortMapping {
  local: number;
  remote: number;
}

export interface PortForwarder {
  /** The local ports actually listened on (a mapping's local 0 picks a free port). */
  ports: PortMapping[];
  /** Resolves when the session ends (close() or the server went away). */
  done: Promise<void>;
  close(): void;
}

export interface ForwardOptions {
  /** Local address to listen on; loopback by default. */
  address?: string;
  /** Receives the server's message when a connection cannot be forwarded; stderr by default. */
  onError?: (message: string) => void;
}

/** Listens on the local ports and forwards each connection through one SPDY session. */
export async function forwardPorts(
  url: string,
  mappings: PortMapping[],
  options: ForwardOptions = {},
): Promise<PortForwarder> {
  const address = options.address ?? "127.0.0.1";
  const onError = options.onError ?? ((message: string) => void process.stderr.write(`${message}\n`));
  const socket = await upgradeToSpdy(url, "portforward.k8s.io");
  const session = new SpdySession(socket, "client");
  session.on("error", () => undefined);
  let nextRequest = 0;
  const servers: Server[] = [];
  const ports: PortMapping[] = [];
  const connections = new Set<Socket>();

  const handle = async (local: Socket, remotePort: number): Promise<void> => {
    connections.add(local);
    local.once("close", () => connections.delete(local));
    local.on("error", () => undefined);
    const requestId = String(nextRequest++);
    const common = { port: String(remotePort), requestID: requestId };
    try {
      const errorStream = session.createStream(headersOf({ streamType: "error", ...common }));
      const data = session.createStream(headersOf({ streamType: "data", ...common }));
      errorStream.end(); // nothing to say on it
      let errorText = "";
      errorStream.on("data", (chunk: Buffer) => (errorText += chunk.toString()));
      errorStream.on("error", () => undefined);
      data.on("error", () => local.destroy());
      await Promise.all([errorStream.waitForReply(), data.waitForReply()]);
      local.pipe(data);
      data.pipe(local);
      errorStream.once("end", () => {
        if (errorText) {
          onError(errorText);
          local.destroy();
        }
      });
    } catch {
      local.destroy();
    }
  };

  for (const mapping of mappings) {
    const server = createServer({ allowHalfOpen: true }, (local) => void handle(local, mapping.remote));
    server.listen(mapping.local, address);
    await once(server, "listening");
    const bound = server.address();
    ports.push({
      local: typeof bound === "object" && bound ? bound.port : mapping.local,
      remote: mapping.remote,
    });
    servers.push(server);
  }
  const done = new Promise<void>((resolve) => session.once("close", resolve));
  const close = (): void => {
    for (const server of servers) server.close();
    for (const c of connections) c.destroy();
    session.close();
  };
  void done.then(close);
  return { ports, done, close };
}

/** Sends the HTTP upgrade to SPDY/3.1 and returns the socket once the server switched. */
function upgradeToSpdy(url: string, protocol: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      headers: { Connection: "Upgrade", Upgrade: "SPDY/3.1", "X-Stream-Protocol-Version": protocol },
    });
    req.once("upgrade", (res, socket, head) => {
      const negotiated = res.headers["x-stream-protocol-version"];
      if (negotiated !== protocol) {
        socket.destroy();
        return reject(
          new RemoteCommandError(`the server answered protocol ${String(negotiated)}, not ${protocol}`),
        );
      }
      if (head.length) socket.unshift(head);
      resolve(socket);
    });
    req.once("response", (res) => {
      res.resume();
      reject(new RemoteCommandError(`the streaming server refused the session (HTTP ${res.statusCode})`));
    });
    req.once("error", reject);
    req.end();
  });
}
