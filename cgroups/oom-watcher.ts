// Watches one cgroup's OOM-kill counter and reports each increase. On cgroup v2 the kernel
// signals a modification of memory.events whenever a counter in it changes, so an inotify
// watch (fs.watch) wakes us at the moment of the kill; where a watch cannot be set up, and on
// v1 (memory.oom_control has no such notification), the counter is polled.
import { watch as fsWatch } from "node:fs";
import { join } from "node:path";
import { systemClock, type Clock } from "../common/clock.js";
import { FailedPreconditionError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { DEFAULT_CGROUP_ROOT, type CgroupLayout } from "./detect.js";
import { readOptionalFile, requireCgroupDir } from "./files.js";
import { resolveCgroupDirs } from "./paths.js";
import { parseFlatKeyed } from "./parse.js";

export interface OomKillEvent {
  readonly path: string;
  /** Kills since the previous report (or since the watcher started). */
  readonly oomKill: number;
  /** The cgroup's lifetime kill count. */
  readonly total: number;
  /** Milliseconds since the epoch when the increase was seen. */
  readonly timestamp: number;
}

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** What the watcher needs of fs.watch: a change callback and a way to stop. */
export interface FileWatch {
  close(): void;
}
export type WatchFile = (file: string, onChange: () => void, onError: (err: unknown) => void) => FileWatch;

export const nodeWatchFile: WatchFile = (file, onChange, onError) => {
  const watcher = fsWatch(file, { persistent: false }, () => onChange());
  watcher.on("error", onError);
  return watcher;
};

export interface OomWatcherOptions {
  readonly layout: CgroupLayout;
  /** berth cgroup path, resolved like every other (see resolveCgroupDirs). */
  readonly path: string;
  readonly onOomKill: (event: OomKillEvent) => void;
  readonly root?: string;
  /** Poll interval on v1, or on v2 when the file cannot be watched. */
  readonly pollIntervalMs?: number;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** How files are watched (fs.watch by default); one that throws forces polling. */
  readonly watchFile?: WatchFile;
  readonly logger?: Logger;
}

export interface OomWatcher {
  /** "watch" while the file is watched, "poll" while polled, "closed" after close() or once the cgroup is gone. */
  readonly mode: "watch" | "poll" | "closed";
  /** Reads the counter now and reports an increase; resolves when done. */
  check(): Promise<void>;
  close(): void;
}

export const DEFAULT_OOM_POLL_INTERVAL_MS = 1000;

interface CounterSource {
  readonly dir: string;
  readonly file: string;
  /** The kill counter's key in the file. */
  readonly key: string;
}

// A read that lacks the counter (a torn read of a rewritten fixture, a v1 kernel before 4.13)
// tells nothing, so it must not move the baseline.
function readCounter(text: string, key: string): number | undefined {
  return parseFlatKeyed(text).get(key);
}

function counterSource(layout: CgroupLayout, path: string, root: string): CounterSource {
  const dirs = resolveCgroupDirs(layout, path, root);
  if (layout.mode === "unified") {
    return { dir: dirs.unified ?? "", file: "memory.events", key: "oom_kill" };
  }
  const memoryDir = dirs.v1["memory"];
  if (memoryDir === undefined) {
    throw new FailedPreconditionError("the cgroup v1 memory hierarchy is not mounted");
  }
  return { dir: memoryDir, file: "memory.oom_control", key: "oom_kill" };
}

class CounterWatcher implements OomWatcher {
  mode: "watch" | "poll" | "closed" = "poll";
  private fileWatch: FileWatch | undefined;
  private pollHandle: unknown;
  private running: Promise<void> | undefined;
  private rerun = false;

  constructor(
    private readonly options: OomWatcherOptions,
    private readonly source: CounterSource,
    private lastTotal: number,
  ) {}

  start(): void {
    const watchFile = this.options.watchFile ?? nodeWatchFile;
    if (this.options.layout.mode === "unified") {
      try {
        this.fileWatch = watchFile(
          join(this.source.dir, this.source.file),
          () => void this.check(),
          (err) => this.fallBackToPolling(err),
        );
        this.mode = "watch";
        // A kill between the baseline read and the watch being set up would otherwise go unseen.
        void this.check();
        return;
      } catch (err) {
        this.options.logger?.debug({ err, dir: this.source.dir }, "cannot watch memory.events; polling");
      }
    }
    this.schedulePoll();
  }

  check(): Promise<void> {
    if (this.mode === "closed") return Promise.resolve();
    // Serialize reads: a change during a read triggers one more read afterwards, not a parallel one.
    if (this.running) {
      this.rerun = true;
      return this.running;
    }
    this.running = this.readLoop().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  close(): void {
    this.mode = "closed";
    this.fileWatch?.close();
    this.fileWatch = undefined;
    if (this.pollHandle !== undefined) this.timers().clearTimeout(this.pollHandle);
    this.pollHandle = undefined;
  }

  private timers(): Timers {
    return this.options.timers ?? realTimers;
  }

  private async readLoop(): Promise<void> {
    do {
      this.rerun = false;
      await this.readOnce();
    } while (this.rerun && this.mode !== "closed");
  }

  private async readOnce(): Promise<void> {
    const { logger, path, onOomKill } = this.options;
    let text: string | undefined;
    try {
      text = await readOptionalFile(this.source.dir, this.source.file);
    } catch (err) {
      logger?.warn({ err, path }, "cannot read the OOM kill counter");
      return;
    }
    if (text === undefined) {
      logger?.debug({ path }, "cgroup is gone; OOM watcher stops");
      this.close();
      return;
    }
    const total = readCounter(text, this.source.key);
    if (total === undefined) return;
    const delta = total - this.lastTotal;
    this.lastTotal = total;
    // A smaller count means the cgroup was recreated under the same path: a new baseline, no kill.
    if (delta <= 0 || this.mode === "closed") return;
    const timestamp = (this.options.clock ?? systemClock).now();
    try {
      onOomKill({ path, oomKill: delta, total, timestamp });
    } catch (err) {
      logger?.error({ err, path }, "OOM kill callback failed");
    }
  }

  private fallBackToPolling(err: unknown): void {
    if (this.mode !== "watch") return;
    this.options.logger?.debug({ err, path: this.options.path }, "watch on memory.events failed; polling");
    this.fileWatch?.close();
    this.fileWatch = undefined;
    this.mode = "poll";
    this.schedulePoll();
  }

  private schedulePoll(): void {
    if (this.mode === "closed") return;
    this.mode = "poll";
    const interval = this.options.pollIntervalMs ?? DEFAULT_OOM_POLL_INTERVAL_MS;
    this.pollHandle = this.timers().setTimeout(() => {
      this.pollHandle = undefined;
      void this.check().finally(() => this.schedulePoll());
    }, interval);
  }
}

/**
 * Starts watching a cgroup's OOM kills. Kills that happened before the call are the baseline
 * and are not reported. Throws NotFoundError("cgroup", path) if the cgroup does not exist and
 * FailedPreconditionError if it has no memory accounting.
 */
export async function watchOomKills(options: OomWatcherOptions): Promise<OomWatcher> {
  const source = counterSource(options.layout, options.path, options.root ?? DEFAULT_CGROUP_ROOT);
  await requireCgroupDir(source.dir, options.path);
  const text = await readOptionalFile(source.dir, source.file);
  if (text === undefined) {
    throw new FailedPreconditionError(
      `${join(source.dir, source.file)} does not exist: memory controller not enabled`,
    );
  }
  const watcher = new CounterWatcher(options, source, readCounter(text, source.key) ?? 0);
  watcher.start();
  return watcher;
}
