import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parsePressure, readPsi } from "../../../../cgroups/v2/psi.js";
import { PSI_SOME_ONLY, PSI_WITH_FULL, makeTempRoot, removeTempRoot, writeTree } from "../fixtures.js";

describe("PSI", () => {
  it("parses some and full lines", () => {
    expect(parsePressure(PSI_WITH_FULL)).toEqual({
      some: { avg10: 1.25, avg60: 0.5, avg300: 0.11, totalUsec: 8980558 },
      full: { avg10: 0.75, avg60: 0.2, avg300: 0.05, totalUsec: 4012 },
    });
  });

  it('parses a file without a "full" line', () => {
    const pressure = parsePressure(PSI_SOME_ONLY);
    expect(pressure?.some.totalUsec).toBe(1207);
    expect(pressure?.full).toBeUndefined();
  });

  it('reads text without a "some" line as undefined', () => {
    expect(parsePressure("")).toBeUndefined();
  });

  describe("reader", () => {
    let root: string;
    beforeEach(async () => {
      root = await makeTempRoot();
    });
    afterEach(async () => {
      await removeTempRoot(root);
    });

    it("reads the files that exist and leaves the others out", async () => {
      await writeTree(root, { "cpu.pressure": PSI_SOME_ONLY, "memory.pressure": PSI_WITH_FULL });
      const psi = await readPsi(root);
      expect(psi?.cpu?.some.totalUsec).toBe(1207);
      expect(psi?.memory?.full?.totalUsec).toBe(4012);
      expect(psi && "io" in psi).toBe(false);
    });

    it("reads undefined, not an error, without PSI", async () => {
      expect(await readPsi(root)).toBeUndefined();
      expect(await readPsi(`${root}/no-such-cgroup`)).toBeUndefined();
    });
  });
});
