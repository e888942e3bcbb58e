// A cgroupfs stand-in over a temp dir with the kernel behaviours the manager relies on:
// mkdir populates control files, rmdir removes a cgroup with its control files but fails with
// EBUSY while it has processes, a v2 child's cgroup.controllers is its parent's
// subtree_control, and v2's "no internal processes" rule refuses both enabling controllers in a
// populated cgroup and adding a process to a cgroup that hands controllers to children.
import { mkdir, readFile, readdir, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import type { CgroupFs } from "../../../cgroups/cgroup-fs.js";

function errno(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

function words(text: string): string[] {
  return text.split(/\s+/).filter((word) => word !== "");
}

export interface SimulatedHierarchy {
  /** Absolute directory of the hierarchy root. */
  readonly dir: string;
  readonly version: "v1" | "v2";
  /** v2: controllers the root offers. v1: the hierarchy's controllers (cpuset gets cpuset.* files). */
  readonly controllers: readonly string[];
}

export class SimulatedCgroupFs implements CgroupFs {
  /** Every mutating call, paths relative to the temp root, in order. */
  readonly calls: string[] = [];
  /** Called on each EBUSY from rmdir, e.g. to let processes "exit". */
  onBusy: ((dir: string) => Promise<void> | void) | undefined;

  private constructor(
    private readonly root: string,
    private readonly hierarchies: readonly SimulatedHierarchy[],
  ) {}

  static async create(root: string, hierarchies: readonly SimulatedHierarchy[]): Promise<SimulatedCgroupFs> {
    for (const hierarchy of hierarchies) {
      await mkdir(hierarchy.dir, { recursive: true });
      await writeFile(join(hierarchy.dir, "cgroup.procs"), "1\n");
      if (hierarchy.version === "v2") {
        await writeFile(join(hierarchy.dir, "cgroup.controllers"), `${hierarchy.controllers.join(" ")}\n`);
        await writeFile(join(hierarchy.dir, "cgroup.subtree_control"), "\n");
      } else {
        await writeFile(join(hierarchy.dir, "tasks"), "1\n");
        if (hierarchy.controllers.includes("cpuset")) {
          await writeFile(join(hierarchy.dir, "cpuset.cpus"), "0-3\n");
          await writeFile(join(hierarchy.dir, "cpuset.mems"), "0\n");
        }
      }
    }
    return new SimulatedCgroupFs(root, hierarchies);
  }

  async mkdir(dir: string): Promise<void> {
    const hierarchy = this.hierarchyOf(dir);
    await mkdir(dir);
    this.calls.push(`mkdir ${this.rel(dir)}`);
    await writeFile(join(dir, "cgroup.procs"), "");
    if (hierarchy.version === "v2") {
      await writeFile(join(dir, "cgroup.subtree_control"), "");
    } else {
      await writeFile(join(dir, "tasks"), "");
      if (hierarchy.controllers.includes("cpuset")) {
        await writeFile(join(dir, "cpuset.cpus"), "\n");
        await writeFile(join(dir, "cpuset.mems"), "\n");
      }
    }
  }

  async rmdir(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    if (entries.some((entry) => entry.isDirectory())) throw errno("ENOTEMPTY", dir);
    if ((await this.procs(dir)).length > 0) {
      this.calls.push(`rmdir-busy ${this.rel(dir)}`);
      await this.onBusy?.(dir);
      throw errno("EBUSY", dir);
    }
    for (const entry of entries) await rm(join(dir, entry.name));
    await rmdir(dir);
    this.calls.push(`rmdir ${this.rel(dir)}`);
  }

  async readFile(file: string): Promise<string> {
    const dir = dirname(file);
    const hierarchy = this.hierarchyOf(dir);
    if (basename(file) === "cgroup.controllers" && hierarchy.version === "v2" && dir !== hierarchy.dir) {
      await stat(dir);
      return this.readFile(join(dirname(dir), "cgroup.subtree_control"));
    }
    return readFile(file, "utf8");
  }

  async writeFile(file: string, content: string): Promise<void> {
    await stat(file); // cgroupfs never creates files: ENOENT as the kernel would.
    const dir = dirname(file);
    const hierarchy = this.hierarchyOf(dir);
    const name = basename(file);
    if (name === "cgroup.subtree_control" && hierarchy.version === "v2") {
      await this.writeSubtreeControl(hierarchy, dir, content);
    } else if (name === "cgroup.procs") {
      await this.movePid(hierarchy, dir, Number(content.trim()));
    } else {
      await writeFile(file, content);
    }
    this.calls.push(`write ${this.rel(file)} ${content}`);
  }

  async listDirs(dir: string): Promise<string[]> {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  }

  /** Test setup: put pids into a cgroup. */
  async setProcs(dir: string, pids: number[]): Promise<void> {
    await writeFile(join(dir, "cgroup.procs"), pids.map((pid) => `${pid}\n`).join(""));
  }

  async procs(dir: string): Promise<number[]> {
    return words(await readFile(join(dir, "cgroup.procs"), "utf8")).map(Number);
  }

  async subtreeControl(dir: string): Promise<string[]> {
    return words(await readFile(join(dir, "cgroup.subtree_control"), "utf8"));
  }

  private async writeSubtreeControl(
    hierarchy: SimulatedHierarchy,
    dir: string,
    content: string,
  ): Promise<void> {
    const available = new Set(words(await this.readFile(join(dir, "cgroup.controllers"))));
    const enabled = new Set(await this.subtreeControl(dir));
    for (const token of words(content)) {
      const controller = token.slice(1);
      if (token.startsWith("+")) {
        if (!available.has(controller)) throw errno("ENOENT", `${controller} not available in ${dir}`);
        if (dir !== hierarchy.dir && (await this.procs(dir)).length > 0) {
          throw errno("EBUSY", `${dir} has processes`);
        }
        enabled.add(controller);
      } else if (token.startsWith("-")) {
        enabled.delete(controller);
      } else {
        throw errno("EINVAL", token);
      }
    }
    await writeFile(join(dir, "cgroup.subtree_control"), [...enabled].sort().join(" "));
  }

  private async movePid(hierarchy: SimulatedHierarchy, dir: string, pid: number): Promise<void> {
    if (!Number.isInteger(pid) || pid <= 0) throw errno("EINVAL", `pid ${pid}`);
    if (hierarchy.version === "v2" && dir !== hierarchy.dir && (await this.subtreeControl(dir)).length > 0) {
      throw errno("EBUSY", `${dir} enables controllers for its children`);
    }
    if (hierarchy.version === "v1" && hierarchy.controllers.includes("cpuset")) {
      const cpus = (await readFile(join(dir, "cpuset.cpus"), "utf8")).trim();
      if (cpus === "") throw errno("ENOSPC", `${dir} has no CPUs`);
    }
    for (const cgroup of await this.allCgroups(hierarchy.dir)) {
      const remaining = (await this.procs(cgroup)).filter((p) => p !== pid);
      await this.setProcs(cgroup, remaining);
    }
    await this.setProcs(dir, [...(await this.procs(dir)), pid]);
  }

  private async allCgroups(dir: string): Promise<string[]> {
    const children = await this.listDirs(dir);
    const nested = await Promise.all(children.map((child) => this.allCgroups(join(dir, child))));
    return [dir, ...nested.flat()];
  }

  private hierarchyOf(path: string): SimulatedHierarchy {
    const matches = this.hierarchies.filter((h) => path === h.dir || path.startsWith(`${h.dir}/`));
    const deepest = matches.sort((a, b) => b.dir.length - a.dir.length)[0];
    if (deepest === undefined) throw errno("ENOENT", `${path} is in no cgroup hierarchy`);
    return deepest;
  }

  private rel(path: string): string {
    return relative(this.root, path);
  }
}
