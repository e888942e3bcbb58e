// Deleting a container (a pod's infra or an app container) together with its conmon and the
// files conmon keeps in the run dir. conmon outlives the agent, so after a kill -9 in the middle
// of a create it may still be running `runc create` when the next agent undoes that create:
// deleting before runc has registered the container would leave it running with nobody's
// record. So the monitor is let finish (bounded) before the delete, and is waited for after it,
// so that it writes its exit file before the file is removed, not after.
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../common/logger.js";
import { conmonFiles, type ConmonOptions } from "./conmon.js";
import type { Runc } from "./runc.js";

/** How long a conmon may take to finish `runc create`, and to leave after its container died. */
const MONITOR_SETTLE_MS = 10_000;
const POLL_MS = 50;

/** The pid of the container's conmon while it lives: its pid file names it, its command line the container. */
export async function liveConmonPid(bundleDir: string, containerId: string): Promise<number | undefined> {
  const text = await readFile(conmonFiles(bundleDir).conmonPidFile, "utf8").catch(() => "");
  const pid = Number.parseInt(text.trim(), 10);
  if (!Number.isInteger(pid) || pid <= 1) return undefined;
  // A zombie or a reused pid has another (or an empty) command line.
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return cmdline.split("\0").includes(containerId) ? pid : undefined;
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** The files conmon keeps for a container outside its bundle: the exit file and the attach link. */
export function conmonRunFiles(opts: ConmonOptions, containerId: string): string[] {
  return [join(opts.exitsDir, containerId), join(opts.attachDir, containerId)];
}

export interface TeardownTarget {
  id: string;
  bundleDir: string;
}

/**
 * Deletes the container from runc (killing what runs), makes sure its conmon is gone and removes
 * conmon's run files. Idempotent: a container that was never created, or is already deleted, is fine.
 */
export async function deleteContainerAndMonitor(
  runc: Runc,
  conmon: ConmonOptions,
  target: TeardownTarget,
  logger: Logger,
): Promise<void> {
  const monitorLives = (): Promise<boolean> =>
    liveConmonPid(target.bundleDir, target.id).then((pid) => pid !== undefined);
  // An unreadable state counts as not registered yet: the wait is bounded either way.
  const registered = (): Promise<boolean> =>
    runc.state(target.id).then(
      (state) => state !== undefined,
      () => false,
    );
  if ((await monitorLives()) && !(await registered())) {
    // A create still in flight (its agent died): let runc register the container first.
    await until(async () => !(await monitorLives()) || (await registered()), MONITOR_SETTLE_MS);
  }
  await runc.delete(target.id);
  if (!(await until(async () => !(await monitorLives()), MONITOR_SETTLE_MS))) {
    const pid = await liveConmonPid(target.bundleDir, target.id);
    logger.warn({ container: target.id, pid }, "conmon outlived its deleted container: killing it");
    if (pid) killQuietly(pid);
    await runc.delete(target.id);
  }
  for (const file of conmonRunFiles(conmon, target.id)) await rm(file, { recursive: true, force: true });
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}
