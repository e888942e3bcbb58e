import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Clock } from "../../../common/clock.js";
import { FailedPreconditionError, NotFoundError } from "../../../common/errors.js";
import { detectLayout } from "../../../cgroups/detect.js";
import {
  watchOomKills,
  type OomKillEvent,
  type OomWatcher,
  type Timers,
} from "../../../cgroups/oom-watcher.js";
import {
  HYBRID_MOUNTINFO,
  HYBRID_PROC_CGROUP,
  UNIFIED_MOUNTINFO,
  UNIFIED_PROC_CGROUP,
  makeTempRoot,
  removeTempRoot,
  writeTree,
} from "./fixtures.js";

const unified = detectLayout({ mountinfo: UNIFIED_MOUNTINFO, procCgroup: UNIFIED_PROC_CGROUP });
const hybrid = detectLayout({ mountinfo: HYBRID_MOUNTINFO, procCgroup: HYBRID_PROC_CGROUP });
const clock: Clock = { now: () => 42_000, nowNanos: () => 42_000_000_000n };

function memoryEvents(oomKill: number): string {
  return `low 0\nhigh 0\nmax ${oomKill * 3}\noom ${oomKill}\noom_kill ${oomKill}\noom_group_kill 0\n`;
}

function oomControl(oomKill: number): string {
  return `oom_kill_disable 0\nunder_oom 0\noom_kill ${oomKill}\n`;
}

/** Timers the test fires by hand. */
class ManualTimers implements Timers {
  private pending = new Map<number, { callback: () => void; ms: number }>();
  private next = 1;
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { callback, ms });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  get scheduled(): number[] {
    return [...this.pending.values()].map((timer) => timer.ms);
  }
  fire(): void {
    const timers = [...this.pending.values()];
    this.pending.clear();
    for (const timer of timers) timer.callback();
  }
}

const noWatch = (): never => {
  throw new Error("inotify unavailable");
};

let root: string;
let watcher: OomWatcher | undefined;
let events: OomKillEvent[];

beforeEach(async () => {
  root = await makeTempRoot();
  events = [];
});
afterEach(async () => {
  watcher?.close();
  watcher = undefined;
  await removeTempRoot(root);
});

describe("OOM watcher on cgroup v2", () => {
  const eventsFile = (): string => join(root, "pods/p1/memory.events");

  it("reports increases of oom_kill seen through a file watch, not the ones before it started", async () => {
    await writeTree(root, { "pods/p1/memory.events": memoryEvents(2) });
    watcher = await watchOomKills({
      layout: unified,
      root,
      path: "pods/p1",
      clock,
      onOomKill: (event) => events.push(event),
    });
    expect(watcher.mode).toBe("watch");
    await writeFile(eventsFile(), memoryEvents(3));
    await vi.waitFor(() => expect(events).toHaveLength(1), { timeout: 5000 });
    expect(events[0]).toEqual({ path: "pods/p1", oomKill: 1, total: 3, timestamp: 42_000 });
    await writeFile(eventsFile(), memoryEvents(5));
    await vi.waitFor(() => expect(events).toHaveLength(2), { timeout: 5000 });
    expect(events[1]).toMatchObject({ oomKill: 2, total: 5 });
  });

  it("stays silent when other counters change and after close()", async () => {
    await writeTree(root, { "pods/p1/memory.events": memoryEvents(1) });
    watcher = await watchOomKills({
      layout: unified,
      root,
      path: "pods/p1",
      onOomKill: (e) => events.push(e),
    });
    await writeFile(eventsFile(), memoryEvents(1).replace("high 0", "high 9"));
    await watcher.check();
    watcher.close();
    expect(watcher.mode).toBe("closed");
    await writeFile(eventsFile(), memoryEvents(4));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events).toEqual([]);
  });

  it("polls at the given interval when the file cannot be watched", async () => {
    await writeTree(root, { "pods/p1/memory.events": memoryEvents(0) });
    const timers = new ManualTimers();
    watcher = await watchOomKills({
      layout: unified,
      root,
      path: "pods/p1",
      pollIntervalMs: 250,
      timers,
      clock,
      watchFile: noWatch,
      onOomKill: (event) => events.push(event),
    });
    expect(watcher.mode).toBe("poll");
    expect(timers.scheduled).toEqual([250]);
    timers.fire();
    await watcher.check();
    expect(events).toEqual([]);
    await writeFile(eventsFile(), memoryEvents(1));
    timers.fire();
    await watcher.check();
    expect(events).toEqual([{ path: "pods/p1", oomKill: 1, total: 1, timestamp: 42_000 }]);
    watcher.close();
    expect(timers.scheduled).toEqual([]);
  });

  it("falls back to polling when the watch reports an error", async () => {
    await writeTree(root, { "pods/p1/memory.events": memoryEvents(0) });
    const timers = new ManualTimers();
    let failWatch: (err: unknown) => void = () => undefined;
    watcher = await watchOomKills({
      layout: unified,
      root,
      path: "pods/p1",
      timers,
      watchFile: (_file, _onChange, onError) => {
        failWatch = onError;
        return { close: () => undefined };
      },
      onOomKill: (event) => events.push(event),
    });
    expect(watcher.mode).toBe("watch");
    failWatch(new Error("EMFILE"));
    expect(watcher.mode).toBe("poll");
    expect(timers.scheduled).toEqual([1000]);
  });

  it("takes a smaller count as a recreated cgroup, and survives a throwing callback", async () => {
    await writeTree(root, { "pods/p1/memory.events": memoryEvents(5) });
    let calls = 0;
    watcher = await watchOomKills({
      layout: unified,
      root,
      path: "pods/p1",
      watchFile: noWatch,
      timers: new ManualTimers(),
      onOomKill: (event) => {
        calls++;
        events.push(event);
        throw new Error("callback failure");
      },
    });
    await writeFile(eventsFile(), memoryEvents(0));
    await watcher.check();
    expect(calls).toBe(0);
    await writeFile(eventsFile(), memoryEvents(1));
    await watcher.check();
    await writeFile(eventsFile(), memoryEvents(2));
    await watcher.check();
    expect(events.map((event) => [event.oomKill, event.total])).toEqual([
      [1, 1],
      [1, 2],
    ]);
  });

  it("stops once the cgroup is gone", async () => {
    await writeTree(root, { "pods/p1/memory.events": memoryEvents(0) });
    watcher = await watchOomKills({
      layout: unified,
      root,
      path: "pods/p1",
      watchFile: noWatch,
      timers: new ManualTimers(),
      onOomKill: (event) => events.push(event),
    });
    await rm(join(root, "pods/p1"), { recursive: true });
    await watcher.check();
    expect(watcher.mode).toBe("closed");
  });

  it("refuses a missing cgroup and one without memory accounting", async () => {
    const start = (path: string) =>
      watchOomKills({ layout: unified, root, path, onOomKill: () => undefined });
    await expect(start("nope")).rejects.toBeInstanceOf(NotFoundError);
    await writeTree(root, { "nomem/cgroup.procs": "" });
    await expect(start("nomem")).rejects.toBeInstanceOf(FailedPreconditionError);
  });
});

describe("OOM watcher on cgroup v1", () => {
  it("polls memory.oom_control in the memory hierarchy", async () => {
    const file = join(root, "memory/process_api/d9dc5d6c/berth-x/memory.oom_control");
    await writeTree(root, { "memory/process_api/d9dc5d6c/berth-x/memory.oom_control": oomControl(1) });
    const timers = new ManualTimers();
    let watched = false;
    watcher = await watchOomKills({
      layout: hybrid,
      root,
      path: "berth-x",
      pollIntervalMs: 500,
      timers,
      clock,
      watchFile: () => {
        watched = true;
        return { close: () => undefined };
      },
      onOomKill: (event) => events.push(event),
    });
    expect(watched).toBe(false);
    expect(watcher.mode).toBe("poll");
    expect(timers.scheduled).toEqual([500]);
    await writeFile(file, oomControl(4));
    timers.fire();
    await watcher.check();
    expect(events).toEqual([{ path: "berth-x", oomKill: 3, total: 4, timestamp: 42_000 }]);
    // The next poll is scheduled only after the previous one finished.
    expect(timers.scheduled).toEqual([500]);
  });
});
