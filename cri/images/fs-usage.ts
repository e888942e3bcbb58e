// Disk usage of a directory tree the way `du` counts it: allocated blocks, each inode once
// (hard links are not counted twice), symlinks not followed.
import { lstat, opendir } from "node:fs/promises";
import { join } from "node:path";

export interface FsUsage {
  bytes: number;
  inodes: number;
}

export async function measureTree(root: string): Promise<FsUsage> {
  const seenLinked = new Set<string>();
  let bytes = 0;
  let inodes = 0;
  const pending = [root];
  while (pending.length > 0) {
    const path = pending.pop()!;
    let st;
    try {
      st = await lstat(path);
    } catch (err) {
      // Entries may vanish while we walk (a removal in progress); they no longer use space.
      if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw err;
    }
    if (st.nlink > 1 && !st.isDirectory()) {
      const key = `${st.dev}:${st.ino}`;
      if (seenLinked.has(key)) continue;
      seenLinked.add(key);
    }
    bytes += st.blocks * 512;
    inodes += 1;
    if (st.isDirectory()) {
      try {
        for await (const entry of await opendir(path)) pending.push(join(path, entry.name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      }
    }
  }
  return { bytes, inodes };
}
