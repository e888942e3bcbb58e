import { describe, expect, it } from "vitest";
import { RuntimeFailureError } from "../../../common/errors.js";
import {
  parseFlatKeyed,
  parseLimit,
  parseNestedKeyed,
  parsePidList,
  parseUint,
} from "../../../cgroups/parse.js";

describe("cgroup file parsers", () => {
  it("parses unsigned integers and rejects anything else", () => {
    expect(parseUint(" 42\n", "x")).toBe(42);
    expect(() => parseUint("-1", "pids.current")).toThrow(RuntimeFailureError);
    expect(() => parseUint("", "pids.current")).toThrow(/malformed pids.current/);
  });

  it('reads "max" and v1\'s near-2^63 values as unlimited', () => {
    expect(parseLimit("max\n", "memory.max")).toBeUndefined();
    expect(parseLimit("9223372036854771712\n", "memory.limit_in_bytes")).toBeUndefined();
    // The same sentinel on a 64 KiB-page kernel.
    expect(parseLimit("9223372036854710272", "memory.limit_in_bytes")).toBeUndefined();
    expect(parseLimit("536870912", "memory.max")).toBe(536870912);
  });

  it("parses flat keyed files and skips lines of another shape", () => {
    const values = parseFlatKeyed("a 1\nb 22\n\nbad line here\nc x\n");
    expect([...values]).toEqual([
      ["a", 1],
      ["b", 22],
    ]);
  });

  it("parses nested keyed files", () => {
    const rows = parseNestedKeyed("some avg10=0.10 total=5\nfull avg10=0.00 total=0\n");
    expect(rows.get("some")?.get("avg10")).toBe("0.10");
    expect(rows.get("full")?.get("total")).toBe("0");
  });

  it("parses pid lists", () => {
    expect(parsePidList("1\n20\n\n300\n")).toEqual([1, 20, 300]);
    expect(parsePidList("")).toEqual([]);
  });
});
