// berth's one stats collector: on one interval it reads the cgroup of every running
// container and of every pod, the host's CPU and memory, and the network counters of each
// pod's namespace, and keeps the latest sample of each in one cache. Everything that reports
// usage reads that cache, so the files are read once per interval however many readers ask.
//
// Disk usage (writable layers, logs, the image store) is a tree walk, far dearer than a few
// cgroup files, so it is measured less often and off the pass's critical path: a pass uses
// the latest measurement and starts a new one in the background when one is due.
import { statfs } from "node:fs/promises";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import type { CgroupStats, CgroupStatsReader } from "../../cgroups/stats.js";
import { systemClock, type Clock } from "../../common/clock.js";
import { NotFoundError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { measureTree, type FsUsage } from "../images/fs-usage.js";
import { cpuNanoCores } from "./cpu-rate.js";
import { ProcReader } from "./proc-files.js";
import type {
  ContainerSample,
  ContainerTarget,
  FsCapacity,
  FsUsageSample,
  NetworkSample,
  NodeSample,
  SandboxSample,
  SandboxTarget,
  StatsCatalog,
  StatsSnapshot,
} from "./types.js";

export interface IntervalTimer {
  /** Calls `tick` every `ms` until cancelled. */
  every(ms: number, tick: () => void): { cancel(): void };
}

/** setInterval, unref'd: a pending collection never keeps the process alive. */
export const nodeIntervalTimer: IntervalTimer = {
  every(ms, tick) {
    const handle = setInterval(tick, ms);
    handle.unref();
    return { cancel: () => clearInterval(handle) };
  },
};

export interface ImageFsSource {
  /** The image store's root: its filesystem is the image fs. */
  readonly mountpoint: string;
  usage(): Promise<FsUsage>;
}

export interface StatsCollectorOptions {
  readonly catalog: StatsCatalog;
  readonly reader: Pick<CgroupStatsReader, "read">;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Default 10 s. */
  readonly intervalMs?: number;
  readonly timer?: IntervalTimer;
  /** Disk usage is measured every this many passes (default 6: once a minute at 10 s). */
  readonly fsEveryPasses?: number;
  /** Cgroups read at once (default 16): enough to hide latency, few enough not to starve other I/O. */
  readonly concurrency?: number;
  readonly proc?: Pick<ProcReader, "stat" | "memory" | "netDev">;
  readonly measureTree?: (path: string) => Promise<FsUsage>;
  readonly statFs?: (path: string) => Promise<FsCapacity>;
  /** The filesystem of berth's state (the node fs of /stats/summary). */
  readonly rootFsPath?: string;
  readonly imageFs?: ImageFsSource;
  /** Where writable layers live; CRI names their filesystem by this mountpoint. */
  readonly writableLayerMountpoint?: string;
  /** Host CPUs; default os.cpus().length. */
  readonly cpuCores?: number;
}

export type SnapshotListener = (snapshot: StatsSnapshot) => void;

interface ContainerFs {
  readonly writableLayer?: FsUsageSample;
  readonly logs?: FsUsageSample;
}

interface NodeFs {
  readonly rootFs?: NodeSample["rootFs"];
  readonly imageFs?: NodeSample["imageFs"];
}

const EMPTY_SNAPSHOT: StatsSnapshot = { containers: new Map(), sandboxes: new Map(), passSeconds: 0 };

export async function statFsCapacity(path: string): Promise<FsCapacity> {
  const st = await statfs(path);
  return {
    capacityBytes: st.blocks * st.bsize,
    availableBytes: st.bavail * st.bsize,
    inodes: st.files,
    inodesFree: st.ffree,
  };
}

export class StatsCollector {
  readonly intervalMs: number;
  readonly writableLayerMountpoint: string;
  private readonly catalog: StatsCatalog;
  private readonly reader: Pick<CgroupStatsReader, "read">;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly timer: IntervalTimer;
  private readonly fsEveryPasses: number;
  private readonly concurrency: number;
  private readonly proc: Pick<ProcReader, "stat" | "memory" | "netDev">;
  private readonly measure: (path: string) => Promise<FsUsage>;
  private readonly statFs: (path: string) => Promise<FsCapacity>;
  private readonly rootFsPath?: string;
  private readonly imageFs?: ImageFsSource;
  private readonly cpuCores: number;

  private snapshot: StatsSnapshot = EMPTY_SNAPSHOT;
  private containerFs = new Map<string, ContainerFs>();
  private nodeFs: NodeFs = {};
  private passes = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private tickInFlight = false;
  private fsInFlight?: Promise<void>;
  private ticking?: { cancel(): void };
  private readonly listeners = new Set<SnapshotListener>();

  constructor(opts: StatsCollectorOptions) {
    this.catalog = opts.catalog;
    this.reader = opts.reader;
    this.logger = opts.logger;
    this.clock = opts.clock ?? systemClock;
    this.intervalMs = opts.intervalMs ?? 10_000;
    this.timer = opts.timer ?? nodeIntervalTimer;
    this.fsEveryPasses = Math.max(1, opts.fsEveryPasses ?? 6);
    this.concurrency = Math.max(1, opts.concurrency ?? 16);
    this.proc = opts.proc ?? new ProcReader();
    this.measure = opts.measureTree ?? measureTree;
    this.statFs = opts.statFs ?? statFsCapacity;
    this.rootFsPath = opts.rootFsPath;
    this.imageFs = opts.imageFs;
    this.writableLayerMountpoint = opts.writableLayerMountpoint ?? "";
    this.cpuCores = opts.cpuCores ?? cpus().length;
  }

  /** Collects once now, then every interval. */
  start(): void {
    if (this.ticking) return;
    this.ticking = this.timer.every(this.intervalMs, () => this.tick());
    this.tick();
  }

  /** Stops the interval and waits for the work in flight. */
  async stop(): Promise<void> {
    this.ticking?.cancel();
    this.ticking = undefined;
    await this.queue.catch(() => undefined);
    await this.fsInFlight;
  }

  /**
   * A fresh pass, disk usage included, that starts after this call: what it returns covers
   * every container running when it was called.
   */
  collectNow(): Promise<StatsSnapshot> {
    return this.enqueue(() => this.pass(true));
  }

  latest(containerId: string): ContainerSample | undefined {
    return this.snapshot.containers.get(containerId);
  }

  latestSandbox(sandboxId: string): SandboxSample | undefined {
    return this.snapshot.sandboxes.get(sandboxId);
  }

  /**
   * The cached samples of these containers and, for a running one that no pass has sampled yet
   * (it started after the last one), one read from its cgroup now, with the pass's bounded
   * concurrency. Not cached: the next pass's rate is still measured over a whole interval. An
   * entry is undefined for a container never sampled that is not running, or whose cgroup
   * cannot be read.
   */
  async containerSamples(targets: readonly ContainerTarget[]): Promise<(ContainerSample | undefined)[]> {
    return this.mapBounded(targets, async (t) => {
      const cached = this.latest(t.id);
      return cached || !t.running ? cached : await this.sampleContainer(t, undefined);
    });
  }

  /** As containerSamples, for pods: a ready pod not sampled yet is read now. */
  async sandboxSamples(targets: readonly SandboxTarget[]): Promise<(SandboxSample | undefined)[]> {
    return this.mapBounded(targets, async (t) => {
      const cached = this.latestSandbox(t.id);
      return cached || !t.ready ? cached : await this.sampleSandbox(t, undefined);
    });
  }

  /** The whole cache as of the last pass. */
  all(): StatsSnapshot {
    return this.snapshot;
  }

  /** Called after every pass with the new cache; returns the unsubscribe function. */
  onSample(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private tick(): void {
    // A pass slower than the interval skips ticks instead of piling up behind itself.
    if (this.tickInFlight) return;
    this.tickInFlight = true;
    this.enqueue(() => this.pass(false))
      .catch((err: unknown) => this.logger.warn({ err }, "stats collection failed"))
      .finally(() => (this.tickInFlight = false));
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async pass(waitForFs: boolean): Promise<StatsSnapshot> {
    const containers = this.catalog.containers().filter((c) => c.running);
    // A stopped pod has nothing left to use; its cgroup may linger until removal.
    const sandboxes = this.catalog.sandboxes().filter((s) => s.ready);
    const fsDue =
      waitForFs ||
      this.passes % this.fsEveryPasses === 0 ||
      containers.some((c) => !this.containerFs.has(c.id));
    this.passes++;
    if (waitForFs) {
      await this.fsInFlight;
      await this.refreshFs(containers);
    } else if (fsDue && this.fsInFlight === undefined) {
      const refresh = this.refreshFs(containers)
        .catch((err: unknown) => this.logger.warn({ err }, "disk usage measurement failed"))
        .finally(() => {
          if (this.fsInFlight === refresh) this.fsInFlight = undefined;
        });
      this.fsInFlight = refresh;
    }

    const started = performance.now();
    const previous = this.snapshot;
    const [containerSamples, sandboxSamples, node] = await Promise.all([
      this.readAll(containers, (t) => this.sampleContainer(t, previous.containers.get(t.id))),
      this.readAll(sandboxes, (t) => this.sampleSandbox(t, previous.sandboxes.get(t.id))),
      this.sampleNode(previous.node),
    ]);
    const passSeconds = (performance.now() - started) / 1000;

    const live = new Set(containers.map((c) => c.id));
    for (const id of this.containerFs.keys()) if (!live.has(id)) this.containerFs.delete(id);
    this.snapshot = {
      containers: new Map(containerSamples.map((s) => [s.target.id, s])),
      sandboxes: new Map(sandboxSamples.map((s) => [s.target.id, s])),
      ...(node && { node }),
      passSeconds,
    };
    this.publish(this.snapshot);
    return this.snapshot;
  }

  private publish(snapshot: StatsSnapshot): void {
    for (const listener of this.listeners) {
      try {
        listener(snapshot);
      } catch (err) {
        this.logger.warn({ err }, "stats listener failed");
      }
    }
  }

  /** Maps targets with bounded concurrency, dropping those that yield nothing. */
  private async readAll<T, S>(
    targets: readonly T[],
    read: (target: T) => Promise<S | undefined>,
  ): Promise<S[]> {
    return (await this.mapBounded(targets, read)).filter((r): r is S => r !== undefined);
  }

  /** Maps targets with bounded concurrency, in order. */
  private async mapBounded<T, S>(
    targets: readonly T[],
    read: (target: T) => Promise<S | undefined>,
  ): Promise<(S | undefined)[]> {
    const results: (S | undefined)[] = new Array<S | undefined>(targets.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < targets.length) {
        const index = next++;
        results[index] = await read(targets[index] as T);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, targets.length) }, worker));
    return results;
  }

  /** undefined when the cgroup is gone (the container exited or was removed mid-pass). */
  private async readCgroup(path: string, owner: string): Promise<CgroupStats | undefined> {
    try {
      return await this.reader.read(path);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      this.logger.warn({ err, owner, cgroup: path }, "cannot read cgroup stats");
      return undefined;
    }
  }

  private async sampleContainer(
    target: ContainerTarget,
    previous: ContainerSample | undefined,
  ): Promise<ContainerSample | undefined> {
    const stats = await this.readCgroup(target.cgroupPath, target.id);
    if (!stats) return undefined;
    const rate = cpuNanoCores(previous && cpuReading(previous.stats), cpuReading(stats));
    const fs = this.containerFs.get(target.id);
    return {
      target,
      stats,
      ...(rate !== undefined && { cpuNanoCores: rate }),
      ...(fs?.writableLayer && { writableLayer: fs.writableLayer }),
      ...(fs?.logs && { logs: fs.logs }),
    };
  }

  private async sampleSandbox(
    target: SandboxTarget,
    previous: SandboxSample | undefined,
  ): Promise<SandboxSample | undefined> {
    const [stats, network] = await Promise.all([
      this.readCgroup(target.cgroupPath, target.id),
      this.sampleNetwork(target),
    ]);
    if (!stats) return undefined;
    const rate = cpuNanoCores(previous && cpuReading(previous.stats), cpuReading(stats));
    return {
      target,
      stats,
      ...(rate !== undefined && { cpuNanoCores: rate }),
      ...(network && { network }),
    };
  }

  private async sampleNetwork(target: SandboxTarget): Promise<NetworkSample | undefined> {
    if (!target.ownNetwork || !target.infraPid) return undefined;
    try {
      const timestampMs = this.clock.now();
      const interfaces = await this.proc.netDev(target.infraPid);
      return interfaces && { timestampMs, interfaces };
    } catch (err) {
      this.logger.debug({ err, sandbox: target.id }, "cannot read pod network counters");
      return undefined;
    }
  }

  private async sampleNode(previous: NodeSample | undefined): Promise<NodeSample | undefined> {
    try {
      const timestampMs = this.clock.now();
      const [stat, memory] = await Promise.all([this.proc.stat(), this.proc.memory()]);
      const rate = cpuNanoCores(
        previous && { usageNanos: previous.cpu.usageNanos, timestampMs: previous.timestampMs },
        {
          usageNanos: stat.busyNanos,
          timestampMs,
        },
      );
      return {
        timestampMs,
        bootTimeMs: stat.bootTimeMs,
        cpuCores: this.cpuCores,
        cpu: { usageNanos: stat.busyNanos, ...(rate !== undefined && { nanoCores: rate }) },
        memory,
        ...(this.nodeFs.rootFs && { rootFs: this.nodeFs.rootFs }),
        ...(this.nodeFs.imageFs && { imageFs: this.nodeFs.imageFs }),
      };
    } catch (err) {
      this.logger.warn({ err }, "cannot read host usage");
      return undefined;
    }
  }

  private async refreshFs(containers: readonly ContainerTarget[]): Promise<void> {
    const measured = await this.readAll(containers, async (target) => {
      const [writableLayer, logs] = await Promise.all([
        target.writableLayerDir ? this.measureFs(target.writableLayerDir, target.id) : undefined,
        target.logPath ? this.measureFs(target.logPath, target.id) : undefined,
      ]);
      const fs: ContainerFs = { ...(writableLayer && { writableLayer }), ...(logs && { logs }) };
      return [target.id, fs] as const;
    });
    for (const [id, fs] of measured) this.containerFs.set(id, fs);
    this.nodeFs = await this.measureNodeFs();
  }

  private async measureFs(path: string, owner: string): Promise<FsUsageSample | undefined> {
    try {
      const timestampMs = this.clock.now();
      const usage = await this.measure(path);
      return { timestampMs, usedBytes: usage.bytes, inodesUsed: usage.inodes };
    } catch (err) {
      this.logger.debug({ err, owner, path }, "cannot measure disk usage");
      return undefined;
    }
  }

  private async measureNodeFs(): Promise<NodeFs> {
    const rootFs = this.rootFsPath
      ? await this.statFs(this.rootFsPath)
          .then((c) => ({ ...c, mountpoint: this.rootFsPath ?? "" }))
          .catch(() => undefined)
      : undefined;
    let imageFs: NodeFs["imageFs"];
    if (this.imageFs) {
      try {
        const timestampMs = this.clock.now();
        const [capacity, usage] = await Promise.all([
          this.statFs(this.imageFs.mountpoint),
          this.imageFs.usage(),
        ]);
        imageFs = {
          ...capacity,
          timestampMs,
          usedBytes: usage.bytes,
          inodesUsed: usage.inodes,
          mountpoint: this.imageFs.mountpoint,
        };
      } catch (err) {
        this.logger.debug({ err }, "cannot measure the image filesystem");
      }
    }
    return { ...(rootFs && { rootFs }), ...(imageFs && { imageFs }) };
  }
}

function cpuReading(stats: CgroupStats): { usageNanos: number; timestampMs: number } {
  return { usageNanos: stats.cpu.usageNanos, timestampMs: stats.timestamp };
}
