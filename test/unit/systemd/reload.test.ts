import { describe, expect, it } from "vitest";
import { changedFields, describeReload, planReload } from "../../../systemd/reload.js";

describe("changedFields", () => {
  it("names changed leaves by dotted path, including lists, added and removed keys", () => {
    const before = { logLevel: "info", cni: { enabled: true, pluginDirs: ["/a"] }, gone: 1 };
    const after = { logLevel: "debug", cni: { enabled: true, pluginDirs: ["/a", "/b"] }, added: 2 };
    expect(changedFields(before, after)).toEqual(["added", "cni.pluginDirs", "gone", "logLevel"]);
  });

  it("finds nothing in equal values", () => {
    expect(changedFields({ a: { b: [1, 2] } }, { a: { b: [1, 2] } })).toEqual([]);
  });
});

describe("planReload", () => {
  it("applies live fields and reports the rest as needing a restart", () => {
    const plan = planReload({ logLevel: "info", socket: "/a" }, { logLevel: "debug", socket: "/b" }, [
      "logLevel",
    ]);
    expect(plan).toEqual({ changed: ["logLevel", "socket"], applied: ["logLevel"], needRestart: ["socket"] });
    expect(describeReload(plan)).toBe("config reloaded: applied logLevel; restart needed for socket");
  });

  it("says when nothing changed", () => {
    expect(describeReload(planReload({ a: 1 }, { a: 1 }, []))).toBe("config reloaded: nothing changed");
  });
});
