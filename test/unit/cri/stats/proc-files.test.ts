import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ProcReader,
  hostMemory,
  parseMeminfo,
  parseNetDev,
  parseProcStat,
  parseVmstat,
} from "../../../../cri/stats/proc-files.js";

const PROC_STAT = `cpu  1000 50 300 90000 200 10 20 5 40 0
cpu0 500 25 150 45000 100 5 10 2 20 0
intr 123 0 0
ctxt 456
btime 1700000000
processes 789
`;

const MEMINFO = `MemTotal:        8000000 kB
MemFree:         2000000 kB
MemAvailable:    5000000 kB
Buffers:          100000 kB
Inactive(file):  1000000 kB
AnonPages:        700000 kB
HugePages_Total:       0
`;

const VMSTAT = `nr_free_pages 500000
pgfault 123456
pgmajfault 789
`;

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    1234      10    0    0    0     0          0         0     1234      10    0    0    0     0       0          0
  eth0:  987654     100    2    0    0     0          0         0   123456      90    1    0    0     0       0          0
`;

describe("/proc parsing", () => {
  it("sums busy CPU ticks (not idle, iowait or guest) into nanoseconds, and reads the boot time", () => {
    const stat = parseProcStat(PROC_STAT);
    // user + nice + system + irq + softirq + steal = 1385 ticks at 100 Hz.
    expect(stat.busyNanos).toBe(13.85e9);
    expect(stat.bootTimeMs).toBe(1_700_000_000_000);
  });

  it("reads meminfo in bytes and derives usage and working set", () => {
    const meminfo = parseMeminfo(MEMINFO);
    expect(meminfo.get("MemTotal")).toBe(8_000_000 * 1024);
    expect(meminfo.get("HugePages_Total")).toBe(0);
    const memory = hostMemory(meminfo, parseVmstat(VMSTAT));
    expect(memory).toEqual({
      totalBytes: 8_000_000 * 1024,
      availableBytes: 5_000_000 * 1024,
      usageBytes: 6_000_000 * 1024,
      workingSetBytes: 5_000_000 * 1024,
      rssBytes: 700_000 * 1024,
      pageFaults: 123456,
      majorPageFaults: 789,
    });
  });

  it("reads interfaces from net/dev, leaving loopback out", () => {
    expect(parseNetDev(NET_DEV)).toEqual([
      { name: "eth0", rxBytes: 987654, rxErrors: 2, txBytes: 123456, txErrors: 1 },
    ]);
    expect(parseNetDev("garbage\n  x: 1 2 3\n")).toEqual([]);
  });
});

describe("ProcReader", () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "berth-proc-"));
    await mkdir(join(root, "77", "net"), { recursive: true });
    await writeFile(join(root, "stat"), PROC_STAT);
    await writeFile(join(root, "meminfo"), MEMINFO);
    await writeFile(join(root, "vmstat"), VMSTAT);
    await writeFile(join(root, "77", "net", "dev"), NET_DEV);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("reads a /proc tree", async () => {
    const proc = new ProcReader(root);
    expect((await proc.stat()).bootTimeMs).toBe(1_700_000_000_000);
    expect((await proc.memory()).pageFaults).toBe(123456);
    expect((await proc.netDev(77))?.[0]?.name).toBe("eth0");
  });

  it("answers undefined for a process that is gone", async () => {
    expect(await new ProcReader(root).netDev(78)).toBeUndefined();
  });

  it("reads this host's /proc", async () => {
    const proc = new ProcReader();
    const [stat, memory] = await Promise.all([proc.stat(), proc.memory()]);
    expect(stat.busyNanos).toBeGreaterThan(0);
    expect(stat.bootTimeMs).toBeLessThan(Date.now());
    expect(memory.totalBytes).toBeGreaterThan(memory.workingSetBytes);
    expect(await proc.netDev(process.pid)).toBeInstanceOf(Array);
  });
});
