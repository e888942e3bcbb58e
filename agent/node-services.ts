// The node services, started together once the pods are: the eviction manager (which needs
// the pods to choose from), the node status (which shows its pressure), and the upstream
// reporter (which sends both, with the pods' status changes, to the orchestrator).
import type { Registry } from "prom-client";
import type { Clock } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import { collectImages } from "../cri/images/image-gc.js";
import type { ImageStore } from "../cri/images/store.js";
import type { Registry as RuntimeRegistry } from "../cri/runtime/registry.js";
import type { RuntimeServiceApi } from "../cri/service-types.js";
import type { StatsCollector } from "../cri/stats/collector.js";
import type { CgroupManager } from "../cgroups/manager.js";
import { RUNTIME_VERSION } from "../cri/runtime/runtime-service.js";
import type { AgentConfig } from "./config.js";
import { parseEvictionConfig } from "./eviction/config.js";
import { EvictionManager, type EvictPodFn } from "./eviction/eviction-manager.js";
import { HostObserver, type HostReader } from "./eviction/host-observer.js";
import { registerEvictionMetrics } from "./eviction/prometheus.js";
import { runtimeReclaimer } from "./eviction/reclaim.js";
import { parseReservations } from "./node/capacity.js";
import { gatherNodeFacts, type SystemInfoSource } from "./node/host-facts.js";
import { NodeStatusProvider } from "./node/node-status.js";
import type { PodManagerApi } from "./pods/pod-manager-api.js";
import type { Timers } from "./pods/timers.js";
import { nodeStatusMessage } from "./reporter/messages.js";
import { grpcOrchestratorTransport, type OrchestratorTransport } from "./reporter/orchestrator-client.js";
import { registerReporterMetrics } from "./reporter/prometheus.js";
import { Reporter } from "./reporter/reporter.js";

/** Unused images are removed under disk pressure only once this old, so a fresh pull is not lost before use (the kubelet's image minimum age). */
const RECLAIM_IMAGE_MIN_AGE_MS = 2 * 60_000;

/** What the node services use of berth's runtime (a BerthRuntime is one). */
export interface NodeServicesRuntime {
  readonly stats: Pick<StatsCollector, "all" | "onSample">;
  readonly images: ImageStore;
  readonly runtimeService: Pick<
    RuntimeServiceApi,
    "version" | "status" | "listContainers" | "listPodSandbox" | "removeContainer"
  >;
  readonly deps: {
    readonly cgroups: Pick<CgroupManager, "layout" | "root">;
    readonly registry: Pick<RuntimeRegistry, "containers">;
  };
}

export interface NodeServicesDeps {
  readonly config: AgentConfig;
  readonly logger: Logger;
  readonly runtime: NodeServicesRuntime;
  /** The pod manager: what it lists is what eviction chooses from and what is reported. */
  readonly pods: Pick<PodManagerApi, "list" | "watch">;
  /** Ends a pod as evicted (phase Failed, reason Evicted, an Evicted event); the pod manager provides it. */
  readonly evictPod: EvictPodFn;
  /** The /metrics registry: eviction and reporter series are added when given. */
  readonly metricsRegistry?: Registry;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** Replaces systeminformation (tests). */
  readonly systemInfo?: SystemInfoSource;
  /** Replaces the gRPC client of the orchestrator (tests). */
  readonly transport?: OrchestratorTransport;
  /** Replaces the reads of /proc, the cgroups and statfs behind the eviction signals (tests). */
  readonly host?: HostReader;
}

export interface NodeServices {
  readonly nodeStatus: NodeStatusProvider;
  readonly eviction: EvictionManager;
  /** Absent while config.reporter.endpoint is "". */
  readonly reporter?: Reporter;
  stop(): Promise<void>;
}

export async function startNodeServices(deps: NodeServicesDeps): Promise<NodeServices> {
  const { config, runtime, pods } = deps;
  const policy = parseEvictionConfig(config.eviction);
  const cgroups = runtime.deps.cgroups;
  const time = { ...(deps.clock && { clock: deps.clock }), ...(deps.timers && { timers: deps.timers }) };

  const eviction = new EvictionManager({
    policy,
    pods,
    stats: runtime.stats,
    host:
      deps.host ??
      new HostObserver({
        layout: cgroups.layout,
        cgroupMountRoot: cgroups.root,
        podsCgroup: `${config.cgroupRoot.replace(/\/+$/, "")}/pods`,
        stateDir: config.stateDir,
        imagesDir: runtime.images.root,
        logger: deps.logger.child({ component: "eviction" }),
        ...(deps.clock && { clock: deps.clock }),
      }),
    reclaimer: runtimeReclaimer({
      runtime: runtime.runtimeService,
      knownPodUids: () => new Set(pods.list().map((p) => p.metadata.uid)),
      collectUnusedImages: () =>
        collectImages({
          store: runtime.images,
          imagesInUse: () => new Set([...runtime.deps.registry.containers.values()].map((c) => c.imageId)),
          logger: deps.logger.child({ component: "eviction" }),
          // Under disk pressure every unused image goes, not just enough to reach the GC's low mark.
          policy: { highThresholdPercent: 0, lowThresholdPercent: 0, minAgeMs: RECLAIM_IMAGE_MIN_AGE_MS },
          ...(deps.clock && { now: () => deps.clock?.now() ?? Date.now() }),
        }),
      logger: deps.logger.child({ component: "eviction" }),
    }),
    evictPod: deps.evictPod,
    logger: deps.logger.child({ component: "eviction" }),
    ...time,
  });

  const nodeStatus = new NodeStatusProvider({
    nodeName: config.nodeName,
    gatherFacts: () =>
      gatherNodeFacts({
        stateDir: config.stateDir,
        runtimeVersion: () => runtime.runtimeService.version({ version: "" }),
        cgroupMode: async () => cgroups.layout.mode,
        berthVersion: RUNTIME_VERSION,
        ...(deps.systemInfo && { systemInfo: deps.systemInfo }),
      }),
    runtimeStatus: () => runtime.runtimeService.status({ verbose: false }),
    pressure: eviction,
    reservation: parseReservations(config.reservations),
    thresholds: policy.thresholds,
    maxPods: config.nodeStatus.maxPods,
    logger: deps.logger.child({ component: "node-status" }),
    ...time,
  });

  // The first pass observes the node before its status is first read, so that pressure shows at once.
  await eviction
    .synchronize()
    .catch((err: unknown) => deps.logger.warn({ err }, "first eviction pass failed"));
  await nodeStatus.start();
  eviction.start();

  let reporter: Reporter | undefined;
  let unsubscribeNode: (() => void) | undefined;
  if (config.reporter.endpoint !== "") {
    try {
      const transport = deps.transport ?? (await grpcOrchestratorTransport(config.reporter));
      reporter = new Reporter({
        nodeName: () => nodeStatus.current().name,
        pods,
        stats: runtime.stats,
        nodeStatus: () => nodeStatusMessage(nodeStatus.current(), eviction.observations()),
        transport,
        logger: deps.logger.child({ component: "reporter", endpoint: config.reporter.endpoint }),
        intervalMs: config.reporter.intervalSeconds * 1000,
        limits: {
          podUpdates: config.reporter.podUpdateLimit,
          events: config.reporter.queueLimit,
          metricSamples: config.reporter.queueLimit,
        },
        ...time,
      });
      const started = reporter;
      unsubscribeNode = nodeStatus.onChange(() => started.nodeChanged());
      reporter.start();
    } catch (err) {
      nodeStatus.stop();
      await eviction.stop();
      throw err;
    }
  }

  if (deps.metricsRegistry) {
    registerEvictionMetrics(deps.metricsRegistry, eviction);
    const r = reporter;
    if (r) registerReporterMetrics(deps.metricsRegistry, () => r.counters());
  }

  return {
    nodeStatus,
    eviction,
    ...(reporter && { reporter }),
    stop: async () => {
      unsubscribeNode?.();
      await reporter?.stop();
      nodeStatus.stop();
      await eviction.stop();
    },
  };
}
