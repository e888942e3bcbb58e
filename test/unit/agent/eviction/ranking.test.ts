import { describe, expect, it } from "vitest";
import {
  podRequestBytes,
  podUsageFromSnapshot,
  rankForDisk,
  rankForMemory,
  rankForPids,
} from "../../../../agent/eviction/ranking.js";
import { Mi, pod, snapshot } from "./fixtures.js";

const names = (pods: { metadata: { name: string } }[]): string[] => pods.map((p) => p.metadata.name);

describe("memory ranking (the kubelet's rankMemoryPressure)", () => {
  it("puts a pod above its request before one below it, whatever the sizes", () => {
    const below = pod("below-requests", { priority: -1, containers: [{ requests: { memory: "200Mi" } }] });
    const exceeds = pod("exceeds-requests", { priority: 1, containers: [{ requests: { memory: "100Mi" } }] });
    const usage = podUsageFromSnapshot(
      snapshot([
        { pod: "below-requests", memory: 199 * Mi },
        { pod: "exceeds-requests", memory: 101 * Mi },
      ]),
    );
    // Priority alone would put "below" first; exceeding the request comes before priority.
    expect(names(rankForMemory([below, exceeds], usage))).toEqual(["exceeds-requests", "below-requests"]);
  });

  it("orders by usage above request, largest first, among pods of one priority (kubelet's TestOrderedbyMemory)", () => {
    const bestEffort = {};
    const burstable = { containers: [{ requests: { memory: "100Mi" }, limits: { memory: "1Gi" } }] };
    const guaranteed = {
      containers: [{ requests: { memory: "1Gi", cpu: "1" }, limits: { memory: "1Gi", cpu: "1" } }],
    };
    const pods = [
      pod("best-effort-high", bestEffort),
      pod("best-effort-low", bestEffort),
      pod("burstable-high", burstable),
      pod("burstable-low", burstable),
      pod("guaranteed-high", guaranteed),
      pod("guaranteed-low", guaranteed),
    ];
    const usage = podUsageFromSnapshot(
      snapshot([
        { pod: "best-effort-high", memory: 500 * Mi }, // 500Mi above its request
        { pod: "best-effort-low", memory: 300 * Mi }, // 300Mi
        { pod: "burstable-high", memory: 800 * Mi }, // 700Mi
        { pod: "burstable-low", memory: 300 * Mi }, // 200Mi
        { pod: "guaranteed-high", memory: 800 * Mi }, // -224Mi
        { pod: "guaranteed-low", memory: 200 * Mi }, // -824Mi
      ]),
    );
    expect(names(rankForMemory(pods, usage))).toEqual([
      "burstable-high",
      "best-effort-high",
      "best-effort-low",
      "burstable-low",
      "guaranteed-high",
      "guaranteed-low",
    ]);
  });

  it("among pods above their requests, evicts lower priority first, then the larger excess", () => {
    const pods = [
      pod("high-prio-big", { priority: 1000 }),
      pod("low-prio-small", { priority: 0 }),
      pod("low-prio-big", { priority: 0 }),
      pod("within-request", { priority: -5, containers: [{ requests: { memory: "1Gi" } }] }),
    ];
    const usage = podUsageFromSnapshot(
      snapshot([
        { pod: "high-prio-big", memory: 900 * Mi },
        { pod: "low-prio-small", memory: 10 * Mi },
        { pod: "low-prio-big", memory: 400 * Mi },
        { pod: "within-request", memory: 500 * Mi },
      ]),
    );
    expect(names(rankForMemory(pods, usage))).toEqual([
      "low-prio-big",
      "low-prio-small",
      "high-prio-big",
      "within-request",
    ]);
  });

  it("puts a pod without stats first: what cannot be measured is not trusted to be small", () => {
    const measured = pod("measured");
    const unmeasured = pod("unmeasured", { containers: [{ requests: { memory: "1Gi" } }] });
    const usage = podUsageFromSnapshot(snapshot([{ pod: "measured", memory: 900 * Mi }]));
    expect(names(rankForMemory([measured, unmeasured], usage))).toEqual(["unmeasured", "measured"]);
  });

  it("measures a pod by its pod cgroup where it has one, else by its containers summed", () => {
    const usage = podUsageFromSnapshot(
      snapshot(
        [
          { pod: "a", name: "x", memory: 10 * Mi },
          { pod: "a", name: "y", memory: 20 * Mi },
          { pod: "b", memory: 5 * Mi },
        ],
        0,
        [{ pod: "b", memory: 70 * Mi, pids: 9 }],
      ),
    );
    expect(usage(pod("a"))?.memoryWorkingSetBytes).toBe(30 * Mi);
    expect(usage(pod("b"))?.memoryWorkingSetBytes).toBe(70 * Mi);
    expect(usage(pod("b"))?.processes).toBe(9);
    expect(usage(pod("c"))).toBeUndefined();
  });
});

describe("pod requests as the kubelet sums them", () => {
  it("adds app containers and takes the larger of that and the biggest init container", () => {
    const spec = pod("p", {
      containers: [{ requests: { memory: "100Mi" } }, { requests: { memory: "50Mi" } }],
      initContainers: [
        { name: "i0", requests: { memory: "120Mi" } },
        { name: "i1", requests: { memory: "200Mi" } },
      ],
    }).spec;
    expect(podRequestBytes(spec, "memory")).toBe(200 * Mi);
    const small = pod("q", {
      containers: [{ requests: { memory: "100Mi" } }],
      initContainers: [{ name: "i", requests: { memory: "10Mi" } }],
    }).spec;
    expect(podRequestBytes(small, "memory")).toBe(100 * Mi);
    expect(podRequestBytes(small, "ephemeralStorage")).toBe(0);
  });
});

describe("disk ranking (the kubelet's rankDiskPressureFunc)", () => {
  it("orders by ephemeral usage above the ephemeral-storage request (kubelet's TestOrderedbyDisk)", () => {
    const req = (r: string): { containers: { requests: Record<string, string> }[] } => ({
      containers: [{ requests: { "ephemeral-storage": r } }],
    });
    const pods = [
      pod("best-effort-high"),
      pod("best-effort-low"),
      pod("burstable-high", req("100Mi")),
      pod("burstable-low", req("100Mi")),
      pod("guaranteed-high", req("400Mi")),
      pod("guaranteed-low", req("400Mi")),
    ];
    const usage = podUsageFromSnapshot(
      snapshot([
        { pod: "best-effort-high", rootfs: 150 * Mi, logs: 150 * Mi }, // 300Mi above request
        { pod: "best-effort-low", rootfs: 50 * Mi, logs: 50 * Mi }, // 100Mi
        { pod: "burstable-high", rootfs: 300 * Mi, logs: 50 * Mi }, // 250Mi
        { pod: "burstable-low", rootfs: 60 * Mi, logs: 50 * Mi }, // 10Mi
        { pod: "guaranteed-high", rootfs: 325 * Mi, logs: 50 * Mi }, // -25Mi
        { pod: "guaranteed-low", rootfs: 70 * Mi, logs: 50 * Mi }, // -280Mi
      ]),
    );
    expect(names(rankForDisk(pods, usage, { parts: ["rootfs", "logs"], unit: "bytes" }))).toEqual([
      "best-effort-high",
      "burstable-high",
      "best-effort-low",
      "burstable-low",
      "guaranteed-high",
      "guaranteed-low",
    ]);
  });

  it("measures only the parts on the pressured filesystem, and inodes against no request", () => {
    const pods = [
      pod("big-logs", { containers: [{ requests: { "ephemeral-storage": "1Gi" } }] }),
      pod("big-rootfs"),
    ];
    const usage = podUsageFromSnapshot(
      snapshot([
        { pod: "big-logs", rootfs: 1, logs: 500 * Mi, rootfsInodes: 1, logsInodes: 2 },
        { pod: "big-rootfs", rootfs: 400 * Mi, logs: 1, rootfsInodes: 5000, logsInodes: 1 },
      ]),
    );
    // Logs only (a dedicated image fs holds the writable layers): both exceed nothing but
    // big-logs is below its 1Gi request while big-rootfs (BestEffort) is above its 0.
    expect(names(rankForDisk(pods, usage, { parts: ["logs"], unit: "bytes" }))).toEqual([
      "big-rootfs",
      "big-logs",
    ]);
    expect(names(rankForDisk(pods, usage, { parts: ["rootfs", "logs"], unit: "inodes" }))).toEqual([
      "big-rootfs",
      "big-logs",
    ]);
  });
});

describe("pid ranking (the kubelet's rankPIDPressure)", () => {
  it("takes lower priority first, then the pod with most processes", () => {
    const pods = [
      pod("few", { priority: 0 }),
      pod("many", { priority: 0 }),
      pod("many-but-important", { priority: 10 }),
    ];
    const usage = podUsageFromSnapshot(
      snapshot([
        { pod: "few", pids: 3 },
        { pod: "many", pids: 300 },
        { pod: "many-but-important", pids: 3000 },
      ]),
    );
    expect(names(rankForPids(pods, usage))).toEqual(["many", "few", "many-but-important"]);
  });
});
