// Mount table queries and the two mount operations berth does itself (tmpfs, unmount),
// through the mount/umount commands since Node has no mount(2).
import { readFile } from "node:fs/promises";
import { execa } from "execa";
import { RuntimeFailureError } from "./errors.js";
import { commandErrorText } from "./command-error.js";

/** Mount points listed in a mountinfo file, with the kernel's octal escapes undone. */
export function mountPoints(mountinfo: string): string[] {
  const points: string[] = [];
  for (const line of mountinfo.split("\n")) {
    const field = line.split(" ")[4];
    if (field)
      points.push(field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8))));
  }
  return points;
}

export async function currentMountPoints(): Promise<string[]> {
  return mountPoints(await readFile("/proc/self/mountinfo", "utf8"));
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await currentMountPoints()).includes(path);
}

export async function mountTmpfs(path: string, options: string[], what: string): Promise<void> {
  try {
    await execa("mount", ["-t", "tmpfs", "-o", options.join(","), "tmpfs", path]);
  } catch (err) {
    throw new RuntimeFailureError(`mounting ${what}: ${commandErrorText(err)}`);
  }
}

/** Unmounts `path` if it is a mount point; falls back to a lazy unmount when it is busy. */
export async function unmountIfMounted(path: string): Promise<void> {
  if (!(await isMountPoint(path))) return;
  const res = await execa("umount", [path], { reject: false });
  if (res.exitCode !== 0 && (await isMountPoint(path)))
    await execa("umount", ["-l", path], { reject: false });
}
