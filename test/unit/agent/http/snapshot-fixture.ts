// A hand-made stats cache: one pod ("web" in "shop") with two containers, and the host.
import type { StatsSnapshot } from "../../../../cri/stats/types.js";
import { cgroupStats, containerTarget, sandboxTarget } from "../../cri/stats/fakes.js";

export const T = 1_700_000_010_000; // 2023-11-14T22:13:30Z

export function snapshotFixture(): StatsSnapshot {
  const app = containerTarget("aaa", { name: "app" });
  const sidecar = containerTarget("bbb", { name: "sidecar", image: "envoy:1" });
  return {
    containers: new Map([
      [
        "aaa",
        {
          target: app,
          stats: cgroupStats({
            timestamp: T,
            cpuNanos: 12.5e9,
            workingSet: 40 << 20,
            limit: 128 << 20,
            pids: 3,
            oom: 1,
            psi: true,
          }),
          cpuNanoCores: 250_000_000,
          writableLayer: { timestampMs: T, usedBytes: 8192, inodesUsed: 5 },
          logs: { timestampMs: T, usedBytes: 1024, inodesUsed: 1 },
        },
      ],
      ["bbb", { target: sidecar, stats: cgroupStats({ timestamp: T, cpuNanos: 1e9, workingSet: 1 << 20 }) }],
    ]),
    sandboxes: new Map([
      [
        "sb1",
        {
          target: sandboxTarget("sb1"),
          stats: cgroupStats({ timestamp: T, cpuNanos: 13.5e9, workingSet: 41 << 20, pids: 5 }),
          cpuNanoCores: 300_000_000,
          network: {
            timestampMs: T,
            interfaces: [{ name: "eth0", rxBytes: 1000, rxErrors: 0, txBytes: 2000, txErrors: 1 }],
          },
        },
      ],
    ]),
    node: {
      timestampMs: T,
      bootTimeMs: 1_600_000_000_000,
      cpuCores: 2,
      cpu: { usageNanos: 99e9, nanoCores: 1_200_000_000 },
      memory: {
        totalBytes: 8 * 2 ** 30,
        availableBytes: 6 * 2 ** 30,
        usageBytes: 2 * 2 ** 30,
        workingSetBytes: 2 ** 30,
        rssBytes: 512 << 20,
        pageFaults: 10,
        majorPageFaults: 1,
      },
      rootFs: {
        mountpoint: "/var/lib/berth",
        capacityBytes: 100e9,
        availableBytes: 60e9,
        inodes: 1000,
        inodesFree: 900,
      },
      imageFs: {
        mountpoint: "/var/lib/berth/images",
        capacityBytes: 100e9,
        availableBytes: 60e9,
        inodes: 1000,
        inodesFree: 900,
        timestampMs: T,
        usedBytes: 5e6,
        inodesUsed: 40,
      },
    },
    passSeconds: 0.004,
  };
}
