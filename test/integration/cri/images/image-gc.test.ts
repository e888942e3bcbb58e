import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectImages } from "../../../../cri/images/image-gc.js";
import { silentLogger } from "../../../../common/logger.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig } from "../../../../harness/cri-fixtures.js";

describe("image garbage collection on a full disk", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it("removes unused images and never one a container uses", async () => {
    const used = await h.importBusybox({ name: "berth.test/gc-used:1" });
    const unused = await h.importBusybox({ name: "berth.test/gc-unused:1", labels: { variant: "b" } });
    const config = sandboxConfig("gc");
    const { podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("c", used, ["true"]),
      sandboxConfig: config,
    });
    const usedId = h.runtime.images.resolve(used)!.id;
    const removed = await collectImages({
      store: h.runtime.images,
      imagesInUse: () => new Set([...h.runtime.deps.registry.containers.values()].map((c) => c.imageId)),
      logger: silentLogger(),
      now: () => Date.now() + 3_600_000,
      diskUsage: async () => ({ capacityBytes: 1000e9, availableBytes: 10e9 }),
    });
    expect(removed).not.toContain(usedId);
    expect(h.runtime.images.resolve(unused)).toBeUndefined();
    expect(h.runtime.images.resolve(used)?.id).toBe(usedId);
    await h.cri.runtime.removePodSandbox({ podSandboxId });
  });
});
