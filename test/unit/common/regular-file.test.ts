import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readRegularFile, UnusableFileError } from "../../../common/regular-file.js";

describe("readRegularFile", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-regular-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function problem(path: string, max = 1024): Promise<string> {
    const err = await readRegularFile(path, max).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnusableFileError);
    return (err as UnusableFileError).problem;
  }

  it("reads a regular file within the limit", async () => {
    const path = join(dir, "ok");
    await writeFile(path, "hello");
    expect((await readRegularFile(path, 5)).toString()).toBe("hello");
  });

  it("refuses a FIFO without waiting for a writer, devices, directories and /proc files", async () => {
    const fifo = join(dir, "fifo");
    await execa("mkfifo", [fifo]);
    expect(await problem(fifo)).toBe("is not a regular file");
    expect(await problem("/dev/zero")).toBe("is not a regular file");
    expect(await problem(dir)).toBe("is not a regular file");
  });

  it("refuses a /proc file whose length the stat does not tell", async () => {
    expect(await problem("/proc/self/status", 1 << 20)).toBe("changed while it was read");
  });

  it("refuses files larger than the limit and missing ones", async () => {
    const big = join(dir, "big");
    await writeFile(big, "x".repeat(2000));
    expect(await problem(big)).toBe("is larger than 1024 bytes");
    expect(await problem(join(dir, "missing"))).toBe("does not exist");
    expect(await problem(join(big, "below"))).toBe("does not exist");
  });
});
