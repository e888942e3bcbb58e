import { describe, expect, it } from "vitest";
import {
  ResizeDecoder,
  ResizeEvents,
  statusJson,
  statusText,
  type TerminalSize,
} from "../../../../cri/streaming/command.js";

describe("ResizeDecoder", () => {
  it("splits concatenated and fragmented JSON sizes", () => {
    const d = new ResizeDecoder();
    expect(d.push('{"Width":80,"Height":24}{"Width":1')).toEqual([{ width: 80, height: 24 }]);
    expect(d.push('00,"Height":50}')).toEqual([{ width: 100, height: 50 }]);
    expect(d.push('{"width":3,"height":4}')).toEqual([{ width: 3, height: 4 }]);
  });

  it("skips objects that are not sizes", () => {
    const d = new ResizeDecoder();
    expect(d.push('{"Width":"x","Height":2}{"a":"}"}{"Width":-1,"Height":2}')).toEqual([]);
    expect(d.push('{"Width":70000,"Height":2}')).toEqual([]);
  });
});

describe("ResizeEvents", () => {
  it("replays the latest size to a late listener", () => {
    const events = new ResizeEvents();
    events.emit({ width: 1, height: 1 });
    events.emit({ width: 2, height: 3 });
    const seen: TerminalSize[] = [];
    events.on((s) => seen.push(s));
    events.emit({ width: 4, height: 5 });
    expect(seen).toEqual([
      { width: 2, height: 3 },
      { width: 4, height: 5 },
    ]);
  });
});

describe("status of a finished command", () => {
  it("is Success for exit code 0", () => {
    expect(JSON.parse(statusJson({ kind: "exited", exitCode: 0 }))).toEqual({
      metadata: {},
      status: "Success",
    });
    expect(statusText({ kind: "exited", exitCode: 0 })).toBe("");
  });

  it("carries a non-zero exit code the way kubectl reads it", () => {
    const status = JSON.parse(statusJson({ kind: "exited", exitCode: 42 }, ["sh", "-c", "exit 42"]));
    expect(status).toMatchObject({
      status: "Failure",
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: "42" }] },
    });
    expect(status.message).toContain("exit code 42");
    expect(statusText({ kind: "exited", exitCode: 42 })).toContain("non-zero exit code");
  });

  it("reports failures as InternalError", () => {
    const status = JSON.parse(statusJson({ kind: "failed", message: "no such file" }));
    expect(status).toMatchObject({
      status: "Failure",
      reason: "InternalError",
      message: "no such file",
      code: 500,
    });
    expect(statusText({ kind: "failed", message: "no such file" })).toBe("no such file");
  });
});
