import { describe, expect, it } from "vitest";
import {
  CriLogDecoder,
  LOG_LINE_HEAD_BYTES,
  formatRecord,
  parseCriLogLine,
  parseRfc3339Nanos,
  parseSince,
  PartialLineJoiner,
  type LogRecord,
} from "../../../../agent/cli/cri-log-format.js";

const T1 = "2024-05-01T10:00:00.123456789Z";
const T2 = "2024-05-01T10:00:01.5+02:00";

function texts(records: LogRecord[]): string[] {
  return records.map((r) => `${r.stream}:${r.text.toString()}${r.lineEnd ? "" : "…"}`);
}

describe("parseRfc3339Nanos", () => {
  it("keeps nanoseconds and applies the zone offset", () => {
    expect(parseRfc3339Nanos(T1)).toBe(BigInt(Date.UTC(2024, 4, 1, 10, 0, 0)) * 1_000_000n + 123_456_789n);
    expect(parseRfc3339Nanos(T2)).toBe(BigInt(Date.UTC(2024, 4, 1, 8, 0, 1)) * 1_000_000n + 500_000_000n);
    expect(parseRfc3339Nanos("2024-05-01T10:00:00Z")).toBe(BigInt(Date.UTC(2024, 4, 1, 10)) * 1_000_000n);
  });
  it("rejects what is not RFC 3339", () => {
    expect(parseRfc3339Nanos("2024-05-01 10:00:00")).toBeUndefined();
    expect(parseRfc3339Nanos("yesterday")).toBeUndefined();
    expect(parseRfc3339Nanos("2024-05-01T10:00:00.1234567890Z")).toBeUndefined();
  });
});

describe("parseCriLogLine", () => {
  it("splits time, stream, tag and text", () => {
    const e = parseCriLogLine(`${T1} stderr F hello  world `);
    expect(e).toMatchObject({ time: T1, stream: "stderr", partial: false });
    expect(e.text.toString()).toBe("hello  world ");
    const p = parseCriLogLine(`${T2} stdout P part`);
    expect(p.partial).toBe(true);
    expect(p.stream).toBe("stdout");
  });
  it("reads empty lines, with or without the space after the tag", () => {
    expect(parseCriLogLine(`${T1} stdout F `).text.length).toBe(0);
    const bare = parseCriLogLine(`${T1} stdout F`);
    expect(bare.nanos).toBeDefined();
    expect(bare.text.length).toBe(0);
  });
  it("keeps malformed lines verbatim, as stdout", () => {
    for (const line of [
      "just text",
      `${T1} stdin F x`,
      `${T1} stdout X x`,
      `${T1} stdout Fx`,
      `notatime stdout F x`,
      "",
    ]) {
      const e = parseCriLogLine(line);
      expect(e.nanos, line).toBeUndefined();
      expect(e.stream).toBe("stdout");
      expect(e.partial).toBe(false);
      expect(e.text.toString()).toBe(line);
    }
  });
  it("keeps bytes that are not UTF-8", () => {
    const raw = Buffer.concat([Buffer.from(`${T1} stdout F `), Buffer.from([0xff, 0xfe, 0x00, 0x41])]);
    expect([...parseCriLogLine(raw).text]).toEqual([0xff, 0xfe, 0x00, 0x41]);
  });
  it("reads a line's kind from its first LOG_LINE_HEAD_BYTES bytes", () => {
    const longest = "2024-05-01T10:00:00.123456789+05:30 stderr P ";
    const head = Buffer.from(longest + "x".repeat(100)).subarray(0, LOG_LINE_HEAD_BYTES);
    expect(parseCriLogLine(head)).toMatchObject({
      stream: "stderr",
      partial: true,
      time: longest.slice(0, 35),
    });
  });
});

describe("PartialLineJoiner", () => {
  const entry = (s: string) => parseCriLogLine(s);

  it("joins P fragments per stream, keeping the first fragment's time", () => {
    const j = new PartialLineJoiner();
    expect(j.push(entry(`${T1} stdout P hel`))).toEqual([]);
    const err = j.push(entry(`${T2} stderr F oops`));
    expect(texts(err)).toEqual(["stderr:oops"]);
    const out = j.push(entry(`${T2} stdout F lo`));
    expect(texts(out)).toEqual(["stdout:hello"]);
    expect(out[0]!.time).toBe(T1);
  });
  it("emits malformed lines at once without disturbing a pending fragment", () => {
    const j = new PartialLineJoiner();
    j.push(entry(`${T1} stdout P a`));
    expect(texts(j.push(entry("raw")))).toEqual(["stdout:raw"]);
    expect(texts(j.push(entry(`${T1} stdout F b`)))).toEqual(["stdout:ab"]);
  });
  it("cuts a line longer than the bound into pieces", () => {
    const j = new PartialLineJoiner(4);
    expect(texts(j.push(entry(`${T1} stdout P ab`)))).toEqual([]);
    const first = j.push(entry(`${T1} stdout P cd`));
    expect(texts(first)).toEqual(["stdout:abcd…"]);
    expect(first[0]!.lineStart).toBe(true);
    const rest = j.push(entry(`${T2} stdout F e`));
    expect(texts(rest)).toEqual(["stdout:e"]);
    expect(rest[0]!.lineStart).toBe(false);
  });
  it("flushes fragments whose F never came", () => {
    const j = new PartialLineJoiner();
    j.push(entry(`${T1} stderr P tail`));
    expect(texts(j.flush())).toEqual(["stderr:tail"]);
    expect(j.flush()).toEqual([]);
  });
});

describe("CriLogDecoder and formatRecord", () => {
  const since = parseRfc3339Nanos("2024-05-01T10:00:01Z")!;
  const decodeAll = (lines: string[], d: CriLogDecoder) => [
    ...lines.flatMap((l) => d.decode(Buffer.from(l))),
    ...d.end(),
  ];

  it("drops lines older than --since, and malformed lines that follow them", () => {
    const d = new CriLogDecoder({ sinceNanos: since });
    const out = decodeAll(
      [
        "2024-05-01T10:00:00Z stdout F old",
        "junk after old",
        "2024-05-01T10:00:02Z stdout F new",
        "junk after new",
      ],
      d,
    );
    expect(texts(out)).toEqual(["stdout:new", "stdout:junk after new"]);
  });
  it("judges a joined line by its first fragment's time", () => {
    const d = new CriLogDecoder({ sinceNanos: since });
    const out = decodeAll(["2024-05-01T10:00:00Z stdout P a", "2024-05-01T10:00:05Z stdout F b"], d);
    expect(out).toEqual([]);
  });
  it("prefixes the time only at a line's start and ends lines with a newline", () => {
    const [rec] = new CriLogDecoder().decode(Buffer.from(`${T1} stdout F hi`));
    expect(formatRecord(rec!, true).toString()).toBe(`${T1} hi\n`);
    expect(formatRecord(rec!, false).toString()).toBe("hi\n");
    const piece: LogRecord = { ...rec!, lineStart: false, lineEnd: false };
    expect(formatRecord(piece, true).toString()).toBe("hi");
  });
});

describe("parseSince", () => {
  const now = Date.UTC(2024, 4, 1, 12, 0, 0);
  const nowNs = BigInt(now) * 1_000_000n;
  it("takes durations back from now", () => {
    expect(parseSince("10s", now)).toBe(nowNs - 10_000_000_000n);
    expect(parseSince("5m", now)).toBe(nowNs - 300_000_000_000n);
    expect(parseSince("1h30m", now)).toBe(nowNs - 5_400_000_000_000n);
    expect(parseSince("250ms", now)).toBe(nowNs - 250_000_000n);
    expect(parseSince("1.5s", now)).toBe(nowNs - 1_500_000_000n);
  });
  it("takes RFC 3339 times", () => {
    expect(parseSince(T1, now)).toBe(parseRfc3339Nanos(T1));
  });
  it("rejects anything else with a clear message", () => {
    for (const bad of ["", "10", "5 m", "1d", "m5", "10s junk", "-5s"]) {
      expect(() => parseSince(bad, now), bad).toThrow(/invalid --since/);
    }
  });
});
