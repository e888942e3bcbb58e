// Last-resort cleanup for integration tests whose API-level cleanup failed: kills and
// deletes every runc container under the test's own runc root, unmounts everything under
// the test's root dir and removes the test's cgroups. Touches only what the test made.
import { readdir, readFile, rm } from "node:fs/promises";
import { execa } from "execa";
import { detectHostLayout } from "../cgroups/detect.js";
import { CgroupManager } from "../cgroups/manager.js";

export async function forceCleanup(root: string, runcRoot: string, cgroupRoot: string): Promise<void> {
  for (const id of await readdir(runcRoot).catch(() => [] as string[])) {
    await execa("runc", ["--root", runcRoot, "kill", "--all", id, "KILL"], { reject: false });
    await execa("runc", ["--root", runcRoot, "delete", "--force", id], { reject: false });
  }
  const mounts = (await readFile("/proc/self/mountinfo", "utf8"))
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((p) => p.startsWith(root + "/"))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await execa("umount", ["-l", m], { reject: false });
  await new CgroupManager({ layout: await detectHostLayout() }).remove(cgroupRoot).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
}
