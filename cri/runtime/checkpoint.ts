// CheckpointContainer: runc (with CRIU) dumps a running container, which keeps running,
// and berth writes one tar archive at the requested location, laid out as CRI-O and
// containerd lay theirs out: checkpoint/ (CRIU's images), spec.dump (the OCI spec),
// config.dump (the CRI config and image), rootfs-diff.tar (what the container wrote to its
// root filesystem). CRIU's own check runs once, on the first request; where it fails the
// RPC is FAILED_PRECONDITION carrying CRIU's words.
import { mkdtemp, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { execa } from "execa";
import { commandErrorText } from "../../common/command-error.js";
import {
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  RuntimeFailureError,
} from "../../common/errors.js";
import type { ContainerRecord } from "./records.js";
import type { FeatureSupport } from "./runtime-features.js";

const CRIU_CHECK_TIMEOUT_MS = 60_000;
const DEFAULT_CHECKPOINT_TIMEOUT_S = 300;
/** The lines of `criu check` output worth quoting: its errors, at most this many. */
const MAX_REASON_LINES = 4;

/** Why `criu check` failed, in CRIU's words (its Error lines first). */
export function criuCheckFailure(output: string): string {
  const lines = output
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const errors = lines.filter((l) => /^Error/i.test(l));
  return (errors.length > 0 ? errors : lines).slice(0, MAX_REASON_LINES).join("; ") || "no output";
}

/** Runs `criu check`: CRIU works on this kernel, or why not. */
export async function probeCriu(criuBinary: string): Promise<FeatureSupport> {
  const res = await execa(criuBinary, ["check"], {
    timeout: CRIU_CHECK_TIMEOUT_MS,
    reject: false,
    all: true,
  });
  if (res.exitCode === 0) return { supported: true, reason: "" };
  if ((res as { code?: string }).code === "ENOENT") {
    return { supported: false, reason: `${criuBinary} is not installed (Debian package criu)` };
  }
  if (res.timedOut) return { supported: false, reason: "criu check did not finish" };
  return { supported: false, reason: `criu check failed: ${criuCheckFailure(String(res.all ?? ""))}` };
}

export interface CheckpointDeps {
  runcBinary: string;
  runcRoot: string;
  criuBinary: string;
  /** The container's overlay upper dir: what it wrote to its root filesystem. */
  upperDir(containerId: string): string;
}

export interface CheckpointRequest {
  location: string;
  timeoutSec: number;
}

/** Checks what can be checked of a request without the container: the archive's path. */
export function validateCheckpointLocation(location: string): void {
  if (location === "") throw new InvalidArgumentError("location", "is required");
  if (!isAbsolute(location)) throw new InvalidArgumentError("location", `"${location}" must be absolute`);
  if (location.includes("\0")) throw new InvalidArgumentError("location", "contains a NUL byte");
}

export class Checkpointer {
  private criu: Promise<FeatureSupport> | undefined;

  constructor(private readonly deps: CheckpointDeps) {}

  /** CRIU's check, run once per process: the kernel does not change under it. */
  criuSupport(): Promise<FeatureSupport> {
    this.criu ??= probeCriu(this.deps.criuBinary);
    return this.criu;
  }

  async requireCriu(): Promise<void> {
    const support = await this.criuSupport();
    if (!support.supported) {
      throw new FailedPreconditionError(
        `checkpointing needs CRIU, which does not work on this host: ${support.reason}`,
      );
    }
  }

  /** Dumps a running container (it keeps running) into a tar archive at `req.location`. */
  async checkpoint(record: ContainerRecord, req: CheckpointRequest): Promise<void> {
    await this.requireCriu();
    const parent = dirname(req.location);
    const parentInfo = await stat(parent).catch(() => undefined);
    if (!parentInfo?.isDirectory()) {
      throw new InvalidArgumentError("location", `the directory ${parent} does not exist`);
    }
    const deadline = Date.now() + (req.timeoutSec > 0 ? req.timeoutSec : DEFAULT_CHECKPOINT_TIMEOUT_S) * 1000;
    const work = await mkdtemp(join(parent, ".berth-checkpoint-"));
    const partial = join(parent, `.${record.id}.checkpoint.tar.partial`);
    try {
      const images = join(work, "checkpoint");
      await execaWithin(
        [
          this.deps.runcBinary,
          "--root",
          this.deps.runcRoot,
          "checkpoint",
          "--leave-running",
          "--image-path",
          images,
          "--work-path",
          join(work, "criu-work"),
          record.id,
        ],
        deadline,
        `runc checkpoint ${record.id}`,
      );
      await rm(join(work, "criu-work"), { recursive: true, force: true });
      await execaWithin(
        ["cp", join(record.bundleDir, "config.json"), join(work, "spec.dump")],
        deadline,
        "copying the spec",
      );
      await writeFile(
        join(work, "config.dump"),
        JSON.stringify({
          id: record.id,
          name: record.reservedName,
          sandboxId: record.sandboxId,
          imageRef: record.imageRef,
          imageId: record.imageId,
          createdAt: record.createdAt,
        }),
      );
      await execaWithin(
        [
          "tar",
          "--create",
          "--file",
          join(work, "rootfs-diff.tar"),
          "-C",
          this.deps.upperDir(record.id),
          ".",
        ],
        deadline,
        "archiving the root filesystem changes",
      );
      await execaWithin(
        [
          "tar",
          "--create",
          "--file",
          partial,
          "-C",
          work,
          "checkpoint",
          "spec.dump",
          "config.dump",
          "rootfs-diff.tar",
        ],
        deadline,
        "writing the checkpoint archive",
      );
      await rename(partial, req.location);
    } finally {
      await rm(work, { recursive: true, force: true });
      await rm(partial, { force: true });
    }
  }
}

async function execaWithin(command: string[], deadline: number, what: string): Promise<void> {
  const [file, ...args] = command as [string, ...string[]];
  const timeout = deadline - Date.now();
  if (timeout <= 0) throw new DeadlineExceededError(`checkpoint timed out before ${what}`);
  try {
    await execa(file, args, { timeout });
  } catch (err) {
    if ((err as { timedOut?: boolean }).timedOut)
      throw new DeadlineExceededError(`checkpoint timed out ${what}`);
    throw new RuntimeFailureError(`${what}: ${commandErrorText(err)}`);
  }
}
