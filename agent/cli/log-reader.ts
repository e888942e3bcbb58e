// Reads a CRI container log file as raw lines, in bounded memory: from the start, or from
// N logical lines before the end (read backwards in chunks), and optionally following new
// lines across log rotation (the file renamed away and recreated by ReopenContainerLog, or
// truncated in place) until the container is done.
import { open, stat, type FileHandle } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { endsLogicalLine, LOG_LINE_HEAD_BYTES } from "./cri-log-format.js";

const NEWLINE = 0x0a;
const DEFAULT_CHUNK_BYTES = 64 * 1024;
const DEFAULT_MAX_LINE_BYTES = 1 << 20;

export interface FollowOptions {
  /** Whether the writer is done (the container exited). Once true, the rest of the file is read and reading ends. */
  finished: () => Promise<boolean>;
  /** How often `finished` is asked, at most. */
  finishCheckMs?: number;
  /** How long to wait at the end of the file before looking again. */
  pollMs?: number;
  /** Ends the reading at once (Ctrl-C). */
  signal?: AbortSignal;
  /** Milliseconds of a monotonic-enough clock, for the finishCheckMs throttle. */
  now?: () => number;
}

export interface ReadLogOptions {
  path: string;
  /** Start this many logical lines before the end (0: at the end); undefined: from the start. */
  tailLines?: number;
  follow?: FollowOptions;
  chunkBytes?: number;
  /** A raw line longer than this (no newline in sight) is handed out in pieces. */
  maxLineBytes?: number;
}

/**
 * The offset where the last `lines` logical lines of a CRI log start. A logical line
 * ends with an F entry (or a malformed line); P entries before it belong to it. A
 * trailing run of P entries whose F has not been written yet counts as a line.
 */
export async function tailStartOffset(
  file: FileHandle,
  size: number,
  lines: number,
  chunkBytes = DEFAULT_CHUNK_BYTES,
): Promise<number> {
  if (lines <= 0) return size;
  let count = 0;
  // Start of the raw line after the one being classified; `size` while there is none.
  let nextStart = size;
  let chunkEnd = size;
  while (chunkEnd > 0) {
    const chunkStart = Math.max(0, chunkEnd - chunkBytes);
    // Read a little past the chunk so the head of a line that starts at its last byte is at hand.
    const readEnd = Math.min(size, chunkEnd + LOG_LINE_HEAD_BYTES);
    const buf = Buffer.alloc(readEnd - chunkStart);
    const { bytesRead } = await file.read(buf, 0, buf.length, chunkStart);
    const data = buf.subarray(0, bytesRead);
    const headAt = (offset: number): Buffer => {
      const head = data.subarray(offset - chunkStart, offset - chunkStart + LOG_LINE_HEAD_BYTES);
      const nl = head.indexOf(NEWLINE);
      return nl < 0 ? head : head.subarray(0, nl);
    };
    // Each newline found marks the start of a raw line right after it; a logical line
    // starts after every raw line that ends one.
    const classify = (lineStart: number): number | undefined => {
      if (nextStart < size && endsLogicalLine(headAt(lineStart))) {
        count++;
        if (count === lines) return nextStart;
      }
      nextStart = lineStart;
      return undefined;
    };
    let idx = chunkEnd - 1 - chunkStart;
    while (idx >= 0) {
      const nl = data.lastIndexOf(NEWLINE, idx);
      if (nl < 0) break;
      const found = classify(chunkStart + nl + 1);
      if (found !== undefined) return found;
      idx = nl - 1;
    }
    if (chunkStart === 0) {
      const found = classify(0);
      if (found !== undefined) return found;
    }
    chunkEnd = chunkStart;
  }
  return 0;
}

/** Splits a byte stream into lines (without the newline), holding at most maxLineBytes of an unfinished one. */
export class LineSplitter {
  private carry: Buffer[] = [];
  private carryBytes = 0;

  constructor(private readonly maxLineBytes = DEFAULT_MAX_LINE_BYTES) {}

  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    let from = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, from);
      if (nl < 0) break;
      const piece = chunk.subarray(from, nl);
      if (this.carryBytes > 0) {
        this.carry.push(piece);
        lines.push(Buffer.concat(this.carry, this.carryBytes + piece.length));
        this.carry = [];
        this.carryBytes = 0;
      } else {
        lines.push(piece);
      }
      from = nl + 1;
    }
    if (from < chunk.length) {
      const rest = chunk.subarray(from);
      this.carry.push(rest);
      this.carryBytes += rest.length;
      if (this.carryBytes >= this.maxLineBytes) lines.push(...this.flush());
    }
    return lines;
  }

  /** The unfinished line, if any (at the end of the input, or of a file rotated away). */
  flush(): Buffer[] {
    if (this.carryBytes === 0) return [];
    const line = Buffer.concat(this.carry, this.carryBytes);
    this.carry = [];
    this.carryBytes = 0;
    return [line];
  }
}

export type RotationCheck = "unchanged" | "replaced" | "truncated" | "missing";

/**
 * What happened to the log at `path` while `file` (opened from it) was read up to `position`:
 * replaced by a new file (rotated: renamed away, then reopened), truncated in place,
 * missing (renamed away, not yet recreated), or unchanged.
 */
export async function detectRotation(
  path: string,
  file: FileHandle,
  position: number,
): Promise<RotationCheck> {
  const opened = await file.stat();
  const current = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw err;
  });
  if (!current) return "missing";
  if (current.ino !== opened.ino || current.dev !== opened.dev) return "replaced";
  if (opened.size < position) return "truncated";
  return "unchanged";
}

/**
 * Raw lines of a CRI log file (see ReadLogOptions), in batches (the lines of one read, so
 * a caller can write them at once); ends at the end of the file unless following.
 */
export async function* readLogLines(opts: ReadLogOptions): AsyncGenerator<Buffer[]> {
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const follow = opts.follow;
  const splitter = new LineSplitter(opts.maxLineBytes);
  let file = await open(opts.path, "r");
  try {
    let position =
      opts.tailLines === undefined
        ? 0
        : await tailStartOffset(file, (await file.stat()).size, opts.tailLines, chunkBytes);
    const some = (lines: Buffer[]): Buffer[][] => (lines.length > 0 ? [lines] : []);
    const readToEnd = async function* (from: FileHandle): AsyncGenerator<Buffer[]> {
      for (;;) {
        if (follow?.signal?.aborted) return;
        // A fresh buffer per read: lines handed out are views into it and may be held on to.
        const buf = Buffer.allocUnsafe(chunkBytes);
        const { bytesRead } = await from.read(buf, 0, chunkBytes, position);
        if (bytesRead === 0) return;
        position += bytesRead;
        yield* some(splitter.push(buf.subarray(0, bytesRead)));
      }
    };

    if (!follow) {
      yield* readToEnd(file);
      yield* some(splitter.flush());
      return;
    }
    const now = follow.now ?? Date.now;
    let lastFinishCheck = -Infinity;
    let finishing = false;
    for (;;) {
      yield* readToEnd(file);
      if (follow.signal?.aborted) return;
      const rotation = await detectRotation(opts.path, file, position);
      if (rotation === "replaced") {
        // The writer may have written to the old file between our last read and its reopen.
        yield* readToEnd(file);
        yield* some(splitter.flush());
        const next = await open(opts.path, "r");
        await file.close();
        file = next;
        position = 0;
        continue;
      }
      if (rotation === "truncated") {
        yield* some(splitter.flush());
        position = 0;
        continue;
      }
      if (finishing) break;
      if (now() - lastFinishCheck >= (follow.finishCheckMs ?? 1000)) {
        lastFinishCheck = now();
        if (await follow.finished()) {
          // One more pass: what was written before the end, possibly to a new file.
          finishing = true;
          continue;
        }
      }
      try {
        await sleep(follow.pollMs ?? 250, undefined, { signal: follow.signal });
      } catch {
        return;
      }
    }
    yield* some(splitter.flush());
  } finally {
    await file.close();
  }
}
