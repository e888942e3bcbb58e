// One pod's worker. Syncs are serialized: one at a time, and any request that arrives during a
// sync (a new spec, a container exit, a probe result, a backoff ending, the periodic resync, a
// deletion) queues exactly one more. Each sync reads the runtime, decides (decisions.ts), acts,
// collects old containers and recomputes the status; deletion runs the graceful termination
// and removes everything the pod had on the host.
import { rm } from "node:fs/promises";
import type { PodSandboxConfig } from "../../cri/api/generated/api.js";
import type { ProbeUpdate } from "../../probes/scheduler.js";
import type { PodSpec } from "../podspec/types.js";
import { isNotFound } from "../runtime-client.js";
import { backoffKey, startContainer } from "./container-starter.js";
import { computePodActions, newestFirst, type ContainerKill } from "./decisions.js";
import { podDnsConfig } from "./dns.js";
import { podFullName, type PodIdentity } from "./labels.js";
import { EMPTY_OBSERVATION, PodObserver, type ObservedPod, type ObservedSandbox } from "./observed.js";
import type { PodSource, PodStatusView } from "./pod-manager-api.js";
import { describeError, removePodLeftovers, stopContainer, stopSandbox } from "./pod-killer.js";
import type { ContainerProbeTarget } from "./pod-prober.js";
import { buildSandboxConfig } from "./sandbox-config.js";
import { containerFieldPath, type PodServices } from "./services.js";
import { computePodStatus, statusChanged, type WaitingReason } from "./status.js";
import { VolumeSetupError } from "./volumes.js";
import { removeLogFiles } from "../logs/rotated-logs.js";

export interface WorkerListener {
  /** The pod's status view changed (`previous` is what watchers saw before). */
  statusChanged(worker: PodWorker, previous: PodStatusView): void;
  /** The pod's termination finished: nothing of it is left on the host. */
  removed(worker: PodWorker): Promise<void>;
}

interface Termination {
  gracePeriodSeconds: number;
  readonly requestedAt: number;
  readonly done: Promise<void>;
  resolve(): void;
}

/** How long agent shutdown waits for a sync in progress. */
const STOP_WAIT_MS = 5_000;

/** How soon a failed termination is tried again. */
const TERMINATION_RETRY_MS = 2_000;

const PROBE_KIND_NAMES = { liveness: "Liveness", readiness: "Readiness", startup: "Startup" } as const;

export class PodWorker {
  private spec: PodSpec;
  private source: PodSource;
  private readonly observer: PodObserver;
  private observed: ObservedPod = EMPTY_OBSERVATION;
  private readonly waiting = new Map<string, WaitingReason>();
  private view: PodStatusView;
  private startTime: number;
  private failure?: { reason: string; message: string };
  /** Set by evict(): the grace period to stop the containers with, once. */
  private evictionGrace?: number;
  private sandboxConfig?: { sandboxId: string; config: PodSandboxConfig };
  private syncing = false;
  private pending = false;
  private stopped = false;
  private removed = false;
  private wake?: { handle: unknown; at: number };
  private termination?: Termination;
  private syncAbort = new AbortController();
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly svc: PodServices,
    private readonly listener: WorkerListener,
    spec: PodSpec,
    source: PodSource,
  ) {
    this.spec = spec;
    this.source = source;
    this.startTime = svc.clock.now();
    this.observer = new PodObserver(svc.runtime, spec.metadata.uid);
    this.view = this.computeStatus(undefined);
  }

  get identity(): PodIdentity {
    return this.spec.metadata;
  }

  get currentSpec(): PodSpec {
    return this.spec;
  }

  get currentSource(): PodSource {
    return this.source;
  }

  get terminating(): boolean {
    return this.termination !== undefined;
  }

  status(): PodStatusView {
    return this.view;
  }

  /** A new spec for the same pod (same uid): containers whose definition changed are replaced. */
  update(spec: PodSpec, source: PodSource): void {
    const names = new Set([...spec.initContainers, ...spec.containers].map((c) => c.name));
    for (const name of [...this.waiting.keys()]) if (!names.has(name)) this.waiting.delete(name);
    this.spec = spec;
    this.source = source;
    this.refreshStatus();
    this.requestSync();
  }

  requestSync(): void {
    if (this.stopped || this.removed) return;
    this.pending = true;
    if (!this.syncing) this.idle = this.loop();
  }

  /**
   * Graceful deletion. Resolves once everything of the pod is gone from the host. A second
   * call can only shorten the grace period.
   */
  terminate(gracePeriodSeconds?: number): Promise<void> {
    const grace = gracePeriodSeconds ?? this.spec.terminationGracePeriodSeconds;
    if (this.termination) {
      this.termination.gracePeriodSeconds = Math.min(this.termination.gracePeriodSeconds, grace);
      return this.termination.done;
    }
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    this.termination = { gracePeriodSeconds: grace, requestedAt: this.svc.clock.now(), done, resolve };
    // Whatever the current sync waits for (a postStart hook) is no longer worth waiting for.
    this.syncAbort.abort();
    this.refreshStatus();
    this.requestSync();
    return done;
  }

  /**
   * Eviction by the node (the eviction manager): the pod fails with reason Evicted and is not
   * restarted; its containers are stopped within the grace period (0 for hard thresholds).
   */
  async evict(message: string, gracePeriodSeconds: number): Promise<void> {
    if (this.isTerminal() || this.termination) return;
    this.event("Warning", "Evicted", message);
    this.failure = { reason: "Evicted", message };
    this.evictionGrace = gracePeriodSeconds;
    this.syncAbort.abort();
    this.refreshStatus();
    this.requestSync();
    await this.settled();
  }

  /**
   * A runtime event about one of this pod's containers (an OOM kill, CPU throttling) becomes a
   * pod event; false when the container is not this pod's.
   */
  containerEvent(containerId: string, type: "Normal" | "Warning", reason: string, message: string): boolean {
    const container = this.observed.containers.find((c) => c.id === containerId);
    if (!container) return false;
    const list = container.role === "init" ? "initContainers" : "containers";
    this.event(type, reason, message, `spec.${list}{${container.name}}`);
    return true;
  }

  /** Agent shutdown: the worker stops; its containers keep running. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.syncAbort.abort();
    this.clearWake();
    // A sync in the middle of a long runtime call (a stop with its grace period) is not waited
    // for to the end: the runtime finishes it, and the next agent start picks up from there.
    await Promise.race([
      this.idle,
      new Promise<void>((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref()),
    ]);
    for (const id of this.svc.prober.containerIds(this.spec.metadata.uid)) this.svc.prober.remove(id);
  }

  /** True while a sync runs or is queued. */
  get busy(): boolean {
    return this.syncing || (this.pending && !this.stopped && !this.removed);
  }

  /** Resolves once no sync runs or is queued (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.syncing) await this.idle;
  }

  /** Asks for a sync `ms` from now, unless one is already due sooner. */
  wakeAfter(ms: number): void {
    if (this.stopped || this.removed) return;
    const at = this.svc.clock.now() + Math.max(0, ms);
    if (this.wake && this.wake.at <= at) return;
    this.clearWake();
    const handle = this.svc.timers.setTimeout(
      () => {
        this.wake = undefined;
        this.requestSync();
      },
      Math.max(0, ms),
    );
    this.wake = { handle, at };
  }

  private clearWake(): void {
    if (this.wake) this.svc.timers.clearTimeout(this.wake.handle);
    this.wake = undefined;
  }

  private async loop(): Promise<void> {
    this.syncing = true;
    try {
      while (this.pending && !this.stopped && !this.removed) {
        this.pending = false;
        try {
          if (this.termination) await this.syncTermination(this.termination);
          else await this.syncOnce();
        } catch (err) {
          this.svc.logger.warn({ err, pod: podFullName(this.identity) }, "pod sync failed; retrying later");
          this.wakeAfter(this.termination ? TERMINATION_RETRY_MS : this.svc.resyncIntervalMs);
        }
        if (!this.removed) this.refreshStatus();
      }
    } finally {
      this.syncing = false;
    }
  }

  private computeStatus(previous: PodStatusView | undefined): PodStatusView {
    const prober = this.svc.prober;
    return computePodStatus({
      spec: this.spec,
      source: this.source,
      terminating: this.termination !== undefined,
      observed: this.observed,
      probes: { ready: (id) => prober.ready(id), started: (id) => prober.started(id) },
      waiting: this.waiting,
      hostIPs: this.svc.node.hostIPs,
      now: this.svc.clock.now(),
      startTime: this.startTime,
      ...(this.failure && { failure: this.failure }),
      ...(previous && { previous }),
    });
  }

  /** Recomputes the status view and tells the listener when it changed. */
  refreshStatus(): void {
    if (this.removed) return;
    const previous = this.view;
    const next = this.computeStatus(previous);
    if (!statusChanged(previous, next)) return;
    this.view = next;
    this.listener.statusChanged(this, previous);
  }

  private isTerminal(): boolean {
    const phase = this.view.status.phase;
    return phase === "Succeeded" || phase === "Failed";
  }

  private podIPs(sandbox: ObservedSandbox | undefined): string[] {
    if (this.spec.hostNetwork) return [...this.svc.node.hostIPs];
    return sandbox?.ready ? [...sandbox.ips] : [];
  }

  private async observe(): Promise<ObservedPod> {
    this.observed = await this.observer.observe();
    // After an agent restart the pod started when its sandbox did, not when it was re-applied.
    for (const s of this.observed.sandboxes) this.startTime = Math.min(this.startTime, s.createdAt);
    return this.observed;
  }

  /**
   * activeDeadlineSeconds: a pod active on the node for longer is failed and its containers
   * stopped, as the kubelet does. Returns true when the deadline has passed.
   */
  private async enforceDeadline(observed: ObservedPod): Promise<boolean> {
    const deadline = this.spec.activeDeadlineSeconds;
    if (deadline === undefined) return false;
    const left = this.startTime + deadline * 1000 - this.svc.clock.now();
    if (left > 0) {
      this.wakeAfter(left);
      return false;
    }
    const message = "Pod was active on the node longer than the specified deadline";
    if (!this.failure) this.event("Normal", "DeadlineExceeded", message);
    this.failure = { reason: "DeadlineExceeded", message };
    await this.killPod(observed, this.spec.terminationGracePeriodSeconds);
    await this.observe();
    return true;
  }

  private async syncOnce(): Promise<void> {
    this.syncAbort = new AbortController();
    const spec = this.spec;
    let observed = await this.observe();
    this.reconcileProbes(observed);
    if (!this.isTerminal() && (await this.enforceDeadline(observed))) return;
    if (this.isTerminal()) {
      if (this.evictionGrace !== undefined) {
        const grace = this.evictionGrace;
        this.evictionGrace = undefined;
        await this.killPod(observed, grace);
        observed = await this.observe();
      }
      // A finished pod runs nothing again; its sandbox is stopped, and kept for its logs.
      for (const s of observed.sandboxes.filter((s) => s.ready)) await stopSandbox(this.svc, s.id);
      return;
    }
    let acted = false;
    for (let round = 0; round < 2; round++) {
      const actions = computePodActions(spec, observed, this.svc.prober);
      for (const id of actions.stopSandboxes) await stopSandbox(this.svc, id);
      if (actions.killPod) {
        await this.killPod(observed, spec.terminationGracePeriodSeconds);
        acted = true;
      }
      if (actions.createSandbox) {
        if (actions.createSandbox.reason !== "first") {
          this.event("Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.");
        }
        if (!(await this.createSandbox(actions.createSandbox.attempt))) return;
        observed = await this.observe();
        acted = true;
        continue;
      }
      await Promise.all(actions.kill.map((k) => this.killContainer(k, observed.sandboxes[0])));
      const sandbox = observed.sandboxes[0];
      if (sandbox?.ready && actions.start.length > 0) {
        const sandboxConfig = await this.sandboxConfigFor(sandbox);
        for (const start of actions.start) {
          if (this.syncAbort.signal.aborted) break;
          await startContainer(
            this.svc,
            {
              spec,
              source: this.source,
              sandbox,
              sandboxConfig,
              podIPs: this.podIPs(sandbox),
              waiting: this.waiting,
              wakeAfter: (ms) => this.wakeAfter(ms),
              signal: this.syncAbort.signal,
            },
            start,
          );
        }
      }
      acted ||= actions.kill.length > 0 || actions.start.length > 0 || actions.stopSandboxes.length > 0;
      break;
    }
    if (acted) observed = await this.observe();
    await this.collectGarbage(observed);
    this.reconcileProbes(this.observed);
    this.wakeAfter(this.svc.resyncIntervalMs);
  }

  private event(type: "Normal" | "Warning", reason: string, message: string, fieldPath?: string): void {
    this.svc.record({ type, reason, message, pod: this.identity, ...(fieldPath && { fieldPath }) });
  }

  private async createSandbox(attempt: number): Promise<boolean> {
    const spec = this.spec;
    try {
      await this.svc.volumes.setUp(spec);
    } catch (err) {
      if (!(err instanceof VolumeSetupError)) throw err;
      this.event("Warning", "FailedMount", err.message);
      this.wakeAfter(5_000);
      return false;
    }
    try {
      await this.svc.cgroups.ensure(spec);
      const config = buildSandboxConfig(spec, {
        attempt,
        logDirectory: this.svc.paths.logDir(spec.metadata),
        cgroupParent: this.svc.cgroups.parentOf(spec),
        ...(await podDnsConfig(spec, this.svc.hostResolvConf).then(
          (dnsConfig) => dnsConfig && { dnsConfig },
        )),
      });
      const { podSandboxId } = await this.svc.runtime.runPodSandbox({ config, runtimeHandler: "" });
      this.sandboxConfig = { sandboxId: podSandboxId, config };
      return true;
    } catch (err) {
      this.event("Warning", "FailedCreatePodSandBox", `Failed to create pod sandbox: ${describeError(err)}`);
      this.wakeAfter(this.svc.resyncIntervalMs);
      return false;
    }
  }

  /** The config the sandbox was made with (rebuilt after an agent restart), for CreateContainer. */
  private async sandboxConfigFor(sandbox: ObservedSandbox): Promise<PodSandboxConfig> {
    if (this.sandboxConfig?.sandboxId === sandbox.id) return this.sandboxConfig.config;
    const spec = this.spec;
    const dnsConfig = await podDnsConfig(spec, this.svc.hostResolvConf);
    const config = buildSandboxConfig(spec, {
      attempt: sandbox.attempt,
      logDirectory: this.svc.paths.logDir(spec.metadata),
      cgroupParent: sandbox.cgroupParent || this.svc.cgroups.parentOf(spec),
      ...(dnsConfig && { dnsConfig }),
    });
    this.sandboxConfig = { sandboxId: sandbox.id, config };
    return config;
  }

  private roleOf(name: string): "init" | "app" {
    return this.spec.initContainers.some((c) => c.name === name) ? "init" : "app";
  }

  private async killContainer(kill: ContainerKill, sandbox: ObservedSandbox | undefined): Promise<void> {
    this.event("Normal", "Killing", kill.message, containerFieldPath(this.roleOf(kill.name), kill.name));
    this.svc.prober.remove(kill.id);
    const podIP = this.podIPs(sandbox)[0];
    await stopContainer(this.svc, {
      spec: this.spec,
      containerId: kill.id,
      name: kill.name,
      gracePeriodSeconds: kill.gracePeriodSeconds,
      ...(podIP && { podIP }),
    });
  }

  /** Stops every running container (preStop, grace) and then every sandbox of the pod. */
  private async killPod(observed: ObservedPod, gracePeriodSeconds: number): Promise<void> {
    const live = observed.containers.filter((c) => c.state === "running" || c.state === "created");
    await Promise.all(
      live.map((c) =>
        this.killContainer(
          {
            id: c.id,
            name: c.name,
            reason: "stale",
            message: `Stopping container ${c.name}`,
            gracePeriodSeconds,
          },
          observed.sandboxes.find((s) => s.id === c.sandboxId),
        ),
      ),
    );
    for (const s of observed.sandboxes) if (s.ready) await stopSandbox(this.svc, s.id);
  }

  private async syncTermination(termination: Termination): Promise<void> {
    const observed = await this.observe();
    const elapsed = (this.svc.clock.now() - termination.requestedAt) / 1000;
    const remaining =
      termination.gracePeriodSeconds === 0 ? 0 : Math.max(0, termination.gracePeriodSeconds - elapsed);
    await this.killPod(observed, Math.ceil(remaining));
    const after = await this.observe();
    await removePodLeftovers(this.svc, this.identity, after, [this.svc.cgroups.parentOf(this.spec)]);
    for (const id of this.svc.prober.containerIds(this.identity.uid)) this.svc.prober.remove(id);
    for (const c of [...this.spec.initContainers, ...this.spec.containers]) {
      this.svc.crashBackoff.forget(backoffKey(this.identity.uid, c.name));
    }
    this.svc.images.forgetPod(this.identity.uid);
    this.removed = true;
    this.clearWake();
    await this.listener.removed(this);
    termination.resolve();
  }

  /**
   * Removes exited instances nobody needs: per container, every exited instance but the most
   * recent one (kept for `logs --previous`), and sandboxes left with nothing worth keeping.
   */
  private async collectGarbage(observed: ObservedPod): Promise<void> {
    const names = new Set([...this.spec.initContainers, ...this.spec.containers].map((c) => c.name));
    const keep = new Set<string>();
    const keptExited = new Set<string>();
    for (const c of [...observed.containers].sort(newestFirst)) {
      if (c.state !== "exited") keep.add(c.id);
      else if (names.has(c.name) && !keptExited.has(c.name)) {
        keptExited.add(c.name);
        keep.add(c.id);
      }
    }
    let removed = false;
    for (const c of observed.containers.filter((c) => !keep.has(c.id))) {
      try {
        await this.svc.runtime.removeContainer({ containerId: c.id });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (c.logPath) await removeLogFiles(c.logPath);
      if (c.terminationMessageFile) await rm(c.terminationMessageFile, { force: true });
      removed = true;
    }
    const current = observed.sandboxes[0];
    for (const s of observed.sandboxes) {
      if (s === current || s.ready) continue;
      if (observed.containers.some((c) => c.sandboxId === s.id && keep.has(c.id))) continue;
      try {
        await this.svc.runtime.removePodSandbox({ podSandboxId: s.id });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      removed = true;
    }
    if (removed) await this.observe();
  }

  /** Probes run for exactly the app containers that run now, with the spec they were made from. */
  private reconcileProbes(observed: ObservedPod): void {
    const spec = this.spec;
    const sandbox = observed.sandboxes[0];
    const wanted = new Set<string>();
    if (sandbox?.ready && !this.termination) {
      const podIP = this.podIPs(sandbox)[0];
      for (const c of observed.containers) {
        if (c.state !== "running" || c.sandboxId !== sandbox.id) continue;
        const container = spec.containers.find((s) => s.name === c.name);
        if (!container) continue;
        wanted.add(c.id);
        if (this.svc.prober.has(c.id)) continue;
        const unresolved = this.svc.prober.ensure(
          {
            pod: spec.metadata,
            container,
            containerId: c.id,
            ...(podIP && { podIP }),
            startedAt: c.startedAt ?? c.createdAt,
          },
          (target, update) => this.onProbe(target, update),
        );
        for (const kind of unresolved) {
          this.event(
            "Warning",
            "Unhealthy",
            `${PROBE_KIND_NAMES[kind]} probe names a port the container does not declare`,
            containerFieldPath("app", container.name),
          );
        }
      }
    }
    for (const id of this.svc.prober.containerIds(spec.metadata.uid)) {
      if (!wanted.has(id)) this.svc.prober.remove(id);
    }
  }

  private onProbe(target: ContainerProbeTarget, update: ProbeUpdate): void {
    if (this.removed || this.stopped) return;
    const kind = PROBE_KIND_NAMES[update.kind];
    const fieldPath = containerFieldPath("app", target.container.name);
    const output = update.output.trimEnd();
    if (update.outcome === "failure")
      this.event("Warning", "Unhealthy", `${kind} probe failed: ${output}`, fieldPath);
    else if (update.outcome === "unknown") {
      this.event(
        "Warning",
        "Unhealthy",
        `${kind} probe errored and resulted in unknown state: ${output}`,
        fieldPath,
      );
    }
    if (update.warning) this.event("Warning", "ProbeWarning", `${kind} probe warning: ${output}`, fieldPath);
    if (!update.changed) return;
    if (update.kind !== "readiness" && update.result === "failure") this.requestSync();
    else this.refreshStatus();
  }
}
