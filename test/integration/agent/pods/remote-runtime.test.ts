// The kubelet layer over a CRI socket instead of the in-process runtime: the same pod
// workers, talking gRPC to berth's own socket as they would to containerd or CRI-O.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPodFixture, type PodFixture } from "./pod-fixture.js";

describe("pod workers over a CRI socket", () => {
  let f: PodFixture;
  beforeAll(async () => {
    f = await startPodFixture({}, { viaSocket: true });
  });
  afterAll(async () => {
    await f.cleanup();
  });

  it("runs a pod to Ready with an exec readiness probe, and deletes it", async () => {
    const pod = f.pod("remote", {
      containers: [
        {
          name: "app",
          image: f.image,
          imagePullPolicy: "Never",
          command: ["sh", "-c", "touch /tmp/ready; sleep 1000"],
          readinessProbe: { exec: { command: ["cat", "/tmp/ready"] }, periodSeconds: 1 },
        },
      ],
    });
    await f.manager.apply(pod, { kind: "api" });
    const ready = await f.waitForPod(
      "remote",
      (p) => p.status.conditions.some((c) => c.type === "Ready" && c.status === "True"),
      "the pod becomes Ready",
    );
    expect(ready.status.phase).toBe("Running");
    expect(ready.status.containerStatuses[0]?.containerID).toMatch(/^berth:\/\/[0-9a-f]{64}$/);
    const listed = await f.harness.cri.runtime.listContainers({});
    expect(listed.containers.map((c) => c.metadata?.name)).toContain("app");
    await f.manager.delete("default", "remote", 0);
    expect(f.manager.get("default", "remote")).toBeUndefined();
  });
});
