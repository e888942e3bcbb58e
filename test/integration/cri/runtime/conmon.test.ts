// conmon is a separate process that may exit at any moment; whatever it does to the pipes
// berth shares with it must fail the one container create, never the agent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile, chmod } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RuntimeFailureError } from "../../../../common/errors.js";
import { createWithConmon, type ConmonOptions } from "../../../../cri/runtime/conmon.js";

describe("createWithConmon when conmon exits early", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-conmon-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const options = (conmonBinary: string): ConmonOptions => ({
    conmonBinary,
    runcBinary: "/usr/sbin/runc",
    runcRoot: join(dir, "runc"),
    exitsDir: join(dir, "exits"),
    attachDir: join(dir, "attach"),
  });
  const launch = (name: string) => ({
    containerId: name,
    name,
    bundleDir: dir,
    logPath: join(dir, `${name}.log`),
    conmonLogPath: join(dir, `${name}.conmon.log`),
    terminal: false,
    stdin: false,
  });

  it("a conmon that exits without reading its start byte rejects the create (no unhandled pipe error)", async () => {
    // Exits at once, leaving the start byte unread: reading the start pipe then fails with
    // ECONNRESET, which once went unhandled and ended the process.
    for (let i = 0; i < 20; i++) {
      await expect(createWithConmon(options("/bin/true"), launch(`true-${i}`))).rejects.toBeInstanceOf(
        RuntimeFailureError,
      );
    }
  });

  it("a conmon that reports an error on the sync pipe rejects with its words", async () => {
    const fake = join(dir, "fake-conmon");
    await writeFile(fake, `#!/bin/sh\nprintf '{"data": -1, "message": "cannot open log"}\\n' >&3\n`);
    await chmod(fake, 0o755);
    const err = await createWithConmon(options(fake), launch("fake")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeFailureError);
    expect((err as Error).message).toContain("cannot open log");
  });
});
