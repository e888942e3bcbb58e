import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../../common/errors.js";
import {
  Checkpointer,
  criuCheckFailure,
  probeCriu,
  validateCheckpointLocation,
} from "../../../../cri/runtime/checkpoint.js";
import type { ContainerRecord } from "../../../../cri/runtime/records.js";

describe("checkpoint", () => {
  it("quotes CRIU's error lines", () => {
    const output =
      "Warn (criu/kerndat.c:1): something\n" +
      "Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds\n" +
      "Error (criu/crtools.c:260): Could not initialize kernel features detection.\n";
    expect(criuCheckFailure(output)).toBe(
      "Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds; " +
        "Error (criu/crtools.c:260): Could not initialize kernel features detection.",
    );
    expect(criuCheckFailure("Looks bad\n")).toBe("Looks bad");
    expect(criuCheckFailure("")).toBe("no output");
  });

  it("a missing criu binary is reported as not installed", async () => {
    const support = await probeCriu("/nonexistent/criu");
    expect(support).toEqual({
      supported: false,
      reason: "/nonexistent/criu is not installed (Debian package criu)",
    });
  });

  it("the location must be an absolute path", () => {
    expect(() => validateCheckpointLocation("")).toThrow(InvalidArgumentError);
    expect(() => validateCheckpointLocation("a.tar")).toThrow(/absolute/);
    expect(() => validateCheckpointLocation("/a\0.tar")).toThrow(/NUL/);
    expect(() => validateCheckpointLocation("/var/lib/a.tar")).not.toThrow();
  });
});

describe("the checkpoint archive", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-ckpt-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A runc that records its arguments and writes one CRIU image where it is told to. */
  async function fakeTools(): Promise<{ runc: string; criu: string; argsFile: string }> {
    const argsFile = join(dir, "runc-args");
    const runc = join(dir, "runc");
    await writeFile(
      runc,
      `#!/bin/sh\necho "$@" > ${argsFile}\nwhile [ $# -gt 0 ]; do\n  if [ "$1" = --image-path ]; then mkdir -p "$2" && echo img > "$2/pages-1.img"; fi\n  shift\ndone\n`,
    );
    const criu = join(dir, "criu");
    await writeFile(criu, "#!/bin/sh\nexit 0\n");
    await chmod(runc, 0o755);
    await chmod(criu, 0o755);
    return { runc, criu, argsFile };
  }

  it("holds CRIU's images, the spec, the container's config and its root filesystem changes", async () => {
    const { runc, criu, argsFile } = await fakeTools();
    const bundleDir = join(dir, "bundle");
    const upper = join(dir, "upper");
    await mkdir(bundleDir);
    await mkdir(upper);
    await writeFile(join(bundleDir, "config.json"), '{"ociVersion":"1.0.2"}');
    await writeFile(join(upper, "written"), "state\n");
    const checkpointer = new Checkpointer({
      runcBinary: runc,
      runcRoot: join(dir, "runc-root"),
      criuBinary: criu,
      upperDir: () => upper,
    });
    const record = { id: "c1", bundleDir, reservedName: "app_pod", sandboxId: "s1" } as ContainerRecord;
    const location = join(dir, "out", "c1.tar");
    await mkdir(join(dir, "out"));
    await checkpointer.checkpoint(record, { location, timeoutSec: 0 });

    expect(await readFile(argsFile, "utf8")).toMatch(
      new RegExp(
        `^--root ${join(dir, "runc-root")} checkpoint --leave-running --image-path \\S+ --work-path \\S+ c1\\n$`,
      ),
    );
    const listing = (await execa("tar", ["-tf", location])).stdout.split("\n");
    expect(listing).toEqual(
      expect.arrayContaining([
        "checkpoint/",
        "checkpoint/pages-1.img",
        "spec.dump",
        "config.dump",
        "rootfs-diff.tar",
      ]),
    );
    const spec = (await execa("tar", ["-xOf", location, "spec.dump"])).stdout;
    expect(spec).toBe('{"ociVersion":"1.0.2"}');
    const config = JSON.parse((await execa("tar", ["-xOf", location, "config.dump"])).stdout) as {
      id: string;
    };
    expect(config.id).toBe("c1");
    const diff = await execa("sh", ["-c", `tar -xOf ${location} rootfs-diff.tar | tar -t`]);
    expect(diff.stdout.split("\n")).toContain("./written");
    // Only the archive is left beside it: no work dir, no partial file.
    expect(await readdir(join(dir, "out"))).toEqual(["c1.tar"]);
  });

  it("a missing directory for the archive is INVALID_ARGUMENT, and runc failing leaves nothing", async () => {
    const { criu } = await fakeTools();
    const failing = join(dir, "runc-fails");
    await writeFile(failing, "#!/bin/sh\necho 'criu failed: type NOTIFY errno 0' >&2\nexit 1\n");
    await chmod(failing, 0o755);
    const checkpointer = new Checkpointer({
      runcBinary: failing,
      runcRoot: dir,
      criuBinary: criu,
      upperDir: () => dir,
    });
    const record = { id: "c1", bundleDir: dir } as ContainerRecord;
    await expect(
      checkpointer.checkpoint(record, { location: join(dir, "nope", "c1.tar"), timeoutSec: 0 }),
    ).rejects.toThrow(/location: the directory .*nope does not exist/);
    await mkdir(join(dir, "out"));
    await expect(
      checkpointer.checkpoint(record, { location: join(dir, "out", "c1.tar"), timeoutSec: 0 }),
    ).rejects.toThrow(/runc checkpoint c1: criu failed/);
    expect(await readdir(join(dir, "out"))).toEqual([]);
  });
});
