// Exec and attach over SPDY/3.1 (the protocol kubectl and crictl fall back to, and the
// one the API server's proxy speaks to a node). The client opens one stream per standard
// stream, named by its streamType header: error, stdin, stdout, stderr, and resize with a
// TTY. Once all expected streams are there, the command runs; the outcome is written to
// the error stream (a metav1.Status in JSON from v4 on, plain text before).
import type { Logger } from "../../common/logger.js";
import {
  ResizeDecoder,
  ResizeEvents,
  statusJson,
  statusText,
  type CommandOptions,
  type CommandOutcome,
  type CommandRunner,
} from "./command.js";
import { RstStatus } from "./spdy/frames.js";
import { headerValue } from "./spdy/header-block.js";
import type { SpdySession, SpdyStream } from "./spdy/session.js";

/**
 * The remote-command versions berth speaks over SPDY, newest first. v5 only adds the
 * WebSocket close signal; over SPDY, where a stream's FIN closes it, it is v4.
 */
export const COMMAND_SPDY_PROTOCOLS = [
  "v5.channel.k8s.io",
  "v4.channel.k8s.io",
  "v3.channel.k8s.io",
  "v2.channel.k8s.io",
  "channel.k8s.io",
];

function protocolVersion(protocol: string): number {
  const match = /^v(\d+)\./.exec(protocol);
  return match ? Number(match[1]) : 1;
}

export async function serveSpdyCommand(
  session: SpdySession,
  protocol: string,
  options: CommandOptions,
  run: CommandRunner,
  logger: Logger,
  streamCreationTimeoutMs: number,
  cmd?: string[],
): Promise<void> {
  const version = protocolVersion(protocol);
  const expected = new Set(["error"]);
  if (options.stdin) expected.add("stdin");
  if (options.stdout) expected.add("stdout");
  if (options.stderr && !options.tty) expected.add("stderr");
  if (options.tty && version >= 3) expected.add("resize");

  const streams = new Map<string, SpdyStream>();
  const abort = new AbortController();
  session.once("close", () => abort.abort());
  const allThere = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), streamCreationTimeoutMs);
    session.once("close", () => {
      clearTimeout(timer);
      resolve(false);
    });
    session.on("stream", (stream) => {
      const type = headerValue(stream.headers, "streamtype") ?? "";
      if (!expected.has(type) || streams.has(type)) {
        logger.debug({ type }, "unexpected spdy stream refused");
        stream.reset(RstStatus.RefusedStream);
        return;
      }
      stream.respond();
      streams.set(type, stream);
      if (streams.size === expected.size) {
        clearTimeout(timer);
        resolve(true);
      }
    });
  });
  if (!(await allThere)) {
    logger.debug(
      { got: [...streams.keys()], expected: [...expected] },
      "the client did not open its streams in time",
    );
    session.close();
    return;
  }

  const errorStream = streams.get("error") as SpdyStream;
  errorStream.resume(); // the client writes nothing on it
  const stdout = streams.get("stdout");
  const stderr = streams.get("stderr");
  stdout?.resume();
  stderr?.resume();
  const resizeEvents = new ResizeEvents();
  const resizeStream = streams.get("resize");
  if (resizeStream) {
    const decoder = new ResizeDecoder();
    resizeStream.on("data", (chunk: Buffer) => {
      for (const size of decoder.push(chunk)) resizeEvents.emit(size);
    });
  }
  for (const stream of streams.values()) stream.on("error", () => undefined);

  let outcome: CommandOutcome;
  try {
    outcome = await run({
      stdin: streams.get("stdin"),
      stdout,
      stderr,
      tty: options.tty,
      onResize: (listener) => resizeEvents.on(listener),
      signal: abort.signal,
    });
  } catch (err) {
    outcome = { kind: "failed", message: (err as Error).message };
  }
  if (session.closed) return;
  await Promise.all([stdout, stderr].map((s) => (s ? endStream(s) : undefined)));
  const status = version >= 4 ? statusJson(outcome, cmd) : statusText(outcome);
  if (status) errorStream.write(status);
  await endStream(errorStream);
  session.close();
}

function endStream(stream: SpdyStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableFinished || stream.destroyed) return resolve();
    stream.end(() => resolve());
    stream.once("close", () => resolve());
  });
}
