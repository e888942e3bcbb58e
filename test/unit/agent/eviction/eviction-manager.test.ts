import { describe, expect, it } from "vitest";
import {
  defaultEvictionConfig,
  parseEvictionConfig,
  type EvictionConfig,
} from "../../../../agent/eviction/config.js";
import { EvictionManager, isEvictionExempt } from "../../../../agent/eviction/eviction-manager.js";
import type { HostReadings } from "../../../../agent/eviction/signals.js";
import type { PodStatusView } from "../../../../agent/pods/pod-manager-api.js";
import { silentLogger } from "../../../../common/logger.js";
import type { StatsSnapshot } from "../../../../cri/stats/types.js";
import {
  ManualTime,
  Mi,
  flush,
  pod,
  podSpec,
  podView,
  snapshot,
  type ContainerUsageSpec,
} from "./fixtures.js";

const Gi = 1024 * Mi;

interface Evicted {
  name: string;
  message: string;
  signal: string;
  gracePeriodSeconds: number | undefined;
}

class Harness {
  readonly time = new ManualTime();
  readings: Omit<HostReadings, "timeMs"> = {
    memory: { capacityBytes: 4 * Gi, workingSetBytes: 1 * Gi, source: "test" },
    nodeFs: { capacityBytes: 100 * Gi, availableBytes: 50 * Gi, inodes: 1000, inodesFree: 900 },
    imageFs: { capacityBytes: 100 * Gi, availableBytes: 50 * Gi, inodes: 1000, inodesFree: 900 },
    dedicatedImageFs: false,
  };
  pods: PodStatusView[] = [];
  stats: StatsSnapshot = snapshot([]);
  readonly evicted: Evicted[] = [];
  readonly reclaimed: string[] = [];
  failEvictionOf = new Set<string>();
  /** What each reclaim step does to the readings. */
  onReclaim: Partial<Record<"containers" | "images", () => void>> = {};
  private sampleListener?: (s: StatsSnapshot) => void;
  readonly manager: EvictionManager;

  constructor(config: EvictionConfig = defaultEvictionConfig()) {
    this.manager = new EvictionManager({
      policy: parseEvictionConfig(config),
      pods: { list: () => this.pods },
      stats: {
        all: () => this.stats,
        onSample: (listener) => {
          this.sampleListener = listener;
          return () => (this.sampleListener = undefined);
        },
      },
      host: { read: async () => ({ ...this.readings, timeMs: this.time.now }) },
      reclaimer: {
        deleteDeadContainers: async () => {
          this.reclaimed.push("containers");
          this.onReclaim.containers?.();
          return 2;
        },
        deleteUnusedImages: async () => {
          this.reclaimed.push("images");
          this.onReclaim.images?.();
          return 3;
        },
      },
      evictPod: async (p, message, signal, gracePeriodSeconds) => {
        if (this.failEvictionOf.has(p.metadata.name)) throw new Error("kill failed");
        this.evicted.push({ name: p.metadata.name, message, signal, gracePeriodSeconds });
        this.pods = this.pods.map((x) =>
          x.metadata.uid === p.metadata.uid
            ? { ...x, status: { ...x.status, phase: "Failed", reason: "Evicted" } }
            : x,
        );
      },
      logger: silentLogger(),
      clock: this.time.clock,
      timers: this.time,
    });
  }

  memoryAvailable(bytes: number): void {
    this.readings = {
      ...this.readings,
      memory: { capacityBytes: 4 * Gi, workingSetBytes: 4 * Gi - bytes, source: "test" },
    };
  }

  /** A stats pass: usage as given, sampled now. */
  sample(usages: ContainerUsageSpec[]): void {
    this.stats = snapshot(usages, this.time.now);
    this.sampleListener?.(this.stats);
  }
}

describe("eviction under memory pressure", () => {
  it("evicts the BestEffort hog at once on a hard threshold, with the kubelet's message", async () => {
    const h = new Harness();
    h.pods = [
      pod("web", { containers: [{ name: "app", requests: { memory: "1Gi" } }] }),
      pod("hog", { containers: [{ name: "eater" }] }),
      pod("small", { containers: [{ name: "tiny" }] }),
    ];
    h.sample([
      { pod: "web", name: "app", memory: 900 * Mi },
      { pod: "hog", name: "eater", memory: 2 * Gi },
      { pod: "small", name: "tiny", memory: 20 * Mi },
    ]);
    h.memoryAvailable(80 * Mi);
    const outcome = await h.manager.synchronize();
    expect(outcome.kind).toBe("evicted");
    expect(h.evicted).toEqual([
      {
        name: "hog",
        signal: "memory.available",
        gracePeriodSeconds: 0,
        message:
          "The node was low on resource: memory. Threshold quantity: 100Mi, available: 80Mi. Container eater was using 2Gi, request is 0.",
      },
    ]);
    expect(h.reclaimed).toEqual([]); // nothing to reclaim for memory
    expect([...h.manager.pressureConditions()]).toEqual(["MemoryPressure"]);
    expect(h.manager.counters().evictions).toEqual({ "memory.available": 1 });
  });

  it("evicts one pod per pass and waits for a stats pass that shows the eviction before the next", async () => {
    const h = new Harness();
    h.pods = [pod("a"), pod("b")];
    h.sample([
      { pod: "a", memory: 2 * Gi },
      { pod: "b", memory: 1 * Gi },
    ]);
    h.memoryAvailable(50 * Mi);
    await h.manager.synchronize();
    expect(h.evicted.map((e) => e.name)).toEqual(["a"]);

    await h.time.advance(1000);
    const waiting = await h.manager.synchronize();
    expect(waiting).toEqual({ kind: "waiting", why: "no stats pass since the last eviction" });
    expect(h.evicted).toHaveLength(1);

    // A stats pass after the eviction: still short of memory, so the next pod goes.
    h.sample([{ pod: "b", memory: 1 * Gi }]);
    await h.manager.synchronize();
    expect(h.evicted.map((e) => e.name)).toEqual(["a", "b"]);
  });

  it("waits out a soft threshold's grace period, then grants the pod at most maxPodGracePeriodSeconds", async () => {
    const config = defaultEvictionConfig();
    config.soft["memory.available"] = "1Gi";
    config.softGracePeriod["memory.available"] = "1m";
    config.maxPodGracePeriodSeconds = 20;
    const h = new Harness(config);
    h.pods = [pod("slow", { terminationGracePeriodSeconds: 60 })];
    h.sample([{ pod: "slow", memory: 3 * Gi }]);
    h.memoryAvailable(512 * Mi);

    expect((await h.manager.synchronize()).kind).toBe("idle");
    // The condition shows at once, before the grace period is over.
    expect([...h.manager.pressureConditions()]).toEqual(["MemoryPressure"]);
    await h.time.advance(59_000);
    expect((await h.manager.synchronize()).kind).toBe("idle");
    await h.time.advance(1000);
    expect((await h.manager.synchronize()).kind).toBe("evicted");
    expect(h.evicted[0]).toMatchObject({ name: "slow", gracePeriodSeconds: 20 });
    expect(h.evicted[0]?.message).toMatch(
      /^The node was low on resource: memory\. Threshold quantity: 1Gi, available: 512Mi\./,
    );
  });

  it("starts the grace period over when the signal recovers in between", async () => {
    const config = defaultEvictionConfig();
    config.soft["memory.available"] = "1Gi";
    config.softGracePeriod["memory.available"] = "1m";
    const h = new Harness(config);
    h.pods = [pod("p")];
    h.sample([{ pod: "p", memory: 3 * Gi }]);
    h.memoryAvailable(512 * Mi);
    await h.manager.synchronize();
    await h.time.advance(40_000);
    h.memoryAvailable(2 * Gi);
    await h.manager.synchronize();
    await h.time.advance(10_000);
    h.memoryAvailable(512 * Mi);
    await h.manager.synchronize();
    await h.time.advance(40_000);
    expect((await h.manager.synchronize()).kind).toBe("idle");
    await h.time.advance(20_000);
    expect((await h.manager.synchronize()).kind).toBe("evicted");
  });

  it("never evicts critical pods, and evicts ordinary static pods", async () => {
    const h = new Harness();
    const critical = pod("critical", { priority: 2_000_000_000 });
    const nodeCriticalStatic = podView(
      podSpec("node-critical-static", { priorityClassName: "system-node-critical" }),
      { kind: "file", path: "/etc/berth/manifests/n.yaml" },
    );
    const ordinaryStatic = podView(podSpec("static"), { kind: "file", path: "/etc/berth/manifests/s.yaml" });
    expect(isEvictionExempt(critical)).toBe(true);
    expect(isEvictionExempt(nodeCriticalStatic)).toBe(true);
    expect(isEvictionExempt(ordinaryStatic)).toBe(false);

    h.pods = [critical, nodeCriticalStatic, ordinaryStatic];
    h.sample([
      { pod: "critical", memory: 3 * Gi },
      { pod: "node-critical-static", memory: 2 * Gi },
      { pod: "static", memory: 10 * Mi },
    ]);
    h.memoryAvailable(10 * Mi);
    await h.manager.synchronize();
    expect(h.evicted.map((e) => e.name)).toEqual(["static"]);

    h.pods = [critical, nodeCriticalStatic];
    await h.time.advance(1000);
    h.sample([{ pod: "critical", memory: 3 * Gi }]);
    const outcome = await h.manager.synchronize();
    expect(outcome).toEqual({ kind: "nothing-to-evict", signal: "memory.available" });
    expect(h.evicted).toHaveLength(1);
  });

  it("tries the next pod when an eviction fails, and leaves finished pods alone", async () => {
    const h = new Harness();
    h.pods = [
      pod("stubborn"),
      pod("next"),
      podView(podSpec("done"), { kind: "api" }, { phase: "Succeeded" }),
    ];
    h.sample([
      { pod: "stubborn", memory: 3 * Gi },
      { pod: "next", memory: 1 * Gi },
      { pod: "done", memory: 3.5 * Gi },
    ]);
    h.failEvictionOf.add("stubborn");
    h.memoryAvailable(10 * Mi);
    await h.manager.synchronize();
    expect(h.evicted.map((e) => e.name)).toEqual(["next"]);
    expect(h.manager.counters().evictionFailures).toBe(1);
  });

  it("keeps MemoryPressure for the transition period after the last observation, telling listeners of changes", async () => {
    const h = new Harness();
    const seen: string[][] = [];
    h.manager.onConditionsChange((c) => seen.push([...c]));
    h.memoryAvailable(50 * Mi); // no pods: nothing to evict, but pressure all the same
    await h.manager.synchronize();
    h.memoryAvailable(3 * Gi);
    await h.time.advance(4 * 60_000);
    await h.manager.synchronize();
    expect([...h.manager.pressureConditions()]).toEqual(["MemoryPressure"]);
    await h.time.advance(60_000);
    await h.manager.synchronize();
    expect([...h.manager.pressureConditions()]).toEqual([]);
    expect(seen).toEqual([["MemoryPressure"], []]);
  });
});

describe("eviction under disk pressure", () => {
  it("reclaims dead containers and unused images first, and evicts nothing when that was enough", async () => {
    const h = new Harness();
    h.pods = [pod("writer")];
    h.sample([{ pod: "writer", rootfs: 5 * Gi, logs: 1 * Gi }]);
    h.readings = {
      ...h.readings,
      nodeFs: { capacityBytes: 100 * Gi, availableBytes: 5 * Gi, inodes: 1000, inodesFree: 900 },
    };
    h.onReclaim.images = () => {
      h.readings = {
        ...h.readings,
        nodeFs: { capacityBytes: 100 * Gi, availableBytes: 30 * Gi, inodes: 1000, inodesFree: 900 },
      };
    };
    const outcome = await h.manager.synchronize();
    expect(outcome).toEqual({ kind: "reclaimed", signal: "nodefs.available" });
    expect(h.reclaimed).toEqual(["containers", "images"]);
    expect(h.evicted).toEqual([]);
    expect(h.manager.counters()).toMatchObject({ deadContainersRemoved: 2, imagesRemoved: 3 });
    expect([...h.manager.pressureConditions()]).toEqual(["DiskPressure"]);
  });

  it("evicts by ephemeral usage when reclaim did not free enough", async () => {
    const h = new Harness();
    h.pods = [
      pod("quiet", { containers: [{ name: "q", requests: { "ephemeral-storage": "10Gi" } }] }),
      pod("writer", { containers: [{ name: "w" }] }),
    ];
    h.sample([
      { pod: "quiet", name: "q", rootfs: 8 * Gi, logs: 0 },
      { pod: "writer", name: "w", rootfs: 5 * Gi, logs: 1 * Gi },
    ]);
    h.readings = {
      ...h.readings,
      nodeFs: { capacityBytes: 100 * Gi, availableBytes: 5 * Gi, inodes: 1000, inodesFree: 900 },
    };
    const outcome = await h.manager.synchronize();
    expect(outcome.kind).toBe("evicted");
    expect(h.reclaimed).toEqual(["containers", "images"]);
    expect(h.evicted[0]).toMatchObject({
      name: "writer",
      signal: "nodefs.available",
      message:
        "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 5Gi. Container w was using 6Gi, request is 0.",
    });
  });

  it("with a dedicated image filesystem, reclaims only containers for the node fs", async () => {
    const h = new Harness();
    h.readings = {
      ...h.readings,
      dedicatedImageFs: true,
      nodeFs: { capacityBytes: 100 * Gi, availableBytes: 100 * Gi, inodes: 1000, inodesFree: 10 },
    };
    h.onReclaim.containers = () => {
      h.readings = {
        ...h.readings,
        nodeFs: { capacityBytes: 100 * Gi, availableBytes: 100 * Gi, inodes: 1000, inodesFree: 500 },
      };
    };
    expect(await h.manager.synchronize()).toEqual({ kind: "reclaimed", signal: "nodefs.inodesFree" });
    expect(h.reclaimed).toEqual(["containers"]);
  });
});

describe("triggers and admission", () => {
  it("runs a pass at start, after every stats pass and on its interval", async () => {
    const h = new Harness();
    h.manager.start();
    await flush();
    expect(h.manager.counters().passes).toBe(1);
    h.sample([]);
    await flush();
    expect(h.manager.counters().passes).toBe(2);
    await h.time.advance(10_000);
    expect(h.manager.counters().passes).toBe(3);
    await h.manager.stop();
    h.sample([]);
    await h.time.advance(30_000);
    expect(h.manager.counters().passes).toBe(3);
  });

  it("refuses BestEffort pods under memory pressure and every ordinary pod under disk pressure", async () => {
    const h = new Harness();
    const bestEffort = pod("be");
    const burstable = pod("bu", { containers: [{ requests: { memory: "10Mi" } }] });
    const staticPod = podView(podSpec("st"), { kind: "file", path: "/m/st.yaml" });
    expect(h.manager.admit(bestEffort)).toEqual({ admit: true });

    h.memoryAvailable(50 * Mi);
    await h.manager.synchronize();
    expect(h.manager.admit(bestEffort)).toEqual({
      admit: false,
      reason: "Evicted",
      message: "The node had condition: [MemoryPressure].",
    });
    expect(h.manager.admit(burstable)).toEqual({ admit: true });
    expect(h.manager.admit(staticPod)).toEqual({ admit: true });

    h.readings = {
      ...h.readings,
      nodeFs: { capacityBytes: 100 * Gi, availableBytes: 1 * Gi, inodes: 1000, inodesFree: 900 },
    };
    await h.manager.synchronize();
    expect(h.manager.admit(burstable)).toEqual({
      admit: false,
      reason: "Evicted",
      message: "The node had condition: [DiskPressure MemoryPressure].",
    });
  });
});
