// The eviction manager: on every stats pass and on an interval it reads the host, checks the
// thresholds, keeps the node's pressure conditions, and when a threshold is met past its
// grace period it reclaims what the node can reclaim by itself (disk: dead containers and
// unused images), looks again, and only then evicts one pod, chosen by the kubelet's rankings.
// One pod per pass: the next pass looks at fresh usage before anything else is evicted.
import { systemClock, type Clock } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import type { StatsCollector } from "../../cri/stats/collector.js";
import type { PodManagerApi, PodStatusView } from "../pods/pod-manager-api.js";
import { systemTimers, type Timers } from "../pods/timers.js";
import { isNodeCriticalPod, podQosClass, SYSTEM_CRITICAL_PRIORITY } from "../podspec/qos.js";
import type { EvictionPolicy } from "./config.js";
import type { HostReader } from "./host-observer.js";
import { admissionMessage, evictionMessage } from "./messages.js";
import {
  podUsageFromSnapshot,
  rankForDisk,
  rankForMemory,
  rankForPids,
  type DiskMeasure,
  type PodUsageFn,
} from "./ranking.js";
import type { NodeReclaimer } from "./reclaim.js";
import {
  computeObservations,
  PSI_MEMORY_SIGNAL,
  type EvictionSignal,
  type Observations,
  type PressureCondition,
} from "./signals.js";
import {
  byEvictionPriority,
  conditionsLastObservedAt,
  conditionsWithinTransitionPeriod,
  describeThreshold,
  formatSignalAmount,
  isHardThreshold,
  mergeThresholds,
  pressureConditions,
  thresholdKey,
  thresholdsFirstObservedAt,
  thresholdsMet,
  thresholdsPastGracePeriod,
  type Threshold,
} from "./thresholds.js";

/**
 * Ends a pod as evicted (phase Failed, reason Evicted, an Evicted event with `message`) and
 * resolves once its containers are stopped. `gracePeriodSeconds` is 0 for hard thresholds.
 */
export type EvictPodFn = (
  pod: PodStatusView,
  message: string,
  signal: string,
  gracePeriodSeconds?: number,
) => Promise<void>;

export interface EvictionManagerOptions {
  readonly policy: EvictionPolicy;
  readonly pods: Pick<PodManagerApi, "list">;
  readonly stats: Pick<StatsCollector, "all" | "onSample">;
  readonly host: HostReader;
  readonly reclaimer: NodeReclaimer;
  readonly evictPod: EvictPodFn;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly timers?: Timers;
}

export type PassOutcome =
  | { readonly kind: "idle" }
  | { readonly kind: "waiting"; readonly why: string }
  | { readonly kind: "reclaimed"; readonly signal: EvictionSignal }
  | {
      readonly kind: "evicted";
      readonly signal: EvictionSignal;
      readonly pod: PodStatusView;
      readonly message: string;
    }
  | { readonly kind: "nothing-to-evict"; readonly signal: EvictionSignal };

export interface EvictionRecord {
  readonly timeMs: number;
  readonly signal: EvictionSignal;
  readonly pod: { readonly namespace: string; readonly name: string; readonly uid: string };
  readonly message: string;
}

export interface EvictionCounters {
  passes: number;
  evictions: Partial<Record<EvictionSignal, number>>;
  evictionFailures: number;
  deadContainersRemoved: number;
  imagesRemoved: number;
}

export type AdmitResult =
  { readonly admit: true } | { readonly admit: false; readonly reason: "Evicted"; readonly message: string };

/** After an eviction, how long to wait for a stats pass that reflects it before acting anyway (the kubelet's pod cleanup timeout). */
const FRESH_STATS_TIMEOUT_MS = 30_000;
/** PSI avg10 is a 10 s average: it takes that long to show what an eviction changed. */
const PSI_SETTLE_MS = 10_000;

/** Pods the manager never evicts: critical priority, or node-critical static pods. */
export function isEvictionExempt(pod: Pick<PodStatusView, "spec" | "source">): boolean {
  if ((pod.spec.priority ?? 0) >= SYSTEM_CRITICAL_PRIORITY) return true;
  return isNodeCriticalPod(pod.spec, { isStaticPod: pod.source.kind === "file" });
}

/** The kubelet's node-level reclaim per signal: images only where they live on the pressured filesystem. */
function reclaimSteps(signal: EvictionSignal, dedicatedImageFs: boolean): ("containers" | "images")[] {
  if (signal.startsWith("imagefs.")) return ["containers", "images"];
  if (signal.startsWith("nodefs.")) return dedicatedImageFs ? ["containers"] : ["containers", "images"];
  return [];
}

/** What a disk signal measures of each pod: with a separate image fs, writable layers count there and logs on the node fs. */
export function diskMeasure(signal: EvictionSignal, dedicatedImageFs: boolean): DiskMeasure | undefined {
  const unit = signal.endsWith(".inodesFree") ? "inodes" : "bytes";
  if (signal.startsWith("nodefs.")) return { parts: dedicatedImageFs ? ["logs"] : ["rootfs", "logs"], unit };
  if (signal.startsWith("imagefs."))
    return { parts: dedicatedImageFs ? ["rootfs"] : ["rootfs", "logs"], unit };
  return undefined;
}

export function rankPods(
  signal: EvictionSignal,
  pods: readonly PodStatusView[],
  usage: PodUsageFn,
  dedicatedImageFs: boolean,
): PodStatusView[] {
  if (signal === "memory.available" || signal === PSI_MEMORY_SIGNAL) return rankForMemory(pods, usage);
  if (signal === "pid.available") return rankForPids(pods, usage);
  const measure = diskMeasure(signal, dedicatedImageFs);
  return measure ? rankForDisk(pods, usage, measure) : [...pods];
}

export class EvictionManager {
  private readonly policy: EvictionPolicy;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly logger: Logger;
  private observed: Observations = new Map();
  private met: Threshold[] = [];
  private firstObservedAt = new Map<string, number>();
  private conditionsLastObserved = new Map<PressureCondition, number>();
  private conditions = new Set<PressureCondition>();
  private dedicatedImageFs = false;
  private lastEviction?: { readonly atMs: number; readonly signal: EvictionSignal };
  private readonly history: EvictionRecord[] = [];
  private readonly counters_: EvictionCounters = {
    passes: 0,
    evictions: {},
    evictionFailures: 0,
    deadContainersRemoved: 0,
    imagesRemoved: 0,
  };
  private readonly listeners = new Set<(conditions: ReadonlySet<PressureCondition>) => void>();
  private running?: Promise<PassOutcome>;
  private rerun = false;
  private timer?: unknown;
  private unsubscribe?: () => void;
  private stopped = true;

  constructor(private readonly options: EvictionManagerOptions) {
    this.policy = options.policy;
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.logger = options.logger;
  }

  /** Checks now, then after every stats pass and every policy interval. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.logger.info(
      { thresholds: this.policy.thresholds.map(describeThreshold) },
      "eviction manager started",
    );
    this.unsubscribe = this.options.stats.onSample(() => this.requestPass());
    this.scheduleTick();
    this.requestPass();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** The last observation of each signal. */
  observations(): Observations {
    return this.observed;
  }

  /** Thresholds met at the last pass (grace periods aside). */
  thresholdsMet(): readonly Threshold[] {
    return this.met;
  }

  /** MemoryPressure, DiskPressure, PIDPressure as reported: seen within the pressure transition period. */
  pressureConditions(): ReadonlySet<PressureCondition> {
    return this.conditions;
  }

  /** Told when the reported pressure conditions change; returns the unsubscribe function. */
  onConditionsChange(listener: (conditions: ReadonlySet<PressureCondition>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  counters(): Readonly<EvictionCounters> {
    return this.counters_;
  }

  /** Recent evictions, oldest first (the last 100). */
  evictions(): readonly EvictionRecord[] {
    return this.history;
  }

  /**
   * The kubelet's admission under pressure: with memory pressure alone, every pod but a
   * BestEffort one is admitted; any other pressure refuses every pod. Critical and static pods
   * always go in.
   */
  admit(pod: Pick<PodStatusView, "spec" | "source">): AdmitResult {
    // Static pods are the node owner's own: admitted whatever the pressure, as the kubelet does.
    if (this.conditions.size === 0 || isEvictionExempt(pod) || pod.source.kind === "file")
      return { admit: true };
    const onlyMemory = this.conditions.size === 1 && this.conditions.has("MemoryPressure");
    if (onlyMemory && podQosClass(pod.spec) !== "BestEffort") return { admit: true };
    return { admit: false, reason: "Evicted", message: admissionMessage([...this.conditions].sort()) };
  }

  /** Runs a pass now, or once more after the one under way. */
  requestPass(): void {
    if (this.stopped) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    this.running = this.synchronize()
      .catch((err: unknown): PassOutcome => {
        this.logger.error({ err }, "eviction pass failed");
        return { kind: "idle" };
      })
      .finally(() => {
        this.running = undefined;
        if (this.rerun) {
          this.rerun = false;
          this.requestPass();
        }
      });
  }

  /** One pass: observe, update conditions, and evict at most one pod. */
  async synchronize(): Promise<PassOutcome> {
    this.counters_.passes++;
    const readings = await this.options.host.read();
    this.dedicatedImageFs = readings.dedicatedImageFs;
    let observations = computeObservations(readings);
    const now = this.clock.now();
    this.logObservations(observations);

    let met = thresholdsMet(this.policy.thresholds, observations, false);
    // A threshold met before stays met until the signal recovers past it by the minimum reclaim.
    if (this.met.length > 0) met = mergeThresholds(met, thresholdsMet(this.met, observations, true));
    this.firstObservedAt = thresholdsFirstObservedAt(met, this.firstObservedAt, now);
    this.conditionsLastObserved = conditionsLastObservedAt(
      pressureConditions(met),
      this.conditionsLastObserved,
      now,
    );
    const conditions = conditionsWithinTransitionPeriod(
      this.conditionsLastObserved,
      this.policy.pressureTransitionPeriodMs,
      now,
    );
    this.updateMet(met, observations);
    this.observed = observations;
    this.updateConditions(conditions);

    const active = byEvictionPriority(thresholdsPastGracePeriod(met, this.firstObservedAt, now));
    const threshold = active[0];
    if (!threshold) return { kind: "idle" };
    const signal = threshold.signal;

    const waiting = this.waitingForEffect(signal, now);
    if (waiting) {
      this.logger.debug({ signal, why: waiting }, "eviction waits for the last one to show");
      return { kind: "waiting", why: waiting };
    }

    const steps = reclaimSteps(signal, readings.dedicatedImageFs);
    if (steps.length > 0) {
      await this.reclaim(steps, signal);
      observations = computeObservations(await this.options.host.read());
      this.observed = observations;
      // Every threshold, grace periods aside, with the minimum reclaim: all clear means enough was freed.
      if (thresholdsMet(this.policy.thresholds, observations, true).length === 0) {
        this.logger.info({ signal }, "node-level reclaim freed enough; no pod evicted");
        return { kind: "reclaimed", signal };
      }
    }
    return this.evictOne(threshold, observations);
  }

  private async evictOne(threshold: Threshold, observations: Observations): Promise<PassOutcome> {
    const signal = threshold.signal;
    const candidates = this.options.pods
      .list()
      .filter((p) => p.status.phase !== "Succeeded" && p.status.phase !== "Failed");
    const usage = podUsageFromSnapshot(this.options.stats.all());
    const ranked = rankPods(signal, candidates, usage, this.dedicatedImageFs);
    const measure = diskMeasure(signal, this.dedicatedImageFs);
    for (const pod of ranked) {
      const who = { namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid };
      if (isEvictionExempt(pod)) {
        this.logger.debug({ pod: who, signal }, "a critical pod is never evicted");
        continue;
      }
      const observation = observations.get(signal);
      const podUsage = usage(pod);
      const message = evictionMessage({
        threshold,
        pod,
        ...(observation && { observation }),
        ...(podUsage && { usage: podUsage }),
        ...(measure && { measure }),
      });
      const gracePeriodSeconds = isHardThreshold(threshold)
        ? 0
        : Math.min(this.policy.maxPodGracePeriodSeconds, pod.spec.terminationGracePeriodSeconds);
      this.logger.warn(
        { pod: who, signal, threshold: describeThreshold(threshold), gracePeriodSeconds, message },
        "evicting pod",
      );
      try {
        await this.options.evictPod(pod, message, signal, gracePeriodSeconds);
      } catch (err) {
        this.counters_.evictionFailures++;
        this.logger.error({ err, pod: who, signal }, "eviction failed; trying the next pod");
        continue;
      }
      const atMs = this.clock.now();
      this.lastEviction = { atMs, signal };
      this.counters_.evictions[signal] = (this.counters_.evictions[signal] ?? 0) + 1;
      this.history.push({ timeMs: atMs, signal, pod: who, message });
      if (this.history.length > 100) this.history.shift();
      return { kind: "evicted", signal, pod, message };
    }
    this.logger.error({ signal }, "eviction manager: no pod can be evicted to relieve the node");
    return { kind: "nothing-to-evict", signal };
  }

  /** Why not to evict yet: the last eviction is not visible in the stats (or in PSI's average) yet. */
  private waitingForEffect(signal: EvictionSignal, now: number): string | undefined {
    const last = this.lastEviction;
    if (!last) return undefined;
    if (signal === PSI_MEMORY_SIGNAL && now - last.atMs < PSI_SETTLE_MS)
      return "PSI avg10 still averages over the last eviction";
    const sampledAt = this.options.stats.all().node?.timestampMs ?? 0;
    if (sampledAt <= last.atMs && now - last.atMs < FRESH_STATS_TIMEOUT_MS)
      return "no stats pass since the last eviction";
    return undefined;
  }

  private async reclaim(steps: readonly ("containers" | "images")[], signal: EvictionSignal): Promise<void> {
    for (const step of steps) {
      try {
        if (step === "containers") {
          const n = await this.options.reclaimer.deleteDeadContainers();
          this.counters_.deadContainersRemoved += n;
          this.logger.info({ signal, removed: n }, "reclaim: dead containers removed");
        } else {
          const n = await this.options.reclaimer.deleteUnusedImages();
          this.counters_.imagesRemoved += n;
          this.logger.info({ signal, removed: n }, "reclaim: unused images removed");
        }
      } catch (err) {
        this.logger.warn({ err, signal, step }, "reclaim step failed");
      }
    }
  }

  private scheduleTick(): void {
    if (this.stopped) return;
    this.timer = this.timers.setTimeout(() => {
      this.requestPass();
      this.scheduleTick();
    }, this.policy.intervalMs);
  }

  private logObservations(observations: Observations): void {
    if (!this.logger.isLevelEnabled("debug")) return;
    const summary = Object.fromEntries(
      [...observations].map(([signal, o]) => [
        signal,
        `${formatSignalAmount(signal, o.available)} of ${formatSignalAmount(signal, o.capacity)} (${o.source})`,
      ]),
    );
    this.logger.debug({ observations: summary }, "eviction signals observed");
  }

  private updateMet(met: Threshold[], observations: Observations): void {
    const before = new Set(this.met.map(thresholdKey));
    const after = new Set(met.map(thresholdKey));
    const changed = before.size !== after.size || [...after].some((k) => !before.has(k));
    this.met = met;
    if (!changed) return;
    const detail = met.map((t) => {
      const o = observations.get(t.signal);
      return `${describeThreshold(t)} (observed ${o ? formatSignalAmount(t.signal, o.available) : "nothing"})`;
    });
    if (met.length > 0) this.logger.warn({ thresholds: detail }, "eviction thresholds met");
    else this.logger.info("eviction thresholds clear");
  }

  private updateConditions(conditions: Set<PressureCondition>): void {
    const same =
      conditions.size === this.conditions.size && [...conditions].every((c) => this.conditions.has(c));
    if (same) return;
    this.conditions = conditions;
    this.logger.info({ conditions: [...conditions] }, "node pressure conditions changed");
    for (const listener of this.listeners) {
      try {
        listener(conditions);
      } catch (err) {
        this.logger.warn({ err }, "pressure condition listener failed");
      }
    }
  }
}
