// Notices what changes in the runtime without the agent asking for it (a container exits, an
// infra process dies), as the kubelet's PLEG does: by following the runtime's container
// events where it has them (GetContainerEvents), and by listing berth's sandboxes and
// containers on an interval and comparing with the previous list, which also catches what an
// event stream can miss. Two list calls per interval, whatever the number of pods; each pod
// whose objects changed gets a sync.
import type { Logger } from "../../common/logger.js";
import type { RuntimeServiceApi } from "../../cri/service-types.js";
import { isUnimplemented } from "../runtime-client.js";
import { MANAGED_SELECTOR, podIdentityOf, type PodIdentity } from "./labels.js";
import type { Timers } from "./timers.js";

/** How soon a broken event stream is opened again. */
const EVENTS_RETRY_MS = 5_000;

export interface RelistSnapshot {
  /** Every pod that has a sandbox or container in the runtime, by uid. */
  readonly pods: ReadonlyMap<string, PodIdentity>;
}

export interface RelistOptions {
  readonly runtime: Pick<RuntimeServiceApi, "listContainers" | "listPodSandbox" | "getContainerEvents">;
  readonly timers: Timers;
  readonly intervalMs: number;
  /** The interval while the runtime's event stream is followed (default: 10 times intervalMs). */
  readonly eventedIntervalMs?: number;
  readonly logger: Logger;
  /** The pod with this uid has objects whose state changed (or that appeared or vanished). */
  readonly onChange: (uid: string) => void;
  /** Called after each relist, for housekeeping (orphans). */
  readonly onSnapshot?: (snapshot: RelistSnapshot) => void;
}

export class Relister {
  private states = new Map<string, { uid: string; state: string }>();
  private timer: unknown;
  private running = false;
  private closed = false;
  private inFlight: Promise<void> = Promise.resolve();
  private readonly events = new AbortController();
  private eventsLive = false;
  private eventsRetry: unknown;
  private eventsFailing = false;

  constructor(private readonly options: RelistOptions) {}

  start(): void {
    this.schedule();
    void this.followEvents();
  }

  async stop(): Promise<void> {
    this.closed = true;
    this.events.abort();
    if (this.timer !== undefined) this.options.timers.clearTimeout(this.timer);
    if (this.eventsRetry !== undefined) this.options.timers.clearTimeout(this.eventsRetry);
    this.timer = undefined;
    await this.inFlight;
  }

  /** True while the runtime's container events are followed. */
  get following(): boolean {
    return this.eventsLive;
  }

  private async followEvents(): Promise<void> {
    if (this.closed) return;
    try {
      const stream = this.options.runtime.getContainerEvents({}, this.events.signal);
      this.eventsLive = true;
      for await (const event of stream) {
        this.eventsFailing = false;
        const pod = podIdentityOf(event.podSandboxStatus?.labels ?? {});
        if (pod) this.options.onChange(pod.uid);
      }
    } catch (err) {
      if (this.closed) return;
      if (isUnimplemented(err)) {
        this.options.logger.info("the runtime has no container events; relisting only");
        this.relistSooner();
        return;
      }
      // Said once per outage, not at every retry.
      const level = this.eventsFailing ? "debug" : "warn";
      this.eventsFailing = true;
      this.options.logger[level]({ err }, "the runtime's container event stream failed; relisting meanwhile");
    } finally {
      this.relistSooner();
    }
    if (this.closed) return;
    this.eventsRetry = this.options.timers.setTimeout(() => {
      this.eventsRetry = undefined;
      void this.followEvents();
    }, EVENTS_RETRY_MS);
  }

  /** Lists now (also used by tests and at start-up). */
  relistNow(): Promise<void> {
    if (this.running) return this.inFlight;
    this.inFlight = this.relist();
    return this.inFlight;
  }

  /** Without events, the relist goes back to its short interval at once. */
  private relistSooner(): void {
    const wasLive = this.eventsLive;
    this.eventsLive = false;
    if (!wasLive || this.closed || this.timer === undefined) return;
    this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.schedule();
  }

  private schedule(): void {
    if (this.closed) return;
    const interval = this.eventsLive
      ? (this.options.eventedIntervalMs ?? this.options.intervalMs * 10)
      : this.options.intervalMs;
    this.timer = this.options.timers.setTimeout(() => {
      this.timer = undefined;
      void this.relistNow().finally(() => this.schedule());
    }, interval);
  }

  private async relist(): Promise<void> {
    this.running = true;
    try {
      const { runtime } = this.options;
      const [{ items }, { containers }] = await Promise.all([
        runtime.listPodSandbox({ filter: { id: "", labelSelector: { ...MANAGED_SELECTOR } } }),
        runtime.listContainers({
          filter: { id: "", podSandboxId: "", labelSelector: { ...MANAGED_SELECTOR } },
        }),
      ]);
      const next = new Map<string, { uid: string; state: string }>();
      const pods = new Map<string, PodIdentity>();
      for (const item of [...items, ...containers]) {
        const pod = podIdentityOf(item.labels);
        if (!pod) continue;
        pods.set(pod.uid, pod);
        next.set(item.id, { uid: pod.uid, state: String(item.state) });
      }
      const changed = new Set<string>();
      for (const [id, entry] of next) {
        if (this.states.get(id)?.state !== entry.state) changed.add(entry.uid);
      }
      for (const [id, entry] of this.states) if (!next.has(id)) changed.add(entry.uid);
      this.states = next;
      for (const uid of changed) this.options.onChange(uid);
      this.options.onSnapshot?.({ pods });
    } catch (err) {
      this.options.logger.warn({ err }, "listing the runtime's pods failed");
    } finally {
      this.running = false;
    }
  }
}
