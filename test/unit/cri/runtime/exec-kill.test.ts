import { describe, expect, it } from "vitest";
import { parseProcStat } from "../../../../cri/runtime/exec-kill.js";

describe("parseProcStat", () => {
  it("reads state, process group and session after the command name", () => {
    expect(parseProcStat("10754 (sleep) S 10744 10754 10754 0 -1 4194304 59 0")).toEqual({
      pid: 10754,
      state: "S",
      pgrp: 10754,
      session: 10754,
    });
  });

  it("takes the last parenthesis, as a command name may hold spaces and parentheses", () => {
    expect(parseProcStat("42 (a) b (c)) Z 1 7 9 0")).toEqual({ pid: 42, state: "Z", pgrp: 7, session: 9 });
  });

  it("refuses text that is not a stat line", () => {
    expect(parseProcStat("")).toBeUndefined();
    expect(parseProcStat("garbage")).toBeUndefined();
  });
});
