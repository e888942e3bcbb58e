// Reads a CRI container log as raw lines, in bounded memory, across the generations log
// rotation keeps beside it (`<log>.<stamp>.gz`, `<log>.<stamp>`, then `<log>`): from the
// start, or from N logical lines before the end (read backwards in chunks, counted forwards
// in a .gz), and optionally following new lines across rotation (the file renamed away and
// recreated by ReopenContainerLog, or truncated in place) until the container is done.
import { open, stat, type FileHandle } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { listRotatedLogs, type RotatedLog } from "../logs/rotated-logs.js";
import { LOG_LINE_HEAD_BYTES, parseCriLogLine, type LogStream } from "./cri-log-format.js";
import { generationBytes, olderGenerations, openGeneration, type OpenGeneration } from "./log-generations.js";

const NEWLINE = 0x0a;
const DEFAULT_CHUNK_BYTES = 64 * 1024;
const DEFAULT_MAX_LINE_BYTES = 1 << 20;
/** How long a reader waits for a log renamed away by rotation to be reopened: 10 x 100 ms. */
const REOPEN_WAIT_ATTEMPTS = 10;
const REOPEN_WAIT_MS = 100;

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

/** Lines are followed per stream; malformed lines stand alone, in a kind of their own. */
type LineKind = LogStream | "malformed";

/** Where --tail starts reading, and which lines found there are not among the last N. */
export interface TailStart {
  offset: number;
  /** Per kind: how many lines (each with its fragments) to drop before printing that kind. */
  skip: Partial<Record<LineKind, number>>;
}

/**
 * Where to read from to print the last `lines` logical lines of a CRI log, reading
 * backwards in chunks. A logical line is a run of P entries of one stream and the F that
 * ends it, printed when its F comes; stdout and stderr lines interleave, so the last N
 * are the last N to end (a trailing run of P entries whose F has not been written yet
 * counts where its latest fragment is). Reading starts where the earliest of them starts; lines that end there
 * but are not among the N are counted in `skip`, so the result is exactly the last N
 * lines of what printing the whole file would show.
 */
export async function findTailStart(
  file: FileHandle,
  size: number,
  lines: number,
  chunkBytes = DEFAULT_CHUNK_BYTES,
): Promise<TailStart> {
  const { offset, skip } = await locateTail(file, size, lines, chunkBytes);
  return { offset, skip };
}

/** findTailStart, and how many of the `lines` the file holds (fewer: the rest are in older files). */
async function locateTail(
  file: FileHandle,
  size: number,
  lines: number,
  chunkBytes: number,
  continued: ReadonlySet<LogStream> = new Set(),
): Promise<TailStart & { found: number; seen: Set<LogStream> }> {
  const seen = new Set<LogStream>();
  if (lines <= 0) return { offset: size, skip: {}, found: 0, seen };
  let count = 0;
  // Streams with a chosen line whose start is not found yet, and its earliest entry so far.
  const open = new Map<LogStream, number>();
  const starts: number[] = [];
  // Lines found after the count was reached: they may lie after the start, to be skipped.
  const others: { kind: LineKind; offset: number }[] = [];
  let complete = false;
  for await (const { offset, head } of linesBackwards(file, size, chunkBytes)) {
    const entry = parseCriLogLine(head);
    if (entry.nanos === undefined) {
      if (count < lines) {
        count++;
        starts.push(offset);
      } else {
        others.push({ kind: "malformed", offset });
      }
    } else {
      const stream = entry.stream;
      const firstOfStream = !seen.has(stream);
      seen.add(stream);
      if (entry.partial) {
        if (open.has(stream)) open.set(stream, offset);
        else if (firstOfStream && continued.has(stream)) {
          // The file ends inside a line whose F is in a newer generation, where it was counted.
          open.set(stream, offset);
        } else if (firstOfStream) {
          // The stream ends with a line whose F has not been written yet.
          if (count < lines) {
            count++;
            open.set(stream, offset);
          } else {
            others.push({ kind: stream, offset });
          }
        }
      } else {
        // This F ends the line before the open one: the open one starts at the entry after it.
        const openStart = open.get(stream);
        if (openStart !== undefined) {
          starts.push(openStart);
          open.delete(stream);
        }
        if (count < lines) {
          count++;
          open.set(stream, offset);
        } else {
          others.push({ kind: stream, offset });
        }
      }
    }
    if (count === lines && open.size === 0) {
      complete = true;
      break;
    }
  }
  // At the start of the file, each stream's first entry starts its line.
  if (!complete) {
    if (count < lines) return { offset: 0, skip: {}, found: count, seen };
    starts.push(...open.values());
  }
  const offset = Math.min(...starts);
  const skip: TailStart["skip"] = {};
  for (const other of others) {
    if (other.offset >= offset) skip[other.kind] = (skip[other.kind] ?? 0) + 1;
  }
  return { offset, skip, found: lines, seen };
}

/** Start offsets and first bytes of a file's lines, last line first; a final newline ends, not starts, a line. */
async function* linesBackwards(
  file: FileHandle,
  size: number,
  chunkBytes: number,
): AsyncGenerator<{ offset: number; head: Buffer }> {
  let chunkEnd = size;
  while (chunkEnd > 0) {
    const chunkStart = Math.max(0, chunkEnd - chunkBytes);
    // Read a little past the chunk so the head of a line that starts at its last byte is at hand.
    const buf = Buffer.alloc(Math.min(size, chunkEnd + LOG_LINE_HEAD_BYTES) - chunkStart);
    const { bytesRead } = await file.read(buf, 0, buf.length, chunkStart);
    const data = buf.subarray(0, bytesRead);
    const headAt = (offset: number): Buffer => {
      const head = data.subarray(offset - chunkStart, offset - chunkStart + LOG_LINE_HEAD_BYTES);
      const nl = head.indexOf(NEWLINE);
      return nl < 0 ? head : head.subarray(0, nl);
    };
    let idx = chunkEnd - 1 - chunkStart;
    while (idx >= 0) {
      const nl = data.lastIndexOf(NEWLINE, idx);
      if (nl < 0) break;
      const lineStart = chunkStart + nl + 1;
      if (lineStart < size) yield { offset: lineStart, head: headAt(lineStart) };
      idx = nl - 1;
    }
    if (chunkStart === 0) yield { offset: 0, head: headAt(0) };
    chunkEnd = chunkStart;
  }
}

/** Drops, per kind, the first lines found after a --tail start that are not among the last N. */
class TailSkipper {
  private readonly left: Map<LineKind, number>;

  constructor(skip: TailStart["skip"]) {
    this.left = new Map(Object.entries(skip) as [LineKind, number][]);
  }

  keep(lines: Buffer[]): Buffer[] {
    if (this.left.size === 0) return lines;
    return lines.filter((line) => {
      if (this.left.size === 0) return true;
      const entry = parseCriLogLine(line.subarray(0, LOG_LINE_HEAD_BYTES));
      const kind: LineKind = entry.nanos === undefined ? "malformed" : entry.stream;
      const left = this.left.get(kind);
      if (left === undefined) return true;
      // A fragment (P) belongs to the line being skipped; the line ends with its F.
      if (!entry.partial) {
        if (left > 1) this.left.set(kind, left - 1);
        else this.left.delete(kind);
      }
      return false;
    });
  }
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

/** Where reading starts: in which older generation (their count: in the current file), where in it, and what to skip. */
interface ReadStart extends TailStart {
  generation: number;
}

/**
 * Where --tail starts in a generation: a plain one is searched backwards as the current file
 * is; a compressed one is counted forwards (streams cannot be read backwards), and its lines
 * before the start are skipped by kind. undefined when the generation is gone.
 */
async function locateTailInGeneration(
  gen: RotatedLog,
  lines: number,
  chunkBytes: number,
  maxLineBytes: number | undefined,
  continued: ReadonlySet<LogStream>,
): Promise<(TailStart & { found: number; seen: Set<LogStream> }) | undefined> {
  const opened = await openGeneration(gen);
  if (opened === undefined) return undefined;
  try {
    if (opened.kind === "plain") {
      return await locateTail(opened.file, opened.size, lines, chunkBytes, continued);
    }
    const total = await countLineEnds(opened, Infinity, chunkBytes, maxLineBytes, continued);
    if (total.count <= lines) return { offset: 0, skip: {}, found: total.count, seen: total.seen };
    const before = await countLineEnds(opened, total.count - lines, chunkBytes, maxLineBytes, continued);
    return { offset: 0, skip: before.byKind, found: lines, seen: total.seen };
  } finally {
    await opened.file.close();
  }
}

/**
 * Logical lines of a generation, counted where they end (an F entry, a malformed line, or a
 * run of P entries the file ends in, unless a newer generation goes on with that stream and
 * so ends the line), up to `limit`; with how many of each kind, and the streams seen.
 */
async function countLineEnds(
  gen: OpenGeneration,
  limit: number,
  chunkBytes: number,
  maxLineBytes: number | undefined,
  continued: ReadonlySet<LogStream>,
): Promise<{ count: number; byKind: Partial<Record<LineKind, number>>; seen: Set<LogStream> }> {
  const splitter = new LineSplitter(maxLineBytes);
  const byKind: Partial<Record<LineKind, number>> = {};
  const open = new Set<LogStream>();
  const seen = new Set<LogStream>();
  let count = 0;
  const end = (kind: LineKind): void => {
    count++;
    byKind[kind] = (byKind[kind] ?? 0) + 1;
  };
  const take = (lines: Buffer[]): void => {
    for (const line of lines) {
      if (count >= limit) return;
      const entry = parseCriLogLine(line.subarray(0, LOG_LINE_HEAD_BYTES));
      if (entry.nanos === undefined) {
        end("malformed");
        continue;
      }
      seen.add(entry.stream);
      if (entry.partial) open.add(entry.stream);
      else {
        open.delete(entry.stream);
        end(entry.stream);
      }
    }
  };
  for await (const chunk of generationBytes(gen, 0, chunkBytes)) {
    take(splitter.push(chunk));
    if (count >= limit) return { count, byKind, seen };
  }
  take(splitter.flush());
  for (const stream of open) if (count < limit && !continued.has(stream)) end(stream);
  return { count, byKind, seen };
}

/** Opens the current log; during a rotation (renamed away, not yet reopened) it waits a little for it. */
async function openCurrentLog(path: string, signal: AbortSignal | undefined): Promise<FileHandle> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await open(path, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= REOPEN_WAIT_ATTEMPTS) throw err;
      if ((await listRotatedLogs(path)).rotated.length === 0) throw err;
      await sleep(REOPEN_WAIT_MS, undefined, { signal }).catch(() => {
        throw err;
      });
    }
  }
}

/**
 * Raw lines of a CRI container log (see ReadLogOptions), in batches (the lines of one read,
 * so a caller can write them at once): its rotated generations first, oldest first (`.gz`
 * ones decompressed), then the current file; ends at the end of the file unless following.
 */
export async function* readLogLines(opts: ReadLogOptions): AsyncGenerator<Buffer[]> {
  const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const follow = opts.follow;
  const splitter = new LineSplitter(opts.maxLineBytes);
  let file = await openCurrentLog(opts.path, follow?.signal);
  try {
    const older = await olderGenerations(opts.path, file);
    const start: ReadStart = { generation: 0, offset: 0, skip: {} };
    if (opts.tailLines !== undefined) {
      const inCurrent = await locateTail(file, (await file.stat()).size, opts.tailLines, chunkBytes);
      Object.assign(start, { generation: older.length, offset: inCurrent.offset, skip: inCurrent.skip });
      // Not all of them in the current file: the rest are at the end of older generations.
      let missing = opts.tailLines - inCurrent.found;
      // Streams newer generations go on with: a line an older one ends in is finished there.
      const continued = new Set(inCurrent.seen);
      while (missing > 0 && start.generation > 0) {
        start.generation--;
        const found = await locateTailInGeneration(
          older[start.generation]!,
          missing,
          chunkBytes,
          opts.maxLineBytes,
          continued,
        );
        if (found === undefined) continue;
        Object.assign(start, { offset: found.offset, skip: found.skip });
        missing -= found.found;
        for (const stream of found.seen) continued.add(stream);
      }
    }
    const skipper = new TailSkipper(start.skip);
    const some = (lines: Buffer[]): Buffer[][] => {
      const kept = skipper.keep(lines);
      return kept.length > 0 ? [kept] : [];
    };
    for (let i = start.generation; i < older.length; i++) {
      const gen = await openGeneration(older[i]!);
      // Removed by retention since the listing: its lines are gone.
      if (gen === undefined) continue;
      try {
        for await (const chunk of generationBytes(
          gen,
          i === start.generation ? start.offset : 0,
          chunkBytes,
        )) {
          if (follow?.signal?.aborted) return;
          yield* some(splitter.push(chunk));
        }
      } finally {
        await gen.file.close();
      }
      yield* some(splitter.flush());
    }
    let position = start.generation === older.length ? start.offset : 0;
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
        // Gone again already (rotated twice in a row): look again after the pause below.
        const next = await open(opts.path, "r").catch((err: NodeJS.ErrnoException) => {
          if (err.code === "ENOENT") return undefined;
          throw err;
        });
        if (next) {
          await file.close();
          file = next;
          position = 0;
          continue;
        }
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
