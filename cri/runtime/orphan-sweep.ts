// At start, after the records were recovered: whatever berth made under its own dirs that no
// record owns is removed. Creations record their resources before making them, so orphans come
// only from older versions, from removals that failed half-way, or from files conmon writes
// after the agent let go of a container; either way nothing else would ever remove them, and
// the run dir would grow without bound. Only berth's own dirs, runc root and CNI cache are
// looked at; one entry that cannot be removed is logged and the sweep goes on.
import { readdir, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { distinctDirs } from "../../cgroups/paths.js";
import { unmountIfMounted } from "../../common/mounts.js";
import { deleteContainerAndMonitor } from "./container-teardown.js";
import type { RuntimeDeps } from "./deps.js";

/** How many orphans of each kind were removed. */
export type SweepCounts = Record<string, number>;

async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith("."));
}

export async function sweepOrphans(deps: RuntimeDeps): Promise<SweepCounts> {
  const { paths, registry, logger } = deps;
  const sandboxIds = new Set(registry.sandboxes.keys());
  const containerIds = new Set(registry.containers.keys());
  const known = (id: string): boolean => sandboxIds.has(id) || containerIds.has(id);
  const counts: SweepCounts = {};
  const sweep = async (kind: string, name: string, remove: () => Promise<void>): Promise<void> => {
    try {
      await remove();
      counts[kind] = (counts[kind] ?? 0) + 1;
    } catch (err) {
      logger.warn({ err, kind, name }, "could not remove an orphan");
    }
  };

  // Containers runc knows under berth's root with no record: kill and delete them first, so
  // their conmon stops writing and their mounts and cgroups can go.
  const runcStates = await deps.runc.list().catch((err: unknown) => {
    logger.warn({ err }, "cannot list runc containers: orphans among them stay until the next start");
    return [];
  });
  for (const state of runcStates) {
    if (known(state.id)) continue;
    await sweep("runc container", state.id, () =>
      deleteContainerAndMonitor(deps.runc, deps.conmon, { id: state.id, bundleDir: state.bundle }, logger),
    );
  }
  if (deps.network?.attachedSandboxIds) {
    const attached = await deps.network.attachedSandboxIds().catch((err: unknown) => {
      logger.warn({ err }, "cannot list network attachments: orphans among them stay until the next start");
      return [];
    });
    for (const id of attached) {
      if (sandboxIds.has(id)) continue;
      await sweep("network attachment", id, () =>
        deps.network!.tearDown({
          sandboxId: id,
          podName: "",
          podNamespace: "",
          podUid: "",
          portMappings: [],
        }),
      );
    }
  }
  const shmPaths = new Set([...registry.sandboxes.values()].map((s) => s.shmPath));
  for (const name of await entries(paths.shmDir)) {
    const path = join(paths.shmDir, name);
    if (shmPaths.has(path)) continue;
    await sweep("shm", name, async () => {
      await unmountIfMounted(path);
      await rm(path, { recursive: true, force: true });
    });
  }
  const netnsPaths = new Set([...registry.sandboxes.values()].map((s) => s.netnsPath));
  for (const name of await entries(paths.netnsDir)) {
    // A user-namespaced pod's user namespace is bound beside its network namespace.
    const sandboxId = name.endsWith(".userns") ? name.slice(0, -".userns".length) : name;
    if (netnsPaths.has(deps.netns.pathOf(sandboxId))) continue;
    await sweep("netns", name, () => deps.netns.remove(sandboxId));
  }
  for (const name of await entries(paths.snapshotsDir)) {
    if (containerIds.has(name)) continue;
    await sweep("snapshot", name, () => deps.snapshots.remove(name));
  }
  const bundleDirs = new Set([...registry.containers.values()].map((c) => c.bundleDir));
  for (const name of await entries(paths.containersDir)) {
    const dir = join(paths.containersDir, name);
    if (bundleDirs.has(dir)) continue;
    await sweep("container bundle", name, () => rm(dir, { recursive: true, force: true }));
  }
  const sandboxDirs = new Set([...registry.sandboxes.values()].map((s) => s.dir));
  for (const name of await entries(paths.sandboxesDir)) {
    const dir = join(paths.sandboxesDir, name);
    if (sandboxDirs.has(dir)) continue;
    await sweep("sandbox dir", name, () => rm(dir, { recursive: true, force: true }));
  }
  for (const [kind, dir] of [
    ["exit file", paths.exitsDir],
    ["attach link", paths.attachDir],
  ] as const) {
    for (const name of await entries(dir)) {
      if (known(name)) continue;
      await sweep(kind, name, () => rm(join(dir, name), { recursive: true, force: true }));
    }
  }
  await sweepPodCgroups(deps, sweep);
  if (Object.keys(counts).length > 0) logger.warn({ removed: counts }, "removed what no record owned");
  return counts;
}

/** Pod cgroups berth chose (<cgroupRoot>/cri/pod-<id prefix>) whose sandbox is gone. */
async function sweepPodCgroups(
  deps: RuntimeDeps,
  sweep: (kind: string, name: string, remove: () => Promise<void>) => Promise<void>,
): Promise<void> {
  const parent = `${deps.cgroupRoot}/cri`;
  // Any sandbox's parent with that name is kept, whoever chose it.
  const inUse = new Set([...deps.registry.sandboxes.values()].map((s) => basename(s.cgroupParent)));
  const names = new Set<string>();
  for (const dir of distinctDirs(deps.cgroups.resolveCgroupDirs(parent))) {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory() && /^pod-[0-9a-f]{16}$/.test(entry.name)) names.add(entry.name);
    }
  }
  for (const name of names) {
    if (inUse.has(name)) continue;
    await sweep("pod cgroup", name, () => deps.cgroups.remove(`${parent}/${name}`));
  }
}
