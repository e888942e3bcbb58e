import { describe, expect, it } from "vitest";
import { runcSignal } from "../../../../cri/runtime/runc.js";

describe("runcSignal", () => {
  it("passes the names runc knows through", () => {
    expect(runcSignal("SIGTERM")).toBe("SIGTERM");
    expect(runcSignal("KILL")).toBe("KILL");
    expect(runcSignal("15")).toBe("15");
  });

  it("gives real-time signals as numbers, in the CRI's and in the usual spelling", () => {
    expect(runcSignal("SIGRTMIN")).toBe("34");
    expect(runcSignal("SIGRTMINPLUS1")).toBe("35");
    expect(runcSignal("SIGRTMIN+3")).toBe("37");
    expect(runcSignal("SIGRTMAXMINUS14")).toBe("50");
    expect(runcSignal("SIGRTMAX-1")).toBe("63");
    expect(runcSignal("SIGRTMAX")).toBe("64");
  });

  it("leaves an out-of-range real-time name alone for runc to refuse", () => {
    expect(runcSignal("SIGRTMAXPLUS1")).toBe("SIGRTMAXPLUS1");
  });
});
