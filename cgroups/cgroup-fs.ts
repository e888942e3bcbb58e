// The directory operations the manager performs on cgroupfs, behind an interface so that tests
// can stand in a simulated cgroupfs (where rmdir works on a directory full of control files,
// cgroup.controllers follows the parent, and the "no internal processes" rule bites), which a
// plain temp dir cannot imitate. Errors keep their errno codes (EBUSY, ENOENT, ...).
import { constants } from "node:fs";
import { mkdir, open, readFile, readdir, rmdir } from "node:fs/promises";

export interface CgroupFs {
  /** Creates one directory level (mkdir(2): EEXIST if present, ENOENT if the parent is missing). */
  mkdir(dir: string): Promise<void>;
  /** Removes one empty cgroup (EBUSY while it has processes). */
  rmdir(dir: string): Promise<void>;
  readFile(file: string): Promise<string>;
  /** Writes an existing interface file in one write(2); never creates a file. */
  writeFile(file: string, content: string): Promise<void>;
  /** Names of the child cgroups (subdirectories) of a cgroup. */
  listDirs(dir: string): Promise<string[]>;
}

export const nodeCgroupFs: CgroupFs = {
  mkdir: async (dir) => {
    await mkdir(dir);
  },
  rmdir: (dir) => rmdir(dir),
  readFile: (file) => readFile(file, "utf8"),
  writeFile: async (file, content) => {
    const handle = await open(file, constants.O_WRONLY | constants.O_TRUNC);
    try {
      await handle.write(content);
    } finally {
      await handle.close();
    }
  },
  listDirs: async (dir) => {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  },
};
