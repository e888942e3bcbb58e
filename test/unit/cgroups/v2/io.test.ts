import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseIoStat, readIoV2 } from "../../../../cgroups/v2/io.js";
import { V2_IO_STAT, makeTempRoot, removeTempRoot, writeTree } from "../fixtures.js";

describe("v2 io", () => {
  it("parses one entry per device and ignores iocost fields", () => {
    expect(parseIoStat(V2_IO_STAT).devices).toEqual([
      { major: 8, minor: 0, rbytes: 1459200, wbytes: 314773504, rios: 192, wios: 353, dbytes: 0, dios: 0 },
      { major: 253, minor: 1, rbytes: 4096, wbytes: 8192, rios: 1, wios: 2, dbytes: 512, dios: 1 },
    ]);
  });

  it("reads missing discard counters (before Linux 5.2) as zero", () => {
    const [device] = parseIoStat("8:16 rbytes=10 wbytes=20 rios=1 wios=2\n").devices;
    expect(device).toMatchObject({ major: 8, minor: 16, rbytes: 10, dbytes: 0, dios: 0 });
  });

  it("parses an empty io.stat (no I/O yet) as no devices", () => {
    expect(parseIoStat("").devices).toEqual([]);
  });

  describe("reader", () => {
    let root: string;
    beforeEach(async () => {
      root = await makeTempRoot();
    });
    afterEach(async () => {
      await removeTempRoot(root);
    });

    it("reads io.stat and undefined without it", async () => {
      expect(await readIoV2(root)).toBeUndefined();
      await writeTree(root, { "io.stat": V2_IO_STAT });
      expect((await readIoV2(root))?.devices).toHaveLength(2);
    });
  });
});
