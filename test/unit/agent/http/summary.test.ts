import { describe, expect, it } from "vitest";
import { buildSummary, rfc3339 } from "../../../../agent/http/summary.js";
import { snapshotFixture } from "./snapshot-fixture.js";
import { cgroupStats, containerTarget } from "../../cri/stats/fakes.js";

describe("/stats/summary", () => {
  it("times are RFC 3339 at second precision", () => {
    expect(rfc3339(1_700_000_010_999)).toBe("2023-11-14T22:13:30Z");
  });

  it("describes the node: cpu, memory, fs, image fs, start time", () => {
    const { node } = buildSummary(snapshotFixture(), { nodeName: "n1" });
    expect(node).toEqual({
      nodeName: "n1",
      startTime: "2020-09-13T12:26:40Z",
      cpu: { time: "2023-11-14T22:13:30Z", usageNanoCores: 1_200_000_000, usageCoreNanoSeconds: 99e9 },
      memory: {
        time: "2023-11-14T22:13:30Z",
        availableBytes: 6 * 2 ** 30,
        usageBytes: 2 * 2 ** 30,
        workingSetBytes: 2 ** 30,
        rssBytes: 512 * 2 ** 20,
        pageFaults: 10,
        majorPageFaults: 1,
      },
      fs: {
        time: "2023-11-14T22:13:30Z",
        availableBytes: 60e9,
        capacityBytes: 100e9,
        usedBytes: 40e9,
        inodesFree: 900,
        inodes: 1000,
        inodesUsed: 100,
      },
      runtime: {
        imageFs: {
          time: "2023-11-14T22:13:30Z",
          availableBytes: 60e9,
          capacityBytes: 100e9,
          usedBytes: 5e6,
          inodesFree: 900,
          inodes: 1000,
          inodesUsed: 40,
        },
      },
    });
  });

  it("lists each pod with its ref, usage, network, process count and named containers", () => {
    const { pods } = buildSummary(snapshotFixture(), { nodeName: "n1" });
    expect(pods).toHaveLength(1);
    const pod = pods[0]!;
    expect(pod.podRef).toEqual({ name: "web", namespace: "shop", uid: "uid-web" });
    expect(pod.startTime).toBe(rfc3339(1_699_998_000_000));
    expect(pod.cpu).toMatchObject({ usageNanoCores: 300_000_000, usageCoreNanoSeconds: 13.5e9 });
    expect(pod.memory?.workingSetBytes).toBe(41 << 20);
    expect(pod.network).toMatchObject({ name: "eth0", rxBytes: 1000, txErrors: 1 });
    expect(pod.process_stats).toEqual({ process_count: 5 });
    expect(pod.containers.map((c) => c.name)).toEqual(["app", "sidecar"]);
    const app = pod.containers[0]!;
    expect(app).toMatchObject({
      name: "app",
      startTime: rfc3339(1_699_999_001_000),
      cpu: { usageNanoCores: 250_000_000, usageCoreNanoSeconds: 12.5e9 },
      memory: {
        availableBytes: (128 << 20) - (40 << 20),
        workingSetBytes: 40 << 20,
        rssBytes: 1000,
        pageFaults: 50,
        majorPageFaults: 2,
      },
      rootfs: { usedBytes: 8192, inodesUsed: 5, capacityBytes: 100e9 },
      logs: { usedBytes: 1024, inodesUsed: 1 },
    });
    // The sidecar has no limit (no availableBytes) and no disk usage measured yet.
    expect(pod.containers[1]?.memory?.availableBytes).toBeUndefined();
    expect(pod.containers[1]?.rootfs).toBeUndefined();
    expect(pod["ephemeral-storage"]).toMatchObject({ usedBytes: 9216, inodesUsed: 6 });
  });

  it("lists a container whose pod cgroup could not be read under its pod's name", () => {
    const snapshot = snapshotFixture();
    (snapshot.sandboxes as Map<string, unknown>).clear();
    const orphan = containerTarget("zzz", {
      sandboxId: "sb9",
      pod: { name: "api", namespace: "a", uid: "u9" },
    });
    (snapshot.containers as Map<string, unknown>).set("zzz", { target: orphan, stats: cgroupStats() });
    const { pods } = buildSummary(snapshot, { nodeName: "n1" });
    expect(pods.map((p) => p.podRef.name)).toEqual(["api", "web"]);
    expect(pods[0]?.cpu).toBeUndefined();
    expect(pods[0]?.containers.map((c) => c.name)).toEqual(["c-zzz"]);
  });

  it("is valid with an empty cache", () => {
    expect(
      buildSummary({ containers: new Map(), sandboxes: new Map(), passSeconds: 0 }, { nodeName: "n" }),
    ).toEqual({
      node: { nodeName: "n" },
      pods: [],
    });
  });
});
