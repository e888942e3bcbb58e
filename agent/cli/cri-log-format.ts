// The CRI container log format as conmon writes it, one entry per line:
// `<RFC3339Nano time> <stdout|stderr> <P|F> <text>`. P marks a fragment of a longer line
// whose rest follows in later entries of the same stream; F ends the line. Text is kept
// as bytes: a container may print anything, and a UTF-8 character can be split across
// fragments.

export type LogStream = "stdout" | "stderr";

export interface CriLogEntry {
  /** The time as written (for --timestamps); empty for a malformed line. */
  time: string;
  /** Nanoseconds since the epoch; undefined for a malformed line. */
  nanos: bigint | undefined;
  stream: LogStream;
  /** P: the line continues in the next entry of this stream. */
  partial: boolean;
  text: Buffer;
}

/** One output line (or a piece of one too long to hold in memory at once). */
export interface LogRecord {
  stream: LogStream;
  /** The time of the line's first fragment; empty for a malformed line. */
  time: string;
  nanos: bigint | undefined;
  text: Buffer;
  /** False for the later pieces of a line cut at the length bound: no time prefix. */
  lineStart: boolean;
  /** False when the line was cut at the length bound and continues in the next record. */
  lineEnd: boolean;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$/;

/** Nanoseconds since the epoch of an RFC 3339 time (nanosecond precision); undefined if malformed. */
export function parseRfc3339Nanos(value: string): bigint | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac = "", zone = "Z"] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(ms)) return undefined;
  let offsetMinutes = 0;
  if (zone !== "Z" && zone !== "z") {
    const sign = zone.startsWith("-") ? -1 : 1;
    offsetMinutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  }
  const fractionNanos = BigInt(frac.padEnd(9, "0") || "0");
  return BigInt(ms - offsetMinutes * 60_000) * 1_000_000n + fractionNanos;
}

const SPACE = 0x20;

/** Parses one log line (without its newline). A line that is not in the format is kept verbatim, as stdout. */
export function parseCriLogLine(line: Buffer | string): CriLogEntry {
  const buf = typeof line === "string" ? Buffer.from(line) : line;
  const malformed: CriLogEntry = { time: "", nanos: undefined, stream: "stdout", partial: false, text: buf };
  const timeEnd = buf.indexOf(SPACE);
  if (timeEnd <= 0) return malformed;
  const streamEnd = buf.indexOf(SPACE, timeEnd + 1);
  if (streamEnd < 0) return malformed;
  const stream = buf.toString("latin1", timeEnd + 1, streamEnd);
  if (stream !== "stdout" && stream !== "stderr") return malformed;
  // The tag is one letter; the text after its space may be empty (an empty line), and
  // some writers omit that space when the text is empty.
  const tag = buf.toString("latin1", streamEnd + 1, streamEnd + 2);
  const afterTag = buf[streamEnd + 2];
  if ((tag !== "P" && tag !== "F") || (afterTag !== undefined && afterTag !== SPACE)) return malformed;
  const time = buf.toString("latin1", 0, timeEnd);
  const nanos = parseRfc3339Nanos(time);
  if (nanos === undefined) return malformed;
  return { time, nanos, stream, partial: tag === "P", text: buf.subarray(streamEnd + 3) };
}

/** Enough leading bytes of a line for parseCriLogLine to tell its time, stream and tag. */
export const LOG_LINE_HEAD_BYTES = 64;

interface Pending {
  time: string;
  nanos: bigint | undefined;
  parts: Buffer[];
  bytes: number;
  /** A piece of this line was already emitted (the line is longer than the bound). */
  cut: boolean;
}

/**
 * Joins P fragments into whole lines, per stream. A line longer than maxLineBytes is
 * emitted in pieces so memory stays bounded whatever a container prints.
 */
export class PartialLineJoiner {
  private readonly pending = new Map<LogStream, Pending>();

  constructor(private readonly maxLineBytes = 1 << 20) {}

  push(entry: CriLogEntry): LogRecord[] {
    if (entry.nanos === undefined) {
      return [{ ...entry, lineStart: true, lineEnd: true }];
    }
    let p = this.pending.get(entry.stream);
    if (!p) {
      p = { time: entry.time, nanos: entry.nanos, parts: [], bytes: 0, cut: false };
      this.pending.set(entry.stream, p);
    }
    p.parts.push(entry.text);
    p.bytes += entry.text.length;
    if (!entry.partial) {
      this.pending.delete(entry.stream);
      return [this.recordOf(entry.stream, p, true)];
    }
    if (p.bytes < this.maxLineBytes) return [];
    const piece = this.recordOf(entry.stream, p, false);
    p.parts = [];
    p.bytes = 0;
    p.cut = true;
    return [piece];
  }

  /** What is left when the input ends: fragments whose F never came, printed as lines. */
  flush(): LogRecord[] {
    const rest = [...this.pending.entries()].map(([stream, p]) => this.recordOf(stream, p, true));
    this.pending.clear();
    return rest;
  }

  private recordOf(stream: LogStream, p: Pending, lineEnd: boolean): LogRecord {
    return {
      stream,
      time: p.time,
      nanos: p.nanos,
      text: p.parts.length === 1 ? p.parts[0]! : Buffer.concat(p.parts, p.bytes),
      lineStart: !p.cut,
      lineEnd,
    };
  }
}

/**
 * Raw log lines in, records to print out: parses, joins fragments and drops lines older
 * than `sinceNanos`. A malformed line has no time of its own; it goes with the line before.
 */
export class CriLogDecoder {
  private readonly joiner: PartialLineJoiner;
  private readonly sinceNanos: bigint | undefined;
  private lastNanos: bigint | undefined;
  /** Whether the line a continuation piece belongs to was kept, per stream. */
  private readonly keptLine = new Map<LogStream, boolean>();

  constructor(opts: { sinceNanos?: bigint; maxLineBytes?: number } = {}) {
    this.joiner = new PartialLineJoiner(opts.maxLineBytes);
    this.sinceNanos = opts.sinceNanos;
  }

  decode(line: Buffer): LogRecord[] {
    const entry = parseCriLogLine(line);
    if (entry.nanos !== undefined) this.lastNanos = entry.nanos;
    return this.filter(this.joiner.push(entry));
  }

  end(): LogRecord[] {
    return this.filter(this.joiner.flush());
  }

  private filter(records: LogRecord[]): LogRecord[] {
    if (this.sinceNanos === undefined) return records;
    const since = this.sinceNanos;
    return records.filter((r) => {
      if (!r.lineStart) return this.keptLine.get(r.stream) ?? true;
      const nanos = r.nanos ?? this.lastNanos;
      const keep = nanos === undefined || nanos >= since;
      this.keptLine.set(r.stream, keep);
      return keep;
    });
  }
}

/** The bytes to print for a record: the time prefix with --timestamps, the newline at a line's end. */
export function formatRecord(record: LogRecord, timestamps: boolean): Buffer {
  const parts: Buffer[] = [];
  if (timestamps && record.lineStart && record.time) parts.push(Buffer.from(record.time + " "));
  parts.push(record.text);
  if (record.lineEnd) parts.push(Buffer.from("\n"));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

const DURATION_UNITS: Record<string, number> = { ms: 1e-3, s: 1, m: 60, h: 3600 };

/**
 * --since: a duration back from now ("10s", "5m", "1h30m", "500ms") or an RFC 3339 time.
 * Returns nanoseconds since the epoch.
 */
export function parseSince(value: string, nowMs: number): bigint {
  const at = parseRfc3339Nanos(value);
  if (at !== undefined) return at;
  const durationRe = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let seconds = 0;
  let consumed = 0;
  for (const m of value.matchAll(durationRe)) {
    if (m.index !== consumed) break;
    seconds += Number(m[1]) * DURATION_UNITS[m[2]!]!;
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== value.length) {
    throw new Error(`invalid --since "${value}": use a duration such as 10s, 5m, 1h30m or an RFC 3339 time`);
  }
  return BigInt(Math.round(nowMs - seconds * 1000)) * 1_000_000n;
}
