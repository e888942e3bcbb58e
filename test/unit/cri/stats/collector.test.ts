import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../../common/logger.js";
import { StatsCollector, type StatsCollectorOptions } from "../../../../cri/stats/collector.js";
import type { StatsSnapshot } from "../../../../cri/stats/types.js";
import {
  FakeCatalog,
  FakeClock,
  FakeProc,
  FakeReader,
  ManualTimer,
  cgroupStats,
  containerTarget,
  sandboxTarget,
} from "./fakes.js";

function setup(extra: Partial<StatsCollectorOptions> = {}) {
  const catalog = new FakeCatalog([containerTarget("a"), containerTarget("b")], [sandboxTarget("sb1")]);
  const reader = new FakeReader();
  const clock = new FakeClock();
  const proc = new FakeProc();
  const timer = new ManualTimer();
  const measured: string[] = [];
  const collector = new StatsCollector({
    catalog,
    reader,
    logger: silentLogger(),
    clock,
    proc,
    timer,
    intervalMs: 10_000,
    cpuCores: 4,
    measureTree: async (path) => {
      measured.push(path);
      return { bytes: 8192, inodes: 3 };
    },
    statFs: async () => ({ capacityBytes: 100e9, availableBytes: 60e9, inodes: 1e6, inodesFree: 9e5 }),
    rootFsPath: "/var/lib/berth",
    imageFs: { mountpoint: "/var/lib/berth/images", usage: async () => ({ bytes: 5e6, inodes: 40 }) },
    writableLayerMountpoint: "/var/lib/berth/snapshots",
    ...extra,
  });
  const put = (path: string, n: Parameters<typeof cgroupStats>[0]) =>
    reader.cgroups.set(path, cgroupStats(n));
  return { catalog, reader, clock, proc, timer, measured, collector, put };
}

describe("StatsCollector", () => {
  it("computes the CPU rate from the previous sample of the same cgroup", async () => {
    const { collector, put } = setup();
    put("pods/pod-sb1/a", { timestamp: 1000, cpuNanos: 1e9 });
    put("pods/pod-sb1/b", { timestamp: 1000, cpuNanos: 0 });
    put("pods/pod-sb1", { timestamp: 1000, cpuNanos: 1e9 });
    await collector.collectNow();
    expect(collector.latest("a")?.cpuNanoCores).toBeUndefined();

    // 10 s later: a used 5 s of CPU (half a core), b used 20 s (two cores).
    put("pods/pod-sb1/a", { timestamp: 11_000, cpuNanos: 6e9 });
    put("pods/pod-sb1/b", { timestamp: 11_000, cpuNanos: 20e9 });
    put("pods/pod-sb1", { timestamp: 11_000, cpuNanos: 26e9 });
    await collector.collectNow();
    expect(collector.latest("a")?.cpuNanoCores).toBe(500_000_000);
    expect(collector.latest("b")?.cpuNanoCores).toBe(2_000_000_000);
    expect(collector.latestSandbox("sb1")?.cpuNanoCores).toBe(2_500_000_000);
  });

  it("gives no rate when the counter went back (a recreated cgroup)", async () => {
    const { collector, put } = setup();
    put("pods/pod-sb1/a", { timestamp: 1000, cpuNanos: 9e9 });
    await collector.collectNow();
    put("pods/pod-sb1/a", { timestamp: 2000, cpuNanos: 1e9 });
    await collector.collectNow();
    expect(collector.latest("a")?.stats.cpu.usageNanos).toBe(1e9);
    expect(collector.latest("a")?.cpuNanoCores).toBeUndefined();
  });

  it("drops removed and stopped containers from the cache", async () => {
    const { collector, catalog, put } = setup();
    put("pods/pod-sb1/a", { cpuNanos: 1 });
    put("pods/pod-sb1/b", { cpuNanos: 1 });
    await collector.collectNow();
    expect([...collector.all().containers.keys()].sort()).toEqual(["a", "b"]);

    catalog.containerList = [containerTarget("a", { running: false })];
    await collector.collectNow();
    expect(collector.all().containers.size).toBe(0);
    expect(collector.latest("b")).toBeUndefined();
  });

  it("skips a cgroup that vanished mid-pass, and one it cannot read, without failing the pass", async () => {
    const { collector, reader, put } = setup();
    put("pods/pod-sb1/a", { cpuNanos: 1, workingSet: 42 });
    reader.failing.add("pods/pod-sb1");
    // b's cgroup is absent: NotFound from the reader.
    const snapshot = await collector.collectNow();
    expect([...snapshot.containers.keys()]).toEqual(["a"]);
    expect(snapshot.containers.get("a")?.stats.memory.workingSetBytes).toBe(42);
    expect(snapshot.sandboxes.size).toBe(0);
  });

  it("samples only ready pods, with their network counters", async () => {
    const { collector, catalog, put } = setup();
    catalog.sandboxList = [sandboxTarget("sb1"), sandboxTarget("sb2", { ready: false })];
    put("pods/pod-sb1", { pids: 3 });
    put("pods/pod-sb2", { pids: 1 });
    const snapshot = await collector.collectNow();
    expect([...snapshot.sandboxes.keys()]).toEqual(["sb1"]);
    expect(snapshot.sandboxes.get("sb1")?.network?.interfaces[0]?.name).toBe("eth0");
  });

  it("leaves network out for host-network pods", async () => {
    const { collector, catalog, put } = setup();
    catalog.sandboxList = [sandboxTarget("sb1", { ownNetwork: false })];
    put("pods/pod-sb1", {});
    const snapshot = await collector.collectNow();
    expect(snapshot.sandboxes.get("sb1")?.network).toBeUndefined();
  });

  it("measures writable layers, logs and the filesystems on collectNow", async () => {
    const { collector, put, measured } = setup();
    put("pods/pod-sb1/a", {});
    put("pods/pod-sb1/b", {});
    const snapshot = await collector.collectNow();
    expect(measured.sort()).toEqual([
      "/logs/a.log",
      "/logs/b.log",
      "/snapshots/a/upper",
      "/snapshots/b/upper",
    ]);
    expect(snapshot.containers.get("a")?.writableLayer).toMatchObject({ usedBytes: 8192, inodesUsed: 3 });
    expect(snapshot.containers.get("a")?.logs).toMatchObject({ usedBytes: 8192 });
    expect(snapshot.node?.imageFs).toMatchObject({
      mountpoint: "/var/lib/berth/images",
      usedBytes: 5e6,
      capacityBytes: 100e9,
    });
    expect(snapshot.node?.rootFs).toMatchObject({ mountpoint: "/var/lib/berth", availableBytes: 60e9 });
  });

  it("measures disk usage only every fsEveryPasses timer passes, and for new containers", async () => {
    const { collector, put, measured, timer, catalog } = setup({ fsEveryPasses: 3 });
    put("pods/pod-sb1/a", {});
    catalog.containerList = [containerTarget("a", { logPath: "" })];
    const passes: StatsSnapshot[] = [];
    collector.onSample((s) => passes.push(s));
    const settle = async (n: number) => {
      while (passes.length < n) await new Promise((r) => setTimeout(r, 1));
      await new Promise((r) => setTimeout(r, 5));
    };
    collector.start(); // pass 1 (due)
    await settle(1);
    expect(measured).toEqual(["/snapshots/a/upper"]);
    timer.fire(); // pass 2
    await settle(2);
    timer.fire(); // pass 3
    await settle(3);
    expect(measured).toHaveLength(1);
    timer.fire(); // pass 4: due again
    await settle(4);
    expect(measured).toHaveLength(2);

    put("pods/pod-sb1/c", {});
    catalog.containerList = [...catalog.containerList, containerTarget("c", { logPath: "" })];
    timer.fire(); // pass 5: c is new
    await settle(5);
    expect(measured).toContain("/snapshots/c/upper");
    await collector.stop();
  });

  it("samples the host: CPU rate, memory, boot time, cores", async () => {
    const { collector, proc, clock } = setup();
    proc.busyNanos = 100e9;
    await collector.collectNow();
    clock.ms += 2000;
    proc.busyNanos = 103e9;
    const node = (await collector.collectNow()).node;
    expect(node?.cpu.nanoCores).toBe(1_500_000_000);
    expect(node?.cpuCores).toBe(4);
    expect(node?.bootTimeMs).toBe(1_600_000_000_000);
    expect(node?.memory.totalBytes).toBe(8 * 2 ** 30);
  });

  it("tells listeners after every pass, and survives a listener that throws", async () => {
    const { collector, put } = setup();
    put("pods/pod-sb1/a", { workingSet: 7 });
    const seen: number[] = [];
    collector.onSample(() => {
      throw new Error("broken listener");
    });
    const unsubscribe = collector.onSample((s) =>
      seen.push(s.containers.get("a")?.stats.memory.workingSetBytes ?? -1),
    );
    await collector.collectNow();
    unsubscribe();
    await collector.collectNow();
    expect(seen).toEqual([7]);
  });

  it("collects on the interval, skips ticks while a pass runs, and stops ticking", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { collector, timer, reader, put } = setup();
    put("pods/pod-sb1/a", {});
    const slowRead = reader.read.bind(reader);
    reader.read = async (path) => {
      await gate;
      return slowRead(path);
    };
    collector.start();
    expect(timer.intervals).toEqual([10_000]);
    timer.fire();
    timer.fire();
    release();
    await collector.stop();
    // One pass (the immediate one at start) read 2 containers and 1 pod; the ticks found it busy.
    expect(reader.reads).toBe(3);
    expect(timer.ticks).toHaveLength(0);
  });

  it("collectNow waits for a pass in flight, then runs its own", async () => {
    const { collector, catalog, put } = setup();
    put("pods/pod-sb1/a", {});
    const first = collector.collectNow();
    put("pods/pod-sb1/z", {});
    catalog.containerList = [...catalog.containerList, containerTarget("z")];
    const second = collector.collectNow();
    await first;
    expect((await second).containers.has("z")).toBe(true);
  });
});
