// Container log rotation, as the kubelet's container log manager does it, over the CRI
// interface the agent holds (so it works the same on the in-process runtime and on any CRI
// socket): on each check, every running container of berth's pods whose log has reached
// containerLogMaxSize is rotated (see rotation-policy.ts) and the runtime is asked to reopen
// the log (ReopenContainerLog). One container's failure is logged with its id and never stops
// the others. All file work is async and streams: memory stays bounded whatever the log size.
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, rename, rm } from "node:fs/promises";
import { isAbsolute } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import type { Clock } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import { ContainerState } from "../../cri/api/generated/api.js";
import type { RuntimeServiceApi } from "../../cri/service-types.js";
import { MANAGED_SELECTOR } from "../pods/labels.js";
import { COMPRESSED_SUFFIX, listRotatedLogs, TEMP_SUFFIX } from "./rotated-logs.js";
import { needsRotation, planRotation, type LogRotatePolicy } from "./rotation-policy.js";

export type LogRuntime = Pick<RuntimeServiceApi, "listContainers" | "containerStatus" | "reopenContainerLog">;

export interface ContainerLogManagerOptions {
  runtime: LogRuntime;
  policy: LogRotatePolicy;
  clock: Clock;
  logger: Logger;
}

/** What one check did to one container's log. */
export type RotationOutcome =
  | "small"
  | "rotated"
  | "no-log"
  /** A rotation already happened this second: the next check rotates. */
  | "deferred"
  | "failed";

export interface RotationPass {
  /** By container id. */
  outcomes: Map<string, RotationOutcome>;
}

export class ContainerLogManager {
  constructor(private readonly opts: ContainerLogManagerOptions) {}

  /** One check of every running container of berth's pods. Rejects only when the containers cannot be listed. */
  async rotateLogs(): Promise<RotationPass> {
    const { containers } = await this.opts.runtime.listContainers({
      filter: {
        id: "",
        podSandboxId: "",
        state: { state: ContainerState.CONTAINER_RUNNING },
        labelSelector: { ...MANAGED_SELECTOR },
      },
    });
    const outcomes = new Map<string, RotationOutcome>();
    // One at a time, as the kubelet's single default worker: rotation is disk work, and a
    // check that overruns its interval is skipped by the scheduler rather than stacked.
    for (const c of containers) {
      // A runtime that ignores the filter must not get its other containers rotated.
      if (c.state !== ContainerState.CONTAINER_RUNNING) continue;
      outcomes.set(c.id, await this.rotateContainer(c.id));
    }
    return { outcomes };
  }

  /** Checks and, when due, rotates one container's log; never rejects. */
  async rotateContainer(containerId: string): Promise<RotationOutcome> {
    const log = this.opts.logger.child({ container: containerId });
    try {
      const res = await this.opts.runtime.containerStatus({ containerId, verbose: false });
      const path = res.status?.logPath ?? "";
      if (path === "" || !isAbsolute(path)) return "no-log";
      let size = await regularFileSize(path);
      if (size === undefined) {
        // Renamed away by a rotation whose reopen failed (or an agent stopped in between):
        // reopening brings the file back, as the kubelet recovers it.
        await this.opts.runtime.reopenContainerLog({ containerId });
        size = await regularFileSize(path);
        if (size === undefined) return "no-log";
      }
      if (!needsRotation(size, this.opts.policy)) return "small";
      const outcome = await this.rotate(containerId, path);
      if (outcome === "rotated") log.info({ path, bytes: size }, "rotated container log");
      else log.debug({ path }, "container log rotation waits for the next check");
      return outcome;
    } catch (err) {
      log.warn({ err }, "container log rotation failed");
      return "failed";
    }
  }

  private async rotate(containerId: string, path: string): Promise<RotationOutcome> {
    const plan = planRotation(path, await listRotatedLogs(path), this.opts.policy, this.opts.clock.now());
    for (const file of plan.remove) await rm(file, { force: true });
    for (const file of plan.compress) await compressFile(file);
    if (plan.rotateTo === undefined) return "deferred";
    await rename(path, plan.rotateTo);
    try {
      await this.opts.runtime.reopenContainerLog({ containerId });
    } catch (err) {
      // Put the file back so the writer's output stays under the log's name and the next
      // check tries again (the kubelet does the same).
      await rename(plan.rotateTo, path).catch((renameErr: unknown) =>
        this.opts.logger.error(
          { err: renameErr, container: containerId, path },
          "could not put a rotated log back after its reopen failed",
        ),
      );
      throw err;
    }
    return "rotated";
  }
}

/** The size of a regular file at `path`; undefined when there is none (a symlink is not followed). */
async function regularFileSize(path: string): Promise<number | undefined> {
  try {
    const st = await lstat(path);
    return st.isFile() ? st.size : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** `<file>` -> `<file>.gz` through `<file>.gz.tmp`, so a crash never leaves a partial .gz. */
export async function compressFile(file: string): Promise<void> {
  const target = file + COMPRESSED_SUFFIX;
  const temporary = target + TEMP_SUFFIX;
  try {
    await pipeline(
      createReadStream(file, { flags: "r" }),
      createGzip(),
      createWriteStream(temporary, { flags: "w", mode: 0o640 }),
    );
    await rename(temporary, target);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  await rm(file, { force: true });
}
