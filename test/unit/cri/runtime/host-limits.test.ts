import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CAPABILITY_NAMES,
  capabilitiesFromMask,
  normalizeCapabilityName,
  readHostLimits,
} from "../../../../cri/runtime/host-limits.js";

describe("capabilitiesFromMask", () => {
  it("decodes a bounding set with one bit missing", () => {
    // Bit 24 (CAP_SYS_RESOURCE) cleared, bits 0-40 otherwise set.
    const caps = capabilitiesFromMask("000001fffeffffff");
    expect(caps.size).toBe(40);
    expect(caps.has("CAP_SYS_RESOURCE")).toBe(false);
    expect(caps.has("CAP_CHOWN")).toBe(true);
    expect(caps.has("CAP_CHECKPOINT_RESTORE")).toBe(true);
  });

  it("decodes single bits by kernel number", () => {
    expect([...capabilitiesFromMask("0000000000000001")]).toEqual(["CAP_CHOWN"]);
    expect([...capabilitiesFromMask("0000000000200000")]).toEqual(["CAP_SYS_ADMIN"]);
    expect(capabilitiesFromMask("0").size).toBe(0);
  });

  it("ignores bits beyond the capabilities berth knows", () => {
    expect(capabilitiesFromMask("ffffffffffffffff").size).toBe(CAPABILITY_NAMES.length);
  });
});

describe("normalizeCapabilityName", () => {
  it.each([
    ["CHOWN", "CAP_CHOWN"],
    ["chown", "CAP_CHOWN"],
    ["CAP_NET_ADMIN", "CAP_NET_ADMIN"],
    ["cap_sys_admin", "CAP_SYS_ADMIN"],
    [" NET_RAW ", "CAP_NET_RAW"],
    ["ALL", "ALL"],
    ["all", "ALL"],
  ])("%s -> %s", (input, expected) => {
    expect(normalizeCapabilityName(input)).toBe(expected);
  });

  it("returns undefined for names the kernel does not have", () => {
    expect(normalizeCapabilityName("CAP_FLY")).toBeUndefined();
    expect(normalizeCapabilityName("")).toBeUndefined();
    expect(normalizeCapabilityName("CAP_")).toBeUndefined();
  });
});

describe("readHostLimits", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-host-limits-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function fixture(name: string, capEff: string, oom: string): Promise<[string, string]> {
    const status = join(dir, `${name}.status`);
    const oomPath = join(dir, `${name}.oom`);
    await writeFile(
      status,
      `Name:\tnode\nCapInh:\t0000000000000000\nCapPrm:\t${capEff}\nCapEff:\t${capEff}\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\n`,
    );
    await writeFile(oomPath, `${oom}\n`);
    return [status, oomPath];
  }

  it("uses its own oom_score_adj as the floor without CAP_SYS_RESOURCE", async () => {
    const limits = await readHostLimits(...(await fixture("plain", "000001fffeffffff", "-500")));
    expect(limits.minOomScoreAdj).toBe(-500);
    expect(limits.boundingCapabilities.has("CAP_SYS_RESOURCE")).toBe(false);
    expect(limits.boundingCapabilities.has("CAP_SYS_ADMIN")).toBe(true);
  });

  it("can go down to -1000 with CAP_SYS_RESOURCE", async () => {
    const limits = await readHostLimits(...(await fixture("resource", "000001ffffffffff", "0")));
    expect(limits.minOomScoreAdj).toBe(-1000);
  });

  it("fails on a status file without CapBnd", async () => {
    const status = join(dir, "broken.status");
    await writeFile(status, "Name:\tnode\nCapEff:\t0\n");
    const [, oom] = await fixture("broken-oom", "0", "0");
    await expect(readHostLimits(status, oom)).rejects.toThrow(/CapBnd/);
  });

  it("fails on an unreadable oom_score_adj", async () => {
    const [status, oom] = await fixture("bad-oom", "0", "zero");
    await expect(readHostLimits(status, oom)).rejects.toThrow(/not an integer/);
  });
});
