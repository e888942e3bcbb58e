import { describe, expect, it } from "vitest";
import { chooseDeadContainers, runtimeReclaimer } from "../../../../agent/eviction/reclaim.js";
import { Container, ContainerState, PodSandbox } from "../../../../cri/api/generated/api.js";
import { silentLogger } from "../../../../common/logger.js";

const sandboxes = [
  PodSandbox.fromPartial({ id: "sb-known", metadata: { uid: "uid-known", name: "known" } }),
  PodSandbox.fromPartial({ id: "sb-known-old", metadata: { uid: "uid-known", name: "known", attempt: 0 } }),
  PodSandbox.fromPartial({ id: "sb-gone", metadata: { uid: "uid-gone", name: "gone" } }),
];

function ctr(id: string, sandbox: string, name: string, state: ContainerState, createdAt: number): Container {
  return Container.fromPartial({
    id,
    podSandboxId: sandbox,
    metadata: { name },
    state,
    createdAt: BigInt(createdAt),
  });
}

const containers = [
  ctr("app-1", "sb-known-old", "app", ContainerState.CONTAINER_EXITED, 1),
  ctr("app-2", "sb-known", "app", ContainerState.CONTAINER_EXITED, 2),
  ctr("app-3", "sb-known", "app", ContainerState.CONTAINER_RUNNING, 3),
  ctr("init-1", "sb-known", "init", ContainerState.CONTAINER_EXITED, 1),
  ctr("gone-1", "sb-gone", "app", ContainerState.CONTAINER_EXITED, 1),
  ctr("gone-2", "sb-gone", "app", ContainerState.CONTAINER_RUNNING, 2),
];

describe("dead container reclaim", () => {
  it("keeps the newest exited run per container of known pods and removes every exited one of unknown pods", () => {
    const chosen = chooseDeadContainers(containers, sandboxes, new Set(["uid-known"]));
    expect(chosen.map((c) => c.id).sort()).toEqual(["app-1", "gone-1"]);
  });

  it("removes through the runtime and counts what went, going on past a failure", async () => {
    const removed: string[] = [];
    const reclaimer = runtimeReclaimer({
      runtime: {
        listContainers: async () => ({ containers }),
        listPodSandbox: async () => ({ items: sandboxes }),
        removeContainer: async ({ containerId }) => {
          if (containerId === "app-1") throw new Error("busy");
          removed.push(containerId);
          return {};
        },
      },
      knownPodUids: () => new Set(["uid-known"]),
      collectUnusedImages: async () => ["sha256:a", "sha256:b"],
      logger: silentLogger(),
    });
    expect(await reclaimer.deleteDeadContainers()).toBe(1);
    expect(removed).toEqual(["gone-1"]);
    expect(await reclaimer.deleteUnusedImages()).toBe(2);
  });
});
