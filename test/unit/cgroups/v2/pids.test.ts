import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../../common/errors.js";
import { parsePidsMax, readPidsV2, writePidsMax } from "../../../../cgroups/v2/pids.js";
import { makeTempRoot, removeTempRoot, writeTree } from "../fixtures.js";

describe("v2 pids", () => {
  let root: string;
  beforeEach(async () => {
    root = await makeTempRoot();
  });
  afterEach(async () => {
    await removeTempRoot(root);
  });

  it("parses pids.max", () => {
    expect(parsePidsMax("max\n")).toBeUndefined();
    expect(parsePidsMax("4096\n")).toBe(4096);
  });

  it("reads pids.current and pids.max", async () => {
    await writeTree(root, { "pids.current": "3\n", "pids.max": "1024\n" });
    expect(await readPidsV2(root)).toEqual({ current: 3, max: 1024 });
    await writeTree(root, { "pids.max": "max\n" });
    expect(await readPidsV2(root)).toEqual({ current: 3, max: undefined });
  });

  it("reads undefined without the controller", async () => {
    expect(await readPidsV2(root)).toBeUndefined();
  });

  it("writes pids.max", async () => {
    await writeTree(root, { "pids.max": "max\n" });
    await writePidsMax(root, 512);
    expect(await readFile(join(root, "pids.max"), "utf8")).toBe("512");
    await expect(writePidsMax(root, 0)).rejects.toThrow(InvalidArgumentError);
  });
});
