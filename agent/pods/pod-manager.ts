// berth's kubelet layer: one worker per pod, driven by apply/delete, the runtime's changes
// (relist), probe results, backoff expiry and a periodic resync. The runtime is reached only
// through the CRI service interfaces, so the same manager runs pods on the in-process berth
// runtime or on any CRI socket.
import { readdir } from "node:fs/promises";
import { availableParallelism, totalmem } from "node:os";
import { join } from "node:path";
import { systemClock, type Clock } from "../../common/clock.js";
import { DeadlineExceededError, FailedPreconditionError, NotFoundError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import type { CgroupManager } from "../../cgroups/manager.js";
import type { ImageServiceApi, RuntimeServiceApi } from "../../cri/service-types.js";
import type { ExecFn } from "../../probes/handlers/exec.js";
import { ProbeScheduler, type ProbeSchedulerOptions } from "../../probes/scheduler.js";
import { CrashLoopBackOff, type BackOffOptions } from "../backoff.js";
import type { NodeAllocatable } from "../podspec/downward-api.js";
import { quantityFromNanos } from "../podspec/quantity.js";
import type { PodSpec } from "../podspec/types.js";
import { isDeadlineExceeded } from "../runtime-client.js";
import { DEFAULT_EVENT_HISTORY, EventHistory, type NewEvent } from "./events.js";
import { ImageEnsurer } from "./images.js";
import type { PodIdentity } from "./labels.js";
import { PodObserver } from "./observed.js";
import { PodCgroups } from "./pod-cgroups.js";
import { removePodLeftovers } from "./pod-killer.js";
import type { PodChange, PodEvent, PodManagerApi, PodSource, PodStatusView } from "./pod-manager-api.js";
import { PodPaths } from "./pod-paths.js";
import { PodProber } from "./pod-prober.js";
import { PodWorker } from "./pod-worker.js";
import { ProbeMetrics, type ProbeCount, type ProbeListener } from "./probe-metrics.js";
import { Relister, type RelistSnapshot } from "./relister.js";
import type { NodeFacts, PodServices } from "./services.js";
import { SpecStore } from "./spec-store.js";
import { systemTimers, type Timers } from "./timers.js";
import { hostIPv4Addresses } from "./node-facts.js";
import { PodVolumes, type MountOps } from "./volumes.js";

export const DEFAULT_RESYNC_INTERVAL_MS = 10_000;
export const DEFAULT_RELIST_INTERVAL_MS = 1_000;
/** Orphans are removed only once the pods' sources had time to apply them again after a restart. */
export const DEFAULT_SOURCES_READY_DELAY_MS = 30_000;

export interface PodManagerOptions {
  readonly runtime: RuntimeServiceApi;
  readonly images: ImageServiceApi;
  readonly logger: Logger;
  /** Applied API specs are kept under `<stateDir>/pod-specs`, pod dirs under `<stateDir>/pods`. */
  readonly stateDir: string;
  /** Parent of the pods' cgroups (`<root>/pods/<qos>/pod-<uid>`). */
  readonly cgroupRoot: string;
  /** Creates pod cgroups (with limits on cgroup v2) and removes them; without it berth leaves cgroups to the runtime. */
  readonly cgroups?: CgroupManager;
  readonly podsDir?: string;
  readonly specsDir?: string;
  /** Default /var/log/pods. */
  readonly podLogsDir?: string;
  readonly nodeName: string;
  /** The node's addresses; default: its first non-internal IPv4 address, else 127.0.0.1. */
  readonly hostIPs?: readonly string[];
  readonly memoryCapacityBytes?: number;
  readonly allocatable?: NodeAllocatable;
  readonly hostResolvConf?: string;
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly resyncIntervalMs?: number;
  readonly relistIntervalMs?: number;
  readonly sourcesReadyDelayMs?: number;
  readonly maxExecProbes?: number;
  readonly crashBackoff?: BackOffOptions;
  readonly imagePullBackoff?: BackOffOptions;
  readonly eventHistory?: number;
  /** Replaces parts of the probe scheduler (timers, clock, handlers), for tests. */
  readonly probeScheduler?: Partial<Omit<ProbeSchedulerOptions, "execFn" | "logger">>;
  readonly mountOps?: MountOps;
}

type Listener = (change: PodChange) => void;

function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export class PodManager implements PodManagerApi {
  private readonly workers = new Map<string, PodWorker>();
  private readonly listeners = new Set<Listener>();
  private readonly history: EventHistory;
  private readonly metrics = new ProbeMetrics();
  private readonly scheduler: ProbeScheduler;
  private readonly svc: PodServices;
  private readonly specs: SpecStore;
  private readonly relister: Relister;
  private readonly cleaningOrphans = new Set<string>();
  private readonly orphanWork = new Set<Promise<void>>();
  private readonly startedAt: number;
  private sourcesReady = false;
  private strayDirsCollected = false;
  private started = false;
  private stopped = false;

  constructor(private readonly options: PodManagerOptions) {
    const clock = options.clock ?? systemClock;
    const timers = options.timers ?? systemTimers;
    const logger = options.logger.child({ component: "pods" });
    const paths = new PodPaths({
      podsDir: options.podsDir ?? join(options.stateDir, "pods"),
      specsDir: options.specsDir ?? join(options.stateDir, "pod-specs"),
      logsDir: options.podLogsDir ?? "/var/log/pods",
    });
    this.history = new EventHistory(options.eventHistory ?? DEFAULT_EVENT_HISTORY);
    this.scheduler = new ProbeScheduler({
      execFn: criExec(options.runtime),
      logger: logger.child({ component: "probes" }),
      execConcurrency: options.maxExecProbes ?? 8,
      clock,
      ...options.probeScheduler,
    });
    const memory = options.memoryCapacityBytes ?? totalmem();
    const node: NodeFacts = {
      name: options.nodeName,
      hostIPs: options.hostIPs ?? hostIPv4Addresses(),
      memoryCapacityBytes: memory,
      allocatable: options.allocatable ?? defaultAllocatable(memory),
    };
    this.svc = {
      runtime: options.runtime,
      images: new ImageEnsurer(options.images, new CrashLoopBackOff(clock, options.imagePullBackoff), clock),
      prober: new PodProber(this.scheduler, this.metrics),
      crashBackoff: new CrashLoopBackOff(clock, options.crashBackoff),
      volumes: new PodVolumes(paths, logger, options.mountOps),
      cgroups: new PodCgroups(options.cgroupRoot, logger, options.cgroups),
      paths,
      node,
      clock,
      timers,
      logger,
      hostResolvConf: options.hostResolvConf ?? "/etc/resolv.conf",
      resyncIntervalMs: options.resyncIntervalMs ?? DEFAULT_RESYNC_INTERVAL_MS,
      record: (event) => this.record(event),
    };
    this.specs = new SpecStore(paths, logger);
    this.relister = new Relister({
      runtime: options.runtime,
      timers,
      intervalMs: options.relistIntervalMs ?? DEFAULT_RELIST_INTERVAL_MS,
      logger,
      onChange: (uid) => this.workerByUid(uid)?.requestSync(),
      onSnapshot: (snapshot) => this.collectOrphans(snapshot),
    });
    this.startedAt = clock.now();
  }

  /**
   * Restores the pods applied through the API before a restart (static pods come back from
   * their files) and starts watching the runtime. Containers that still run with the same
   * definition are adopted, not restarted.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const spec of await this.specs.loadAll()) this.addWorker(spec, { kind: "api" });
    this.relister.start();
  }

  /**
   * Every source of pods (API specs, static manifests) has applied its pods: objects of pods
   * nobody applied are orphans and may be removed. Without this call, that happens once
   * `sourcesReadyDelayMs` passed since start.
   */
  markSourcesReady(): void {
    this.sourcesReady = true;
  }

  /** Agent shutdown: workers, probes and the relist stop; every container keeps running. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.relister.stop();
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    this.scheduler.close();
  }

  async apply(spec: PodSpec, source: PodSource): Promise<PodStatusView> {
    if (this.stopped) throw new FailedPreconditionError("the pod manager is stopped");
    const { namespace, name, uid } = spec.metadata;
    const key = podKey(namespace, name);
    let worker = this.workers.get(key);
    if (worker?.terminating) {
      throw new FailedPreconditionError(`pod ${key} is being deleted; apply it again once it is gone`);
    }
    if (worker && worker.identity.uid !== uid) {
      // Another pod under the same name, as Kubernetes sees a new uid: the old one goes first.
      await this.delete(namespace, name);
      worker = undefined;
    }
    if (source.kind === "api") await this.specs.save(spec);
    else if (worker?.currentSource.kind === "api") await this.specs.remove(uid);
    if (worker) {
      worker.update(spec, source);
      return worker.status();
    }
    return this.addWorker(spec, source).status();
  }

  async delete(namespace: string, name: string, gracePeriodSeconds?: number): Promise<void> {
    const worker = this.workers.get(podKey(namespace, name));
    if (!worker) throw new NotFoundError("pod", podKey(namespace, name));
    await worker.terminate(gracePeriodSeconds);
  }

  /** Records a runtime event about a container (OOM kill, CPU throttling) on its pod. */
  containerEvent(containerId: string, type: "Normal" | "Warning", reason: string, message: string): void {
    for (const worker of this.workers.values())
      if (worker.containerEvent(containerId, type, reason, message)) return;
  }

  /** Fails the pod with reason Evicted and stops its containers (the eviction manager calls this). */
  async evict(pod: PodStatusView, message: string, _signal: string, gracePeriodSeconds = 0): Promise<void> {
    const worker = this.workers.get(podKey(pod.metadata.namespace, pod.metadata.name));
    if (!worker || worker.identity.uid !== pod.metadata.uid) return;
    await worker.evict(message, gracePeriodSeconds);
  }

  get(namespace: string, name: string): PodStatusView | undefined {
    return this.workers.get(podKey(namespace, name))?.status();
  }

  list(): PodStatusView[] {
    return [...this.workers.values()].map((w) => w.status());
  }

  events(filter?: { namespace?: string; name?: string }): PodEvent[] {
    return this.history.list(filter);
  }

  watch(listener: (change: PodChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** prober_probe_total{probe_type,result,container,pod,namespace}: every series and its count. */
  probeCounts(): ProbeCount[] {
    return this.metrics.probeCounts();
  }

  /** Called for every probe run from now on; returns the unsubscribe function. */
  onProbe(listener: ProbeListener): () => void {
    return this.metrics.onProbe(listener);
  }

  /** Asks every pod's worker to sync now (tests, and the CLI's "resync"). */
  resyncAll(): void {
    for (const worker of this.workers.values()) worker.requestSync();
  }

  /**
   * Resolves once every worker is idle and no orphan is being removed: the state after the
   * work asked for so far. For tests and tools; the agent itself never waits for this.
   */
  async settled(): Promise<void> {
    for (;;) {
      const busy = [...this.workers.values()].filter((w) => w.busy);
      if (busy.length === 0 && this.orphanWork.size === 0) return;
      await Promise.all([...busy.map((w) => w.settled()), ...this.orphanWork]);
    }
  }

  /** Lists the runtime now instead of at the next relist tick. */
  relistNow(): Promise<void> {
    return this.relister.relistNow();
  }

  private addWorker(spec: PodSpec, source: PodSource): PodWorker {
    const worker = new PodWorker(
      this.svc,
      {
        statusChanged: (w) => this.emit({ type: "MODIFIED", pod: w.status() }),
        removed: (w) => this.removed(w),
      },
      spec,
      source,
    );
    const { namespace, name } = spec.metadata;
    this.workers.set(podKey(namespace, name), worker);
    this.emit({ type: "ADDED", pod: worker.status() });
    this.record({
      type: "Normal",
      reason: "Scheduled",
      message: `Successfully assigned ${namespace}/${name} to ${this.svc.node.name}`,
      pod: spec.metadata,
    });
    worker.requestSync();
    return worker;
  }

  /** The worker finished its pod's termination: the pod is gone. */
  private async removed(worker: PodWorker): Promise<void> {
    const { namespace, name, uid } = worker.identity;
    const key = podKey(namespace, name);
    if (this.workers.get(key) === worker) this.workers.delete(key);
    await this.specs
      .remove(uid)
      .catch((err: unknown) =>
        this.svc.logger.warn({ err, pod: key }, "removing the stored pod spec failed"),
      );
    this.metrics.forgetPod(namespace, name);
    this.emit({ type: "DELETED", pod: worker.status() });
  }

  private workerByUid(uid: string): PodWorker | undefined {
    for (const worker of this.workers.values()) if (worker.identity.uid === uid) return worker;
    return undefined;
  }

  private record(event: NewEvent): void {
    const stored = this.history.record(event, this.svc.clock.now());
    this.emit({ type: "EVENT", event: stored });
  }

  private emit(change: PodChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (err) {
        this.svc.logger.error({ err }, "a pod watcher threw");
      }
    }
  }

  /** Removes sandboxes and containers of pods no source applied (after a restart, or left by a crash). */
  private collectOrphans(snapshot: RelistSnapshot): void {
    if (this.stopped) return;
    const ready =
      this.sourcesReady ||
      this.svc.clock.now() - this.startedAt >=
        (this.options.sourcesReadyDelayMs ?? DEFAULT_SOURCES_READY_DELAY_MS);
    if (!ready) return;
    const known = new Set([...this.workers.values()].map((w) => w.identity.uid));
    for (const [uid, pod] of snapshot.pods) {
      if (known.has(uid) || this.cleaningOrphans.has(uid)) continue;
      this.cleaningOrphans.add(uid);
      this.track(this.removeOrphan(pod).finally(() => this.cleaningOrphans.delete(uid)));
    }
    if (!this.strayDirsCollected) {
      this.strayDirsCollected = true;
      this.track(this.removeStrayPodDirs(new Set([...known, ...snapshot.pods.keys()])));
    }
  }

  private track(work: Promise<void>): void {
    this.orphanWork.add(work);
    void work.finally(() => this.orphanWork.delete(work));
  }

  /** Pod dirs of pods that are gone from everywhere (the agent died mid-deletion), once per start. */
  private async removeStrayPodDirs(live: ReadonlySet<string>): Promise<void> {
    const root = this.svc.paths.roots.podsDir;
    const uids = await readdir(root).catch(() => [] as string[]);
    for (const uid of uids) {
      if (live.has(uid) || this.workerByUid(uid)) continue;
      this.svc.logger.info({ uid }, "removing the dir of a pod that is gone");
      await this.svc.volumes
        .tearDown(uid)
        .catch((err: unknown) => this.svc.logger.warn({ err, uid }, "removing a stray pod dir failed"));
    }
  }

  private async removeOrphan(pod: PodIdentity): Promise<void> {
    const log = this.svc.logger.child({ pod: `${pod.namespace}/${pod.name}`, uid: pod.uid });
    try {
      const observed = await new PodObserver(this.svc.runtime, pod.uid).observe();
      log.info("removing the objects of a pod that no source applies");
      await Promise.all(
        observed.containers
          .filter((c) => c.state === "running" || c.state === "created")
          .map((c) =>
            this.svc.runtime
              .stopContainer({ containerId: c.id, timeout: BigInt(c.gracePeriodSeconds ?? 30) })
              .catch((err: unknown) =>
                log.warn({ err, container: c.id }, "stopping an orphaned container failed"),
              ),
          ),
      );
      await removePodLeftovers(this.svc, pod, observed);
    } catch (err) {
      log.warn({ err }, "removing an orphaned pod failed; will retry");
    }
  }
}

/** Exec probes through the runtime's ExecSync; a timeout is DeadlineExceededError, as the probe expects. */
export function criExec(runtime: Pick<RuntimeServiceApi, "execSync">): ExecFn {
  return async (containerId, command, timeoutSeconds) => {
    try {
      const res = await runtime.execSync({ containerId, cmd: command, timeout: BigInt(timeoutSeconds) });
      return { exitCode: res.exitCode, stdout: res.stdout, stderr: res.stderr };
    } catch (err) {
      if (isDeadlineExceeded(err) && !(err instanceof DeadlineExceededError)) {
        throw new DeadlineExceededError(`command timed out after ${timeoutSeconds}s`);
      }
      throw err;
    }
  };
}

function defaultAllocatable(memoryBytes: number): NodeAllocatable {
  return {
    cpu: quantityFromNanos(BigInt(availableParallelism()) * 1_000_000_000n),
    memory: quantityFromNanos(BigInt(memoryBytes) * 1_000_000_000n),
    ephemeralStorage: quantityFromNanos(0n),
  };
}
