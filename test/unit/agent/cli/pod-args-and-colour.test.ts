import { describe, expect, it } from "vitest";
import { colourTable, painter, statusColour } from "../../../../agent/cli/colour-table.js";
import { podNames } from "../../../../agent/cli/pod-args.js";

describe("podNames", () => {
  it("accepts names as kubectl does", () => {
    expect(podNames(["web"])).toEqual(["web"]);
    expect(podNames(["pod/web", "pods/db"])).toEqual(["web", "db"]);
    expect(podNames(["pod", "web", "db"])).toEqual(["web", "db"]);
    // A pod may be named "pod" itself.
    expect(podNames(["pod"])).toEqual(["pod"]);
    expect(() => podNames(["deployment/web"])).toThrow('"deployment/web": berth knows only pods');
  });
});

describe("colourTable", () => {
  const rows = [
    ["web", "Running"],
    ["db", "CrashLoopBackOff"],
  ];
  const colourStatus = (column: number, value: string) => (column === 1 ? statusColour(value) : undefined);

  it("lays out as output.ts's table, with no colour off a terminal", () => {
    expect(colourTable(["NAME", "STATUS"], rows, painter({ isTTY: false }), colourStatus)).toBe(
      "NAME   STATUS\nweb    Running\ndb     CrashLoopBackOff\n",
    );
  });

  it("colours cells on a terminal without moving the columns, unless NO_COLOR is set", () => {
    const text = colourTable(
      ["NAME", "STATUS", "AGE"],
      rows.map((r) => [...r, "5m"]),
      painter({ isTTY: true }, {}),
      colourStatus,
    );
    expect(text).toContain("web    \u001b[32mRunning         \u001b[0m   5m\n");
    expect(text).toContain("db     \u001b[31mCrashLoopBackOff\u001b[0m   5m\n");
    expect(colourTable(["A"], [["Running"]], painter({ isTTY: true }, { NO_COLOR: "1" }))).not.toContain(
      "\u001b",
    );
  });

  it("colours statuses by what they mean", () => {
    expect(statusColour("Running")).toBe("green");
    expect(statusColour("Completed")).toBe("green");
    expect(statusColour("Init:1/2")).toBe("yellow");
    expect(statusColour("Terminating")).toBe("yellow");
    expect(statusColour("Init:CrashLoopBackOff")).toBe("red");
    expect(statusColour("OOMKilled")).toBe("red");
  });
});
