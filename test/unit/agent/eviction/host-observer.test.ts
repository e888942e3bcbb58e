import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HostObserver } from "../../../../agent/eviction/host-observer.js";
import type { CgroupLayout } from "../../../../cgroups/detect.js";
import { silentLogger } from "../../../../common/logger.js";

const HYBRID: CgroupLayout = {
  mode: "hybrid",
  unifiedDir: "unified",
  v1Mounts: { memory: "memory", cpuacct: "cpu,cpuacct", cpu: "cpu,cpuacct" },
  ownV1: {},
  ownV2: "/",
};
const UNIFIED: CgroupLayout = { mode: "unified", unifiedDir: "", v1Mounts: {}, ownV1: {}, ownV2: "/" };

const MEMINFO = [
  "MemTotal:        4000000 kB",
  "MemFree:         1000000 kB",
  "MemAvailable:    2500000 kB",
  "Inactive(file):   500000 kB",
].join("\n");

let dir: string;

async function put(path: string, text: string): Promise<void> {
  await mkdir(join(dir, path, ".."), { recursive: true });
  await writeFile(join(dir, path), text);
}

function observer(layout: CgroupLayout, podsCgroup?: string): HostObserver {
  return new HostObserver({
    layout,
    cgroupMountRoot: join(dir, "cgroup"),
    procRoot: join(dir, "proc"),
    stateDir: join(dir, "state"),
    imagesDir: join(dir, "state", "images"),
    ...(podsCgroup && { podsCgroup }),
    clock: { now: () => 42, nowNanos: () => 42_000_000n },
    statFs: async (path) =>
      path.endsWith("images")
        ? { capacityBytes: 1000, availableBytes: 100, inodes: 10, inodesFree: 1 }
        : { capacityBytes: 2000, availableBytes: 500, inodes: 20, inodesFree: 15 },
    deviceOf: async (path) => (path.endsWith("images") ? 2 : 1),
    logger: silentLogger(),
  });
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-host-observer-"));
  await put("proc/meminfo", MEMINFO);
  await put("proc/sys/kernel/pid_max", "32768\n");
  await put("proc/sys/kernel/threads-max", "20000\n");
  await put("proc/loadavg", "0.10 0.20 0.30 2/517 12345\n");
  await put(
    "proc/pressure/memory",
    "some avg10=1.00 avg60=0.50 avg300=0.10 total=10\nfull avg10=0.75 avg60=0.25 avg300=0.05 total=5\n",
  );
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("host readings for eviction", () => {
  it("on cgroup v1 takes the root memory cgroup's working set (usage - total_inactive_file)", async () => {
    await put("cgroup/memory/memory.usage_in_bytes", String(3_000_000 * 1024));
    await put("cgroup/memory/memory.stat", `inactive_file 1\ntotal_inactive_file ${1_000_000 * 1024}\n`);
    const r = await observer(HYBRID).read();
    expect(r.memory).toEqual({
      capacityBytes: 4_000_000 * 1024,
      workingSetBytes: 2_000_000 * 1024,
      source: "root memory cgroup",
    });
    expect(r.timeMs).toBe(42);
  });

  it("on cgroup v1 falls back to MemAvailable when the root memory cgroup cannot be read", async () => {
    const r = await observer(HYBRID).read();
    expect(r.memory).toEqual({
      capacityBytes: 4_000_000 * 1024,
      availableBytes: 2_500_000 * 1024,
      source: "/proc/meminfo MemAvailable",
    });
  });

  it("on cgroup v2 takes MemTotal - MemFree less the root's inactive_file", async () => {
    await put("cgroup/memory.stat", `anon 1\ninactive_file ${200_000 * 1024}\n`);
    const r = await observer(UNIFIED).read();
    expect(r.memory).toMatchObject({ capacityBytes: 4_000_000 * 1024, workingSetBytes: 2_800_000 * 1024 });
  });

  it("reads pids as min(pid_max, threads-max) against the tasks in /proc/loadavg", async () => {
    const r = await observer(HYBRID).read();
    expect(r.pids).toEqual({ max: 20000, running: 517 });
  });

  it("reads the filesystems and tells a dedicated image filesystem apart", async () => {
    const r = await observer(HYBRID).read();
    expect(r.nodeFs).toEqual({ capacityBytes: 2000, availableBytes: 500, inodes: 20, inodesFree: 15 });
    expect(r.imageFs?.availableBytes).toBe(100);
    expect(r.dedicatedImageFs).toBe(true);
  });

  it("takes PSI from the pods' cgroup where it exists, else from the host", async () => {
    expect((await observer(HYBRID, "/berth/pods").read()).psiMemoryFullAvg10).toEqual({
      percent: 0.75,
      source: "/proc/pressure/memory",
    });
    await put(
      "cgroup/unified/berth/pods/memory.pressure",
      "some avg10=50.00 avg60=0 avg300=0 total=1\nfull avg10=42.50 avg60=0 avg300=0 total=1\n",
    );
    expect((await observer(HYBRID, "/berth/pods").read()).psiMemoryFullAvg10).toEqual({
      percent: 42.5,
      source: "/berth/pods memory.pressure",
    });
  });

  it("leaves a signal it cannot read unobserved instead of failing the pass", async () => {
    await rm(join(dir, "proc", "loadavg"));
    await rm(join(dir, "proc", "pressure"), { recursive: true });
    const r = await observer(HYBRID).read();
    expect(r.pids).toBeUndefined();
    expect(r.psiMemoryFullAvg10).toBeUndefined();
    expect(r.memory).toBeDefined();
  });
});
