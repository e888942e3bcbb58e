// Creates and removes cgroups. On cgroup v2 a cgroup only gets a controller if its parent
// lists it in cgroup.subtree_control, so ensure() switches on berth's controllers level by
// level as it creates the path. Removal is rmdir from the leaves up: cgroupfs removes a
// cgroup with rmdir(2) alone, and a recursive delete of the files in it would fail anyway.
import { join } from "node:path";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  RuntimeFailureError,
} from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { nodeCgroupFs, type CgroupFs } from "./cgroup-fs.js";
import { DEFAULT_CGROUP_ROOT, type CgroupLayout } from "./detect.js";
import { errnoCode } from "./files.js";
import { parsePidList } from "./parse.js";
import {
  cgroupPathSegments,
  distinctDirs,
  hierarchyDir,
  namedHierarchyDirs,
  resolveCgroupDirs as resolveDirs,
  resolveHierarchyPaths,
  type CgroupDirs,
  type HierarchyPath,
} from "./paths.js";

export { resolveDirs as resolveCgroupDirs };
export type { CgroupDirs };

/** The cgroup v2 controllers berth enables down its paths, each only where the parent offers it. */
export const MANAGED_V2_CONTROLLERS: readonly string[] = ["cpu", "cpuset", "io", "memory", "pids"];

export interface CgroupManagerOptions {
  readonly layout: CgroupLayout;
  readonly root?: string;
  readonly fs?: CgroupFs;
  readonly logger?: Logger;
  readonly controllers?: readonly string[];
  readonly sleep?: (ms: number) => Promise<void>;
  /** rmdir attempts per cgroup while it is busy (processes still exiting). */
  readonly removeAttempts?: number;
  readonly removeRetryDelayMs?: number;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function words(text: string): string[] {
  return text.split(/\s+/).filter((word) => word !== "");
}

export class CgroupManager {
  readonly layout: CgroupLayout;
  readonly root: string;
  private readonly fs: CgroupFs;
  private readonly logger: Logger | undefined;
  private readonly controllers: readonly string[];
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly removeAttempts: number;
  private readonly removeRetryDelayMs: number;

  constructor(options: CgroupManagerOptions) {
    this.layout = options.layout;
    this.root = options.root ?? DEFAULT_CGROUP_ROOT;
    this.fs = options.fs ?? nodeCgroupFs;
    this.logger = options.logger;
    this.controllers = options.controllers ?? MANAGED_V2_CONTROLLERS;
    this.sleep = options.sleep ?? defaultSleep;
    this.removeAttempts = options.removeAttempts ?? 10;
    this.removeRetryDelayMs = options.removeRetryDelayMs ?? 100;
  }

  /** The directories that hold `path`: one on cgroup v2, one per controller on v1. */
  resolveCgroupDirs(path: string): CgroupDirs {
    return resolveDirs(this.layout, path, this.root);
  }

  /** Creates every missing level of `path` (and enables controllers on v2); existing levels are fine. */
  async ensure(path: string): Promise<CgroupDirs> {
    for (const hierarchy of resolveHierarchyPaths(this.layout, path, this.root)) {
      await this.createLevels(hierarchy, { enableControllers: this.delegatesControllers(hierarchy) });
    }
    return this.resolveCgroupDirs(path);
  }

  /**
   * Removes `path` and every cgroup below it, leaves first, in every hierarchy. A cgroup that is
   * still busy (its last processes exiting) is retried briefly; a path that does not exist is fine.
   */
  async remove(path: string): Promise<void> {
    this.requireBelowRoot(path);
    const dirs = [
      ...distinctDirs(this.resolveCgroupDirs(path)),
      ...namedHierarchyDirs(this.layout, path, this.root),
    ];
    for (const dir of dirs) await this.removeTree(dir);
  }

  /** Pids in the cgroup itself (not its children); on v1 the union over hierarchies. */
  async listProcs(path: string): Promise<number[]> {
    const pids = new Set<number>();
    let found = false;
    for (const dir of distinctDirs(this.resolveCgroupDirs(path))) {
      let text: string;
      try {
        text = await this.fs.readFile(join(dir, "cgroup.procs"));
      } catch (err) {
        if (errnoCode(err) === "ENOENT") continue;
        throw new RuntimeFailureError(`cannot read ${join(dir, "cgroup.procs")}: ${String(err)}`);
      }
      found = true;
      for (const pid of parsePidList(text)) pids.add(pid);
    }
    if (!found) throw new NotFoundError("cgroup", path);
    return [...pids].sort((a, b) => a - b);
  }

  /**
   * Moves a process (the agent by default) into the leaf `path`, then enables controllers down
   * to it. cgroup v2 lets a non-root cgroup either hold processes or hand controllers to
   * children, not both, so the agent must leave the cgroup it was started in (its delegated
   * root) before that cgroup can host pod cgroups with limits.
   */
  async moveSelfToLeaf(path: string, pid: number = process.pid): Promise<CgroupDirs> {
    this.requireBelowRoot(path);
    const hierarchies = resolveHierarchyPaths(this.layout, path, this.root);
    for (const hierarchy of hierarchies) await this.createLevels(hierarchy, { enableControllers: false });
    for (const hierarchy of hierarchies) {
      const procs = join(hierarchyDir(hierarchy), "cgroup.procs");
      try {
        await this.fs.writeFile(procs, String(pid));
      } catch (err) {
        throw this.writeError(procs, err, `cannot move pid ${pid}`);
      }
    }
    this.logger?.info({ pid, path }, "moved process into its leaf cgroup");
    return this.ensure(path);
  }

  private delegatesControllers(hierarchy: HierarchyPath): boolean {
    // On hybrid hosts the cgroup2 tree carries no resource controllers berth uses.
    return this.layout.mode === "unified" && hierarchy.controllers.includes("unified");
  }

  // Removing or moving into "" or "/" would mean a hierarchy root or this process's own cgroup.
  private requireBelowRoot(path: string): void {
    if (cgroupPathSegments(path).length === 0) {
      throw new InvalidArgumentError("cgroupPath", `"${path}" names no cgroup below the root`);
    }
  }

  private async createLevels(
    hierarchy: HierarchyPath,
    { enableControllers }: { enableControllers: boolean },
  ): Promise<void> {
    let dir = hierarchy.mountDir;
    if (!(await this.isCgroup(dir))) {
      throw new FailedPreconditionError(`no cgroup hierarchy at ${dir}`);
    }
    for (const segment of hierarchy.segments) {
      if (enableControllers) await this.enableControllers(dir);
      const parent = dir;
      dir = join(dir, segment);
      try {
        await this.fs.mkdir(dir);
      } catch (err) {
        if (errnoCode(err) === "EEXIST") continue;
        throw new RuntimeFailureError(`cannot create cgroup ${dir}: ${String(err)}`);
      }
      this.logger?.debug({ dir }, "created cgroup");
      if (hierarchy.controllers.includes("cpuset")) await this.inheritCpuset(parent, dir);
    }
  }

  private async isCgroup(dir: string): Promise<boolean> {
    try {
      await this.fs.readFile(join(dir, "cgroup.procs"));
      return true;
    } catch (err) {
      if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return false;
      throw err;
    }
  }

  private async enableControllers(dir: string): Promise<void> {
    const available = new Set(words(await this.fs.readFile(join(dir, "cgroup.controllers"))));
    const enabled = new Set(words(await this.fs.readFile(join(dir, "cgroup.subtree_control"))));
    for (const controller of this.controllers) {
      if (!available.has(controller) || enabled.has(controller)) continue;
      const file = join(dir, "cgroup.subtree_control");
      try {
        await this.fs.writeFile(file, `+${controller}`);
      } catch (err) {
        throw this.writeError(file, err, `cannot enable the ${controller} controller`);
      }
      this.logger?.debug({ dir, controller }, "enabled controller for child cgroups");
    }
  }

  // A new v1 cpuset cgroup starts with no CPUs and no memory nodes, and no process can join it
  // until both are set; it gets its parent's.
  private async inheritCpuset(parent: string, dir: string): Promise<void> {
    for (const file of ["cpuset.cpus", "cpuset.mems"]) {
      const own = await this.fs.readFile(join(dir, file)).catch(() => undefined);
      if (own === undefined || own.trim() !== "") continue;
      const inherited = (await this.fs.readFile(join(parent, file))).trim();
      if (inherited !== "") await this.fs.writeFile(join(dir, file), inherited);
    }
  }

  private async removeTree(dir: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      let children: string[];
      try {
        children = await this.fs.listDirs(dir);
      } catch (err) {
        if (errnoCode(err) === "ENOENT") return;
        throw new RuntimeFailureError(`cannot list cgroup ${dir}: ${String(err)}`);
      }
      for (const child of children.sort()) await this.removeTree(join(dir, child));
      try {
        await this.fs.rmdir(dir);
        this.logger?.debug({ dir }, "removed cgroup");
        return;
      } catch (err) {
        const code = errnoCode(err);
        if (code === "ENOENT") return;
        // EBUSY: processes are still leaving. ENOTEMPTY: a child cgroup appeared meanwhile.
        if ((code === "EBUSY" || code === "ENOTEMPTY") && attempt < this.removeAttempts) {
          await this.sleep(this.removeRetryDelayMs);
          continue;
        }
        if (code === "EBUSY" || code === "ENOTEMPTY") {
          throw new FailedPreconditionError(`cgroup ${dir} is still in use after ${attempt} attempts`);
        }
        throw new RuntimeFailureError(`cannot remove cgroup ${dir}: ${String(err)}`);
      }
    }
  }

  private writeError(file: string, err: unknown, what: string): Error {
    const code = errnoCode(err);
    if (code === "EBUSY") {
      return new FailedPreconditionError(
        `${what} (${file}): cgroup v2 lets a cgroup hold processes or enable controllers for children, not both`,
      );
    }
    if (code === "ENOENT") return new NotFoundError("cgroup", file);
    return new RuntimeFailureError(`${what} (${file}): ${String(err)}`);
  }
}
