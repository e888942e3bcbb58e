import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  parseMemoryEvents,
  parseMemoryStat,
  readMemoryV2,
  workingSetBytes,
  writeMemoryMax,
  writeMemorySwapMax,
} from "../../../../cgroups/v2/memory.js";
import { InvalidArgumentError } from "../../../../common/errors.js";
import { V2_MEMORY_EVENTS, V2_MEMORY_STAT, makeTempRoot, removeTempRoot, writeTree } from "../fixtures.js";

describe("v2 memory parsing", () => {
  it("keeps the whole memory.stat", () => {
    const stat = parseMemoryStat(V2_MEMORY_STAT);
    expect(Object.keys(stat)).toHaveLength(49);
    expect(stat["anon"]).toBe(1851392);
    expect(stat["inactive_file"]).toBe(3104768);
    expect(stat["pgmajfault"]).toBe(41);
    expect(stat["thp_collapse_alloc"]).toBe(0);
  });

  it("reads every memory.events counter", () => {
    expect(parseMemoryEvents(V2_MEMORY_EVENTS)).toEqual({
      low: 0,
      high: 0,
      max: 12,
      oom: 2,
      oomKill: 1,
      oomGroupKill: 0,
    });
    // Kernels before 5.17 have no oom_group_kill line.
    expect(parseMemoryEvents("low 0\nhigh 0\nmax 0\noom 0\noom_kill 4\n").oomGroupKill).toBe(0);
  });

  it("computes working set as usage minus inactive file, floored at zero", () => {
    expect(workingSetBytes(7340032, 3104768)).toBe(4235264);
    expect(workingSetBytes(1000, 5000)).toBe(0);
    expect(workingSetBytes(1000, undefined)).toBe(1000);
  });
});

describe("v2 memory files", () => {
  let root: string;
  beforeEach(async () => {
    root = await makeTempRoot();
  });
  afterEach(async () => {
    await removeTempRoot(root);
  });

  it("reads usage, limit, stat, events, peak and swap", async () => {
    await writeTree(root, {
      "memory.current": "7340032\n",
      "memory.max": "268435456\n",
      "memory.stat": V2_MEMORY_STAT,
      "memory.events": V2_MEMORY_EVENTS,
      "memory.peak": "9437184\n",
      "memory.swap.current": "4096\n",
    });
    const stats = await readMemoryV2(root);
    expect(stats).toMatchObject({
      currentBytes: 7340032,
      maxBytes: 268435456,
      workingSetBytes: 7340032 - 3104768,
      peakBytes: 9437184,
      swapCurrentBytes: 4096,
    });
    expect(stats?.events.oomKill).toBe(1);
  });

  it('reads "max" as no limit and leaves out files an older kernel lacks', async () => {
    await writeTree(root, { "memory.current": "100\n", "memory.max": "max\n" });
    const stats = await readMemoryV2(root);
    expect(stats?.maxBytes).toBeUndefined();
    expect(stats && "peakBytes" in stats).toBe(false);
    expect(stats && "swapCurrentBytes" in stats).toBe(false);
    expect(stats?.events.oom).toBe(0);
  });

  it("reads undefined where the memory controller is not enabled", async () => {
    expect(await readMemoryV2(root)).toBeUndefined();
  });

  it("writes memory.max and memory.swap.max", async () => {
    await writeTree(root, { "memory.max": "max\n", "memory.swap.max": "max\n" });
    await writeMemoryMax(root, 134217728);
    await writeMemorySwapMax(root, 0);
    expect(await readFile(join(root, "memory.max"), "utf8")).toBe("134217728");
    expect(await readFile(join(root, "memory.swap.max"), "utf8")).toBe("0");
    await writeMemoryMax(root, "max");
    expect(await readFile(join(root, "memory.max"), "utf8")).toBe("max");
    await expect(writeMemoryMax(root, -1)).rejects.toThrow(InvalidArgumentError);
    await expect(writeMemoryMax(root, 1.5)).rejects.toThrow(InvalidArgumentError);
  });
});
