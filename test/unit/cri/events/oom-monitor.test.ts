import { describe, expect, it } from "vitest";
import type { OomKillEvent, OomWatcher, OomWatcherOptions, Timers } from "../../../../cgroups/oom-watcher.js";
import { detectLayout } from "../../../../cgroups/detect.js";
import type { CgroupStats } from "../../../../cgroups/stats.js";
import { silentLogger } from "../../../../common/logger.js";
import type { ProcessLiveness } from "../../../../cri/events/oom-classify.js";
import { OomMonitor, formatBytes, oomMessage } from "../../../../cri/events/oom-monitor.js";
import type { OomEvent } from "../../../../cri/events/types.js";
import { UNIFIED_MOUNTINFO, UNIFIED_PROC_CGROUP } from "../../cgroups/fixtures.js";

const layout = detectLayout({ mountinfo: UNIFIED_MOUNTINFO, procCgroup: UNIFIED_PROC_CGROUP });
const MiB = 1024 * 1024;

class ManualTimers implements Timers {
  private pending = new Map<number, () => void>();
  private next = 1;
  setTimeout(callback: () => void, _ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, callback);
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  get count(): number {
    return this.pending.size;
  }
  fireAll(): void {
    const callbacks = [...this.pending.values()];
    this.pending.clear();
    for (const callback of callbacks) callback();
  }
}

/** A watcher whose counter the test moves: `kill()` reports at once, `killQuietly()` only at the next check. */
class FakeWatcher implements OomWatcher {
  mode: "watch" | "poll" | "closed" = "watch";
  private total = 0;
  private unseen = 0;
  constructor(private readonly options: OomWatcherOptions) {}
  kill(count = 1, timestamp = 1_000): void {
    this.total += count;
    this.options.onOomKill({ path: this.options.path, oomKill: count, total: this.total, timestamp });
  }
  killQuietly(count = 1): void {
    this.unseen += count;
  }
  async check(): Promise<void> {
    if (this.unseen === 0 || this.mode === "closed") return;
    const event: OomKillEvent = {
      path: this.options.path,
      oomKill: this.unseen,
      total: this.total + this.unseen,
      timestamp: 2_000,
    };
    this.total += this.unseen;
    this.unseen = 0;
    this.options.onOomKill(event);
  }
  close(): void {
    this.mode = "closed";
  }
}

function setup(options: { liveness?: ProcessLiveness } = {}) {
  const timers = new ManualTimers();
  const watchers = new Map<string, FakeWatcher>();
  const liveness = { state: options.liveness ?? ("alive" as ProcessLiveness) };
  const events: OomEvent[] = [];
  const monitor = new OomMonitor({
    layout,
    logger: silentLogger(),
    clock: { now: () => 5_000, nowNanos: () => 5_000_000_000n },
    timers,
    settleMs: 100,
    reader: {
      read: async () =>
        ({ memory: { usageBytes: 3 * MiB, limitBytes: 64 * MiB, peakBytes: 64 * MiB } }) as CgroupStats,
    },
    watch: async (opts) => {
      const watcher = new FakeWatcher(opts);
      watchers.set(opts.path, watcher);
      return watcher;
    },
    liveness: async () => liveness.state,
  });
  monitor.onOom((event) => events.push(event));
  const subject = { id: "c1", sandboxId: "s1", cgroupsPath: "/berth/pod/c1", pid: 4242 };
  return { timers, watchers, liveness, events, monitor, subject };
}

describe("OomMonitor", () => {
  it("reports a kill the main process survived as process-killed, with the figures", async () => {
    const { timers, watchers, events, monitor, subject } = setup();
    await monitor.track(subject);
    watchers.get(subject.cgroupsPath)?.kill(2);
    expect(events).toEqual([]); // not before the main process was looked at
    timers.fireAll();
    await monitor.idle();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      containerId: "c1",
      sandboxId: "s1",
      kind: "process-killed",
      kills: 2,
      time: 1_000,
      memoryLimitBytes: 64 * MiB,
      memoryUsageBytes: 3 * MiB,
      memoryPeakBytes: 64 * MiB,
    });
    expect(events[0]?.message).toMatch(/killed 2 processes .* main process is still running/);
    expect(monitor.counts().get("c1")).toEqual({ containerKills: 0, processKills: 2 });

    // A later stop with SIGKILL is not an OOM kill, whatever conmon's sticky file says.
    expect(await monitor.mainProcessKilled(subject, { exitCode: 137, oomKilled: true })).toBe(false);
    await monitor.exited({ ...subject, exitCode: 137, reason: "Error" });
    expect(events).toHaveLength(1);
  });

  it("calls it a container kill when the main process dies of it", async () => {
    const { timers, watchers, liveness, events, monitor, subject } = setup();
    await monitor.track(subject);
    watchers.get(subject.cgroupsPath)?.kill(1);
    liveness.state = "exiting";
    timers.fireAll();
    await monitor.idle();
    expect(events).toEqual([]); // dying: the exit decides
    expect(timers.count).toBe(1); // and it looks again later

    expect(await monitor.mainProcessKilled(subject, { exitCode: 137, oomKilled: false })).toBe(true);
    await monitor.exited({ ...subject, exitCode: 137, reason: "OOMKilled" });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      kind: "container-killed",
      kills: 1,
      time: 1_000,
      memoryLimitBytes: 64 * MiB,
    });
    expect(events[0]?.message).toMatch(/main process was killed by the kernel's OOM killer/);
    expect(monitor.counts().get("c1")).toEqual({ containerKills: 1, processKills: 0 });
    expect(watchers.get(subject.cgroupsPath)?.mode).toBe("closed");
    expect(timers.count).toBe(0);
  });

  it("reads the counter once more when the exit is seen before the kill", async () => {
    const { watchers, events, monitor, subject } = setup();
    await monitor.track(subject);
    watchers.get(subject.cgroupsPath)?.killQuietly(1);
    expect(await monitor.mainProcessKilled(subject, { exitCode: 137, oomKilled: false })).toBe(true);
    await monitor.exited({ ...subject, exitCode: 137, reason: "OOMKilled" });
    expect(events.map((e) => e.kind)).toEqual(["container-killed"]);
  });

  it("does not call a stop with SIGKILL an OOM kill", async () => {
    const { events, monitor, subject } = setup();
    await monitor.track(subject);
    expect(await monitor.mainProcessKilled(subject, { exitCode: 137, oomKilled: false })).toBe(false);
    await monitor.exited({ ...subject, exitCode: 137, reason: "Error" });
    expect(events).toEqual([]);
    expect(monitor.counts().get("c1")).toEqual({ containerKills: 0, processKills: 0 });
  });

  it("puts kills before another kind of exit down to other processes", async () => {
    const { watchers, events, monitor, subject } = setup();
    await monitor.track(subject);
    watchers.get(subject.cgroupsPath)?.kill(1);
    expect(await monitor.mainProcessKilled(subject, { exitCode: 1, oomKilled: true })).toBe(false);
    await monitor.exited({ ...subject, exitCode: 1, reason: "Error" });
    expect(events.map((e) => e.kind)).toEqual(["process-killed"]);
  });

  it("has no opinion on containers it does not watch, and counts what conmon reported", async () => {
    const { events, monitor, subject } = setup();
    expect(await monitor.mainProcessKilled(subject, { exitCode: 137, oomKilled: true })).toBeUndefined();
    await monitor.exited({ ...subject, exitCode: 137, reason: "OOMKilled" });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      kind: "container-killed",
      kills: 1,
      time: 5_000,
      memoryLimitBytes: 64 * MiB,
    });
    expect(monitor.counts().get("c1")).toEqual({ containerKills: 1, processKills: 0 });
  });

  it("forgets a removed container's counts but keeps the totals", async () => {
    const { timers, watchers, monitor, subject } = setup();
    await monitor.track(subject);
    watchers.get(subject.cgroupsPath)?.kill(3);
    timers.fireAll();
    await monitor.idle();
    monitor.forget("c1");
    expect(monitor.counts().has("c1")).toBe(false);
    expect(monitor.totalCounts()).toEqual({ containerKills: 0, processKills: 3 });
    expect(watchers.get(subject.cgroupsPath)?.mode).toBe("closed");
  });

  it("keeps going when a listener throws", async () => {
    const { timers, watchers, events, monitor, subject } = setup();
    monitor.onOom(() => {
      throw new Error("listener bug");
    });
    await monitor.track(subject);
    watchers.get(subject.cgroupsPath)?.kill(1);
    timers.fireAll();
    await monitor.idle();
    expect(events).toHaveLength(1);
  });
});

describe("oomMessage", () => {
  it("names the kind and the numbers it has", () => {
    expect(oomMessage("process-killed", 1, { limitBytes: 64 * MiB })).toBe(
      "the kernel's OOM killer killed a process in the container; the main process is still running (memory limit 64.0 MiB)",
    );
    expect(oomMessage("container-killed", 1, undefined)).toBe(
      "the container's main process was killed by the kernel's OOM killer: out of memory",
    );
  });

  it("formats bytes in binary units", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(3 * 1024 * MiB)).toBe("3.0 GiB");
  });
});
