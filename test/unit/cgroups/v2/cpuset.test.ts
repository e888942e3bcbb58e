import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../../common/errors.js";
import { validateCpusetList, writeCpusetCpus, writeCpusetMems } from "../../../../cgroups/v2/cpuset.js";
import { makeTempRoot, removeTempRoot, writeTree } from "../fixtures.js";

describe("v2 cpuset", () => {
  let root: string;
  beforeEach(async () => {
    root = await makeTempRoot();
  });
  afterEach(async () => {
    await removeTempRoot(root);
  });

  it("accepts kernel list syntax only", () => {
    expect(() => validateCpusetList("cpusetCpus", "0-3,6,8-9")).not.toThrow();
    expect(() => validateCpusetList("cpusetCpus", "0-")).toThrow(InvalidArgumentError);
    expect(() => validateCpusetList("cpusetCpus", "1;2")).toThrow(InvalidArgumentError);
  });

  it("writes cpuset.cpus and cpuset.mems", async () => {
    await writeTree(root, { "cpuset.cpus": "\n", "cpuset.mems": "\n" });
    await writeCpusetCpus(root, "0-1");
    await writeCpusetMems(root, "0");
    expect(await readFile(join(root, "cpuset.cpus"), "utf8")).toBe("0-1");
    expect(await readFile(join(root, "cpuset.mems"), "utf8")).toBe("0");
  });
});
