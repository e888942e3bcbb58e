import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FailedPreconditionError, RuntimeFailureError } from "../../../../common/errors.js";
import {
  checkLogDirectory,
  logFileIdentity,
  waitForReopenedLog,
} from "../../../../cri/runtime/log-reopen.js";

describe("log reopen", () => {
  let dir: string;
  let log: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "log-reopen-"));
    log = join(dir, "0.log");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is done once the path names another file, as conmon's rename over it leaves it", async () => {
    await writeFile(log, "old\n");
    const previous = await logFileIdentity(log);
    const waiting = waitForReopenedLog(log, previous, 10_000);
    await writeFile(`${log}.tmp`, "");
    await rename(`${log}.tmp`, log);
    await waiting;
  });

  it("is done once a file exists where none was", async () => {
    const waiting = waitForReopenedLog(log, undefined, 10_000);
    await writeFile(log, "");
    await waiting;
  });

  it("fails when the same file stays or none appears", async () => {
    await writeFile(log, "old\n");
    await expect(waitForReopenedLog(log, await logFileIdentity(log), 50)).rejects.toBeInstanceOf(
      RuntimeFailureError,
    );
    await expect(waitForReopenedLog(join(dir, "none.log"), undefined, 50)).rejects.toBeInstanceOf(
      RuntimeFailureError,
    );
  });

  it("refuses a log whose directory is missing or not a directory", async () => {
    await checkLogDirectory(log);
    await expect(checkLogDirectory(join(dir, "gone", "0.log"))).rejects.toBeInstanceOf(
      FailedPreconditionError,
    );
    await writeFile(join(dir, "file"), "");
    await expect(checkLogDirectory(join(dir, "file", "0.log"))).rejects.toBeInstanceOf(
      FailedPreconditionError,
    );
  });
});
