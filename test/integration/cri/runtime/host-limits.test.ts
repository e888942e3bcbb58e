// readHostLimits on this host's own /proc: the figures the spec builder trims requests to.
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { capabilitiesFromMask, readHostLimits } from "../../../../cri/runtime/host-limits.js";

describe("readHostLimits on the real host", () => {
  it("matches /proc/self/status and /proc/self/oom_score_adj", async () => {
    const limits = await readHostLimits();
    const status = await readFile("/proc/self/status", "utf8");
    const bnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
    expect(bnd).toBeDefined();
    expect([...limits.boundingCapabilities].sort()).toEqual([...capabilitiesFromMask(bnd ?? "")].sort());
    // berth runs as root: the container defaults must be grantable.
    expect(limits.boundingCapabilities.has("CAP_CHOWN")).toBe(true);
    const own = Number((await readFile("/proc/self/oom_score_adj", "utf8")).trim());
    const expected = capabilitiesFromMask(eff ?? "").has("CAP_SYS_RESOURCE") ? -1000 : own;
    expect(limits.minOomScoreAdj).toBe(expected);
  });
});
