// Node-level reclaim, tried before any pod is evicted for disk pressure (as the kubelet does):
// remove dead containers, then unused images, then look again. Dead containers go as in the
// kubelet's container GC with one dead container kept per pod and container name: the newest
// exited run, which the pod's status (lastState, init containers done) and logs still need.
// A pod the pod manager no longer knows keeps nothing.
import { ContainerState, type Container, type PodSandbox } from "../../cri/api/generated/api.js";
import type { RuntimeServiceApi } from "../../cri/service-types.js";
import type { Logger } from "../../common/logger.js";

export interface NodeReclaimer {
  /** Removes dead containers; returns how many. */
  deleteDeadContainers(): Promise<number>;
  /** Removes every image no container uses (old enough not to be a pull about to be used); returns how many. */
  deleteUnusedImages(): Promise<number>;
}

/** The exited containers to remove: all of unknown pods, all but the newest per container name of known ones. */
export function chooseDeadContainers(
  containers: readonly Container[],
  sandboxes: readonly PodSandbox[],
  knownPodUids: ReadonlySet<string>,
): Container[] {
  const podUid = new Map(sandboxes.map((s) => [s.id, s.metadata?.uid ?? ""]));
  const groups = new Map<string, Container[]>();
  const chosen: Container[] = [];
  for (const c of containers) {
    if (c.state !== ContainerState.CONTAINER_EXITED) continue;
    const uid = podUid.get(c.podSandboxId) ?? "";
    if (uid === "" || !knownPodUids.has(uid)) {
      chosen.push(c);
      continue;
    }
    const key = `${uid}/${c.metadata?.name ?? ""}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  for (const group of groups.values()) {
    const newestFirst = [...group].sort((a, b) =>
      a.createdAt === b.createdAt ? 0 : a.createdAt > b.createdAt ? -1 : 1,
    );
    chosen.push(...newestFirst.slice(1));
  }
  return chosen;
}

export interface RuntimeReclaimerOptions {
  readonly runtime: Pick<RuntimeServiceApi, "listContainers" | "listPodSandbox" | "removeContainer">;
  /** Uids of the pods the pod manager has. */
  readonly knownPodUids: () => ReadonlySet<string>;
  /** Removes unused images; returns their ids. */
  readonly collectUnusedImages: () => Promise<string[]>;
  readonly logger: Logger;
}

export function runtimeReclaimer(options: RuntimeReclaimerOptions): NodeReclaimer {
  return {
    async deleteDeadContainers() {
      const [{ containers }, { items }] = await Promise.all([
        options.runtime.listContainers({}),
        options.runtime.listPodSandbox({}),
      ]);
      let removed = 0;
      for (const c of chooseDeadContainers(containers, items, options.knownPodUids())) {
        try {
          await options.runtime.removeContainer({ containerId: c.id });
          removed++;
        } catch (err) {
          options.logger.warn({ err, container: c.id }, "reclaim: cannot remove a dead container");
        }
      }
      return removed;
    },
    async deleteUnusedImages() {
      return (await options.collectUnusedImages()).length;
    },
  };
}
