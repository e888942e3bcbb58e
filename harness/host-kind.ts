// What kind of host the tests run on, found independently of berth's own detection (which
// parses /proc/self/mountinfo): the filesystem types under /sys/fs/cgroup by statfs, and the
// program that runs as PID 1. Host-shape tests compare berth's answer with this one, then
// assert the behaviour berth owes that kind of host.
import { readFile, readlink, statfs } from "node:fs/promises";
import { basename } from "node:path";
import type { CgroupMode } from "../cgroups/detect.js";

const CGROUP_ROOT = "/sys/fs/cgroup";
// Filesystem magic numbers (linux/magic.h).
const CGROUP2_SUPER_MAGIC = 0x63677270;
const CGROUP_SUPER_MAGIC = 0x27e0eb;

async function fsType(path: string): Promise<number | undefined> {
  return statfs(path).then(
    (s) => s.type,
    () => undefined,
  );
}

/**
 * unified: cgroup2 is the filesystem at /sys/fs/cgroup. hybrid: v1 hierarchies there plus a
 * cgroup2 at /sys/fs/cgroup/unified. legacy: v1 hierarchies only.
 */
export async function cgroupModeByStatfs(): Promise<CgroupMode> {
  const rootType = await fsType(CGROUP_ROOT);
  if (rootType === undefined) throw new Error(`${CGROUP_ROOT} cannot be read: this host mounts no cgroups`);
  if (rootType === CGROUP2_SUPER_MAGIC) return "unified";
  if ((await fsType(`${CGROUP_ROOT}/memory`)) !== CGROUP_SUPER_MAGIC) {
    throw new Error(`${CGROUP_ROOT} is neither cgroup2 nor holds a cgroup v1 memory hierarchy`);
  }
  return (await fsType(`${CGROUP_ROOT}/unified`)) === CGROUP2_SUPER_MAGIC ? "hybrid" : "legacy";
}

/** True when PID 1 is systemd, by its executable (or, without the right to read that, its name). */
export async function systemdIsPid1(): Promise<boolean> {
  const exe = await readlink("/proc/1/exe").catch(() => undefined);
  if (exe !== undefined) return basename(exe.replace(/ \(deleted\)$/, "")) === "systemd";
  const comm = await readFile("/proc/1/comm", "utf8");
  return comm.trim() === "systemd";
}

/** The v1 resource controllers mounted under /sys/fs/cgroup, from /proc/self/mountinfo's superblock options. */
export async function mountedV1Controllers(): Promise<string[]> {
  const controllers = new Set<string>();
  for (const line of (await readFile("/proc/self/mountinfo", "utf8")).split("\n")) {
    const [before, after] = line.split(" - ");
    if (before === undefined || after === undefined) continue;
    const [fsTypeName, , superOptions] = after.split(" ");
    const mountPoint = before.split(" ")[4] ?? "";
    if (fsTypeName !== "cgroup" || !mountPoint.startsWith(`${CGROUP_ROOT}/`)) continue;
    for (const option of (superOptions ?? "").split(",")) {
      if (["cpu", "cpuacct", "memory", "pids", "blkio", "cpuset", "devices", "freezer"].includes(option)) {
        controllers.add(option);
      }
    }
  }
  return [...controllers].sort();
}
