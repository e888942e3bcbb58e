// Works out how cgroups are mounted on this host and where the current process sits in
// each hierarchy. Both come from text (/proc/self/mountinfo, /proc/self/cgroup) handed in
// by the caller, so tests describe any host as a string.
import { readFile } from "node:fs/promises";
import { posix } from "node:path";
import { FailedPreconditionError } from "../common/errors.js";

export const DEFAULT_CGROUP_ROOT = "/sys/fs/cgroup";

/**
 * unified: cgroup2 mounted at the root, every controller on it.
 * hybrid: v1 controller hierarchies plus a controller-less cgroup2 (systemd's "unified" dir).
 * legacy: v1 hierarchies only.
 */
export type CgroupMode = "unified" | "hybrid" | "legacy";

export interface CgroupLayout {
  readonly mode: CgroupMode;
  /** Directory of the cgroup2 hierarchy relative to the root: "" when unified, "unified" on hybrid hosts. */
  readonly unifiedDir?: string;
  /**
   * v1 hierarchies by controller (and "name=..." for named ones), each the mount directory relative
   * to the root. Co-mounted controllers share one directory ("cpu,cpuacct").
   */
  readonly v1Mounts: Readonly<Record<string, string>>;
  /** This process's cgroup in each v1 hierarchy, relative to that hierarchy's mount directory. */
  readonly ownV1: Readonly<Record<string, string>>;
  /** This process's cgroup2 path ("0::" line), relative to the cgroup2 mount directory. */
  readonly ownV2?: string;
}

export interface MountInfoEntry {
  readonly mountId: number;
  readonly parentId: number;
  /** The mounted directory of the filesystem (a cgroup path for cgroup mounts). */
  readonly root: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly source: string;
  readonly superOptions: readonly string[];
}

// mountinfo escapes space, tab, newline and backslash in paths as octal.
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMountInfo(text: string): MountInfoEntry[] {
  const entries: MountInfoEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const [before, after] = line.split(" - ");
    if (before === undefined || after === undefined) continue;
    const fields = before.split(" ");
    const [fsType, source, superOptions] = after.split(" ");
    const [mountId, parentId, , root, mountPoint] = fields;
    if (!mountId || !parentId || !root || !mountPoint || !fsType) continue;
    entries.push({
      mountId: Number(mountId),
      parentId: Number(parentId),
      root: unescapeMountPath(root),
      mountPoint: unescapeMountPath(mountPoint),
      fsType,
      source: source ?? "",
      superOptions: (superOptions ?? "").split(","),
    });
  }
  return entries;
}

export interface ProcCgroupEntry {
  readonly hierarchyId: number;
  /** Empty for the cgroup2 line. */
  readonly controllers: readonly string[];
  readonly path: string;
}

export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const entries: ProcCgroupEntry[] = [];
  for (const line of text.split("\n")) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllerList = line.slice(first + 1, second);
    entries.push({
      hierarchyId: Number(line.slice(0, first)),
      controllers: controllerList === "" ? [] : controllerList.split(","),
      path: line.slice(second + 1),
    });
  }
  return entries;
}

// Superblock options of a v1 mount mix flags (rw, clone_children, ...) with controller names.
const V1_CONTROLLERS = new Set([
  "blkio",
  "cpu",
  "cpuacct",
  "cpuset",
  "devices",
  "freezer",
  "hugetlb",
  "memory",
  "misc",
  "net_cls",
  "net_prio",
  "perf_event",
  "pids",
  "rdma",
]);

function controllersOfV1Mount(entry: MountInfoEntry): string[] {
  return entry.superOptions.filter((option) => V1_CONTROLLERS.has(option) || option.startsWith("name="));
}

function relativeToRoot(mountPoint: string, root: string): string | undefined {
  const normalizedRoot = posix.normalize(root).replace(/\/+$/, "") || "/";
  const normalizedMount = posix.normalize(mountPoint);
  if (normalizedMount === normalizedRoot) return "";
  const prefix = normalizedRoot === "/" ? "/" : `${normalizedRoot}/`;
  return normalizedMount.startsWith(prefix) ? normalizedMount.slice(prefix.length) : undefined;
}

// /proc/self/cgroup paths are hierarchy paths; a mount whose root is a sub-cgroup (a container
// that bind-mounts its own cgroup) shows them with that prefix, which the directory lacks.
function pathWithinMount(ownPath: string, mountRoot: string): string {
  if (mountRoot === "/" || mountRoot === "") return ownPath;
  if (ownPath === mountRoot) return "/";
  if (ownPath.startsWith(`${mountRoot}/`)) return ownPath.slice(mountRoot.length);
  return ownPath;
}

export interface DetectInput {
  /** Text of /proc/self/mountinfo. */
  readonly mountinfo: string;
  /** Text of /proc/self/cgroup. */
  readonly procCgroup: string;
  /** Where cgroups are mounted in the mountinfo text. */
  readonly root?: string;
}

export function detectLayout({
  mountinfo,
  procCgroup,
  root = DEFAULT_CGROUP_ROOT,
}: DetectInput): CgroupLayout {
  const mounts = parseMountInfo(mountinfo);
  const own = parseProcCgroup(procCgroup);
  const ownV2Entry = own.find((entry) => entry.hierarchyId === 0 && entry.controllers.length === 0);

  let unified: { dir: string; entry: MountInfoEntry } | undefined;
  const v1Mounts: Record<string, string> = {};
  const v1MountRoots: Record<string, string> = {};
  for (const entry of mounts) {
    const dir = relativeToRoot(entry.mountPoint, root);
    if (dir === undefined) continue;
    if (entry.fsType === "cgroup2") {
      // Prefer the mount at the root itself over one nested below it.
      if (unified === undefined || dir === "") unified = { dir, entry };
    } else if (entry.fsType === "cgroup") {
      for (const controller of controllersOfV1Mount(entry)) {
        if (v1Mounts[controller] !== undefined) continue;
        v1Mounts[controller] = dir;
        v1MountRoots[controller] = entry.root;
      }
    }
  }

  const ownV2 = ownV2Entry && unified ? pathWithinMount(ownV2Entry.path, unified.entry.root) : undefined;
  if (unified?.dir === "") {
    return {
      mode: "unified",
      unifiedDir: "",
      v1Mounts: {},
      ownV1: {},
      ...(ownV2 !== undefined && { ownV2 }),
    };
  }
  if (Object.keys(v1Mounts).length === 0) {
    throw new FailedPreconditionError(`no cgroup filesystem is mounted at ${root}`);
  }

  const ownV1: Record<string, string> = {};
  for (const entry of own) {
    for (const controller of entry.controllers) {
      const mountRoot = v1MountRoots[controller];
      if (mountRoot !== undefined) ownV1[controller] = pathWithinMount(entry.path, mountRoot);
    }
  }
  if (unified) {
    return {
      mode: "hybrid",
      unifiedDir: unified.dir,
      v1Mounts,
      ownV1,
      ...(ownV2 !== undefined && { ownV2 }),
    };
  }
  return { mode: "legacy", v1Mounts, ownV1 };
}

/** Detects the layout of the host this process runs on. */
export async function detectHostLayout(root: string = DEFAULT_CGROUP_ROOT): Promise<CgroupLayout> {
  const [mountinfo, procCgroup] = await Promise.all([
    readFile("/proc/self/mountinfo", "utf8"),
    readFile("/proc/self/cgroup", "utf8"),
  ]);
  return detectLayout({ mountinfo, procCgroup, root });
}
