// Labels and annotations come back in every list response: an oversize one is refused when the
// object is created (INVALID_ARGUMENT naming the field) so that listing keeps working for every
// caller, and the refused request leaves nothing behind.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import type { PodSandboxConfig } from "../../../../cri/api/generated/api.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig, grpcError } from "../../../../harness/cri-fixtures.js";

/** A map of `entries` values of `valueBytes` bytes each. */
function bigMap(entries: number, valueBytes: number): Record<string, string> {
  const value = "x".repeat(valueBytes);
  return Object.fromEntries(Array.from({ length: entries }, (_, i) => [`key-${i}`, value]));
}

describe("labels and annotations are bounded per object", () => {
  let h: Harness;
  let image: string;
  let podSandboxId: string;
  let config: PodSandboxConfig;

  beforeAll(async () => {
    h = await startHarness();
    image = await h.importBusybox();
    config = sandboxConfig("bounded");
    podSandboxId = (await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" })).podSandboxId;
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it("refuses pods with 9 MB of labels, so ListPodSandbox keeps answering", async () => {
    const netnsDir = join(h.options.runDir, "netns");
    const netnsBefore = await readdir(netnsDir).catch(() => []);
    for (const name of ["huge-a", "huge-b"]) {
      const err = await grpcError(
        h.cri.runtime.runPodSandbox({
          config: sandboxConfig(name, { labels: bigMap(9, 1024 * 1024) }),
          runtimeHandler: "",
        }),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/^config\.labels: .*limit of 262144 bytes/);
    }
    const { items } = await h.cri.runtime.listPodSandbox({});
    expect(items.map((s) => s.id)).toEqual([podSandboxId]);
    expect(await readdir(netnsDir).catch(() => [])).toEqual(netnsBefore);
  });

  it("refuses a pod whose annotations pass 256 KiB", async () => {
    const err = await grpcError(
      h.cri.runtime.runPodSandbox({
        config: sandboxConfig("annotated", { annotations: bigMap(5, 64 * 1024) }),
        runtimeHandler: "",
      }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^config\.annotations: /);
    expect((await h.cri.runtime.listPodSandbox({})).items).toHaveLength(1);
  });

  it("refuses containers with oversize labels or annotations, leaving no container behind", async () => {
    const labelled = await grpcError(
      h.cri.runtime.createContainer({
        podSandboxId,
        config: containerConfig("labelled", image, ["true"], { labels: bigMap(5, 64 * 1024) }),
        sandboxConfig: config,
      }),
    );
    expect(labelled.code).toBe(status.INVALID_ARGUMENT);
    expect(labelled.details).toMatch(/^config\.labels: /);
    const annotated = await grpcError(
      h.cri.runtime.createContainer({
        podSandboxId,
        config: containerConfig("annotated", image, ["true"], { annotations: bigMap(5, 64 * 1024) }),
        sandboxConfig: config,
      }),
    );
    expect(annotated.code).toBe(status.INVALID_ARGUMENT);
    expect(annotated.details).toMatch(/^config\.annotations: /);
    expect((await h.cri.runtime.listContainers({})).containers).toEqual([]);
    expect(await readdir(join(h.options.stateDir, "containers"))).toEqual([]);
  });

  it("still accepts labels and annotations just under the limits", async () => {
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("full", image, ["true"], {
        labels: bigMap(3, 64 * 1024),
        annotations: bigMap(3, 64 * 1024),
      }),
      sandboxConfig: config,
    });
    const { containers } = await h.cri.runtime.listContainers({});
    expect(containers.map((c) => c.id)).toEqual([containerId]);
    expect(Object.keys(containers[0]!.annotations)).toContain("key-2");
    await h.cri.runtime.removeContainer({ containerId });
  });
});
