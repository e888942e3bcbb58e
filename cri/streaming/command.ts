// What exec and attach share, whatever the transport (WebSocket channels or SPDY
// streams): the client's streams as Node streams, terminal resizes, an abort signal for
// a client that went away, and the outcome reported on the error/status stream.
import type { Readable, Writable } from "node:stream";

export interface TerminalSize {
  width: number;
  height: number;
}

export interface CommandStreams {
  /** Ends when the client closes its stdin. Absent when the client sends none. */
  stdin?: Readable;
  stdout?: Writable;
  /** Absent with a TTY: the terminal merges stderr into stdout. */
  stderr?: Writable;
  tty: boolean;
  /** Registers a listener for terminal resizes (TTY sessions only). */
  onResize(listener: (size: TerminalSize) => void): void;
  /** Aborted when the client disconnects: the command must be stopped. */
  signal: AbortSignal;
}

export type CommandOutcome = { kind: "exited"; exitCode: number } | { kind: "failed"; message: string };

/** Runs one exec or attach session against the streams; resolves when it is over. */
export type CommandRunner = (streams: CommandStreams) => Promise<CommandOutcome>;

/** The stream options of an exec or attach request. */
export interface CommandOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/**
 * The status the error stream carries (metav1.Status, as kubelet writes it). Clients of
 * v4 and later read it as JSON; kubectl turns NonZeroExitCode into its own exit code.
 */
export function statusJson(outcome: CommandOutcome, cmd?: string[]): string {
  if (outcome.kind === "exited" && outcome.exitCode === 0)
    return JSON.stringify({ metadata: {}, status: "Success" });
  if (outcome.kind === "exited") {
    const what = cmd ? `error executing command ${JSON.stringify(cmd)}, ` : "";
    return JSON.stringify({
      metadata: {},
      status: "Failure",
      message: `command terminated with non-zero exit code: ${what}exit code ${outcome.exitCode}`,
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: String(outcome.exitCode) }] },
    });
  }
  return JSON.stringify({
    metadata: {},
    status: "Failure",
    message: outcome.message,
    reason: "InternalError",
    details: { causes: [{ message: outcome.message }] },
    code: 500,
  });
}

/** Before v4 the error stream carried plain text, and nothing at all on success. */
export function statusText(outcome: CommandOutcome): string {
  if (outcome.kind === "failed") return outcome.message;
  if (outcome.exitCode === 0) return "";
  return `command terminated with non-zero exit code: exit code ${outcome.exitCode}`;
}

/**
 * Fans terminal sizes out to listeners. A listener registered late (the runner may still
 * be preparing the process when the client's first size arrives) gets the latest size at
 * once, so no size is lost.
 */
export class ResizeEvents {
  private latest: TerminalSize | undefined;
  private readonly listeners: ((size: TerminalSize) => void)[] = [];

  emit(size: TerminalSize): void {
    this.latest = size;
    for (const listener of this.listeners) listener(size);
  }

  on(listener: (size: TerminalSize) => void): void {
    this.listeners.push(listener);
    if (this.latest) listener(this.latest);
  }
}

/**
 * Splits the resize stream into sizes. Clients write one JSON object per resize
 * ({"Width":80,"Height":24}); over SPDY an object may arrive in pieces or several at once.
 */
export class ResizeDecoder {
  private pending = "";

  push(chunk: Buffer | string): TerminalSize[] {
    this.pending += chunk.toString();
    const sizes: TerminalSize[] = [];
    for (;;) {
      const end = objectEnd(this.pending);
      if (end < 0) break;
      const text = this.pending.slice(0, end);
      this.pending = this.pending.slice(end);
      const size = parseSize(text);
      if (size) sizes.push(size);
    }
    if (this.pending.length > 4096) this.pending = ""; // garbage, not a size
    return sizes;
  }
}

/** Index just past the first complete top-level JSON object, or -1. */
function objectEnd(text: string): number {
  let depth = 0;
  let inString = false;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "{") {
      depth++;
      started = true;
    } else if (c === "}") {
      depth--;
      if (started && depth === 0) return i + 1;
    }
  }
  return -1;
}

function parseSize(text: string): TerminalSize | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text.trim());
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const fields = Object.fromEntries(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v]));
  const width = Number(fields.width);
  const height = Number(fields.height);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) return undefined;
  if (width > 0xffff || height > 0xffff) return undefined;
  return { width, height };
}
