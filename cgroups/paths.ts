// Turns a berth cgroup path into the directories that hold it. On cgroup v2 that is one
// directory under the root. On v1 a cgroup exists once per controller hierarchy; a relative
// path nests under this process's own cgroup in each hierarchy and an absolute one sits
// under the hierarchy's root, the same resolution runc applies to a relative cgroupsPath.
import { checkPathLength } from "../common/path-limits.js";
import { join } from "node:path";
import { echo, InvalidArgumentError } from "../common/errors.js";
import { DEFAULT_CGROUP_ROOT, type CgroupLayout } from "./detect.js";

export interface CgroupDirs {
  /**
   * The cgroup2 directory: the cgroup itself on unified hosts; on hybrid hosts its companion in
   * the controller-less cgroup2 tree (PSI lives there). Absent on legacy hosts.
   */
  readonly unified?: string;
  /** v1 directory per resource controller (hybrid and legacy); co-mounted controllers share one. */
  readonly v1: Readonly<Record<string, string>>;
}

/** Splits a cgroup path into clean segments; ".." and empty names are refused. */
export function cgroupPathSegments(path: string, field = "cgroupPath"): string[] {
  checkPathLength(path, field);
  const segments = path.split("/").filter((segment) => segment !== "" && segment !== ".");
  for (const segment of segments) {
    if (segment === "..") throw new InvalidArgumentError(field, `"${echo(path)}" must not contain ".."`);
    if (segment.includes("\0")) throw new InvalidArgumentError(field, `"${echo(path)}" contains a NUL byte`);
  }
  return segments;
}

/**
 * A pod's cgroup parent as given in a request, as berth will use it: an absolute one as is
 * (cleaned), a relative one nested under `root`, berth's configured cgroup root, unless it
 * already lies inside it. The same rule as removal applies, so whatever is accepted here can
 * be removed again: no "..", no NUL, not the hierarchy's root.
 */
export function resolveCgroupParent(parent: string, root: string, field: string): string {
  const segments = cgroupPathSegments(parent, field);
  if (segments.length === 0) throw new InvalidArgumentError(field, `"${echo(parent)}" names no cgroup`);
  if (parent.startsWith("/")) return `/${segments.join("/")}`;
  const rootSegments = cgroupPathSegments(root);
  const inside = rootSegments.every((segment, i) => segments[i] === segment);
  const nested = inside ? segments : [...rootSegments, ...segments];
  return `${root.startsWith("/") ? "/" : ""}${nested.join("/")}`;
}

/** One hierarchy's share of a cgroup: the hierarchy's mount directory and the cgroup's path below it. */
export interface HierarchyPath {
  /** "unified" for the cgroup2 tree, else the v1 controllers mounted together there. */
  readonly controllers: readonly string[];
  readonly mountDir: string;
  /** Path segments below mountDir, outermost first; empty for the hierarchy's root. */
  readonly segments: readonly string[];
}

function nestedSegments(path: string, own: string | undefined): string[] {
  const segments = cgroupPathSegments(path);
  if (path.startsWith("/") || own === undefined) return segments;
  return [...cgroupPathSegments(own), ...segments];
}

/** The cgroup's place in each hierarchy that holds it: one on unified hosts, one per v1 mount otherwise. */
export function resolveHierarchyPaths(
  layout: CgroupLayout,
  path: string,
  root: string = DEFAULT_CGROUP_ROOT,
): HierarchyPath[] {
  if (layout.mode === "unified") {
    return [
      {
        controllers: ["unified"],
        mountDir: join(root, layout.unifiedDir ?? ""),
        segments: cgroupPathSegments(path),
      },
    ];
  }
  const byMount = new Map<string, { controllers: string[]; segments: string[] }>();
  for (const [controller, mountDir] of Object.entries(layout.v1Mounts)) {
    // Named hierarchies (name=systemd) belong to their owner, not to resource control.
    if (controller.startsWith("name=")) continue;
    const segments = nestedSegments(path, layout.ownV1[controller]);
    const existing = byMount.get(mountDir);
    if (existing) existing.controllers.push(controller);
    else byMount.set(mountDir, { controllers: [controller], segments });
  }
  const hierarchies: HierarchyPath[] = [...byMount.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([mountDir, { controllers, segments }]) => ({
      controllers,
      mountDir: join(root, mountDir),
      segments,
    }));
  if (layout.unifiedDir !== undefined) {
    hierarchies.push({
      controllers: ["unified"],
      mountDir: join(root, layout.unifiedDir),
      segments: nestedSegments(path, layout.ownV2),
    });
  }
  return hierarchies;
}

/**
 * The cgroup's directories in named v1 hierarchies (name=systemd). berth never puts limits
 * there, but runc creates the container's cgroup in them too, so removal must find them.
 */
export function namedHierarchyDirs(
  layout: CgroupLayout,
  path: string,
  root: string = DEFAULT_CGROUP_ROOT,
): string[] {
  if (layout.mode === "unified") return [];
  return Object.entries(layout.v1Mounts)
    .filter(([controller]) => controller.startsWith("name="))
    .map(([controller, mountDir]) => join(root, mountDir, ...nestedSegments(path, layout.ownV1[controller])));
}

export function hierarchyDir(hierarchy: HierarchyPath): string {
  return join(hierarchy.mountDir, ...hierarchy.segments);
}

export function resolveCgroupDirs(
  layout: CgroupLayout,
  path: string,
  root: string = DEFAULT_CGROUP_ROOT,
): CgroupDirs {
  let unified: string | undefined;
  const v1: Record<string, string> = {};
  for (const hierarchy of resolveHierarchyPaths(layout, path, root)) {
    const dir = hierarchyDir(hierarchy);
    for (const controller of hierarchy.controllers) {
      if (controller === "unified") unified = dir;
      else v1[controller] = dir;
    }
  }
  return unified === undefined ? { v1 } : { unified, v1 };
}

/** Every distinct directory of a cgroup, v1 hierarchies first, in a stable order. */
export function distinctDirs(dirs: CgroupDirs): string[] {
  const all = [...Object.values(dirs.v1)].sort();
  if (dirs.unified !== undefined) all.push(dirs.unified);
  return [...new Set(all)];
}
