// Assembles berth's CRI runtime: paths, stores, runc, conmon, images, cgroups and the
// managers; recovers state from disk; and exposes the two CRI services.
import { chmod, copyFile, mkdir, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Clock } from "../../common/clock.js";
import { systemClock } from "../../common/clock.js";
import { KeyedLock } from "../../common/keyed-lock.js";
import type { Logger } from "../../common/logger.js";
import { CgroupManager } from "../../cgroups/manager.js";
import { detectHostLayout } from "../../cgroups/detect.js";
import { createStatsReader } from "../../cgroups/stats.js";
import { CriImageService } from "../images/image-service.js";
import { SnapshotManager } from "../images/snapshots.js";
import type { ImageLimits } from "../images/image-limits.js";
import { ImageStore } from "../images/store.js";
import { ImagePuller } from "../images/pull/puller.js";
import { StreamingServer } from "../streaming/streaming-server.js";
import { RuntimeStreamingBackend } from "../streaming/runtime-backend.js";
import { NetnsManager } from "../network/netns.js";
import { StatsCollector, type IntervalTimer } from "../stats/collector.js";
import { registryCatalog } from "../stats/registry-catalog.js";
import { CriStatsService } from "../stats/stats-service.js";
import { CriMetricsService } from "../stats/cri-metrics.js";
import { Checkpointer } from "./checkpoint.js";
import { ContainerManager } from "./containers.js";
import { ContainerEventHub } from "../events/container-events.js";
import type { CpuThrottlingOptions } from "../events/cpu-throttling.js";
import type { CpuThrottlingListener, OomCounts, OomListener } from "../events/types.js";
import type { PodNetwork, RuntimeDeps } from "./deps.js";
import { ExitMonitor } from "./exit-monitor.js";
import { sweepOrphans } from "./orphan-sweep.js";
import { readHostLimits } from "./host-limits.js";
import { runtimePaths } from "./paths.js";
import { PodCidrConfig } from "./pod-cidr.js";
import { RecordStore } from "./record-store.js";
import { probeRecursiveReadOnly } from "./runtime-features.js";
import { probeUserNamespaces } from "./userns.js";
import type { ContainerRecord, SandboxRecord } from "./records.js";
import { Registry } from "./registry.js";
import { Runc } from "./runc.js";
import { CriRuntimeService } from "./runtime-service.js";
import { SandboxManager } from "./sandboxes.js";

export interface BerthRuntimeOptions {
  stateDir: string;
  runDir: string;
  logger: Logger;
  clock?: Clock;
  runcBinary?: string;
  conmonBinary?: string;
  /** Parent cgroup of sandboxes that name none; a relative path nests under berth's own cgroup. */
  cgroupRoot?: string;
  /** The static busybox the infra process runs. */
  busyboxBinary?: string;
  network?: PodNetwork;
  /**
   * Sets no_new_privs on every unprivileged container even when its config does not ask for it
   * (default false: the config's no_new_privs decides, as with containerd and CRI-O, so that a
   * setuid binary works where the kubelet allows privilege escalation).
   */
  defaultNoNewPrivileges?: boolean;
  shmSizeBytes?: number;
  /** How often the stats collector reads every cgroup (default 10 s). */
  statsIntervalSeconds?: number;
  statsTimer?: IntervalTimer;
  // --- container events ---
  /** CPU throttling events: above `share` (0.25) of CFS periods throttled over `windowSeconds` (60). */
  cpuThrottling?: CpuThrottlingOptions;
  /** Events a GetContainerEvents stream may have waiting before its oldest are dropped (1000). */
  containerEventBuffer?: number;
  // --- end container events ---
  /** Where the exec/attach/port-forward server listens; loopback and a kernel-chosen port by default. */
  streaming?: { address?: string; port?: number; baseUrl?: string };
  /** Per-registry configuration (containerd's hosts.toml layout); default /etc/berth/certs.d. */
  registryHostsDir?: string;
  /** A Docker-style config.json with registry credentials, if any. */
  registryAuthFile?: string;
  /** CRIU, which runc checkpoints with; "criu" on the PATH by default. */
  criuBinary?: string;
  /** Bounds of pulled and imported images (layer count, sizes, disk reserve); defaults otherwise. */
  imageLimits?: Partial<ImageLimits>;
  /** A registry connection silent this long fails its request (and is retried). */
  registryIdleTimeoutMs?: number;
}

export interface BerthRuntime {
  runtimeService: CriRuntimeService;
  imageService: CriImageService;
  images: ImageStore;
  puller: ImagePuller;
  streaming: StreamingServer;
  deps: RuntimeDeps;
  /** The one stats cache: CRI stats, /metrics and /stats/summary read it. */
  stats: StatsCollector;
  // --- container events ---
  /** CRI container events, OOM kills and CPU throttling of every container. */
  containerEvents: ContainerEventHub;
  /** Memory kills: the main process (the container exits OOMKilled) or another process in it. */
  onOom(listener: OomListener): () => void;
  /** A container throttled in more than the configured share of its CFS periods over the window. */
  onCpuThrottled(listener: CpuThrottlingListener): () => void;
  /** OOM kills per container not yet removed (for /metrics). */
  oomCounts(): Map<string, OomCounts>;
  // --- end container events ---
  close(): Promise<void>;
}

export async function createBerthRuntime(opts: BerthRuntimeOptions): Promise<BerthRuntime> {
  const paths = runtimePaths(opts.stateDir, opts.runDir);
  const logger = opts.logger;
  for (const dir of [
    paths.stateDir,
    paths.runDir,
    paths.containersDir,
    paths.sandboxesDir,
    paths.exitsDir,
    paths.attachDir,
    paths.shmDir,
  ]) {
    await mkdir(dir, { recursive: true, mode: 0o711 });
  }
  await prepareInfraRootfs(paths.infraRootfs, opts.busyboxBinary ?? "/bin/busybox");

  const images = new ImageStore({
    root: paths.imagesDir,
    logger: logger.child({ component: "images" }),
    ...(opts.imageLimits && { limits: opts.imageLimits }),
  });
  await images.init();
  const snapshots = new SnapshotManager({ root: paths.snapshotsDir, logger });
  const puller = new ImagePuller({
    store: images,
    logger: logger.child({ component: "pull" }),
    hostsConfigDir: opts.registryHostsDir,
    dockerConfigPath: opts.registryAuthFile,
    ...(opts.registryIdleTimeoutMs !== undefined && { idleTimeoutMs: opts.registryIdleTimeoutMs }),
  });
  const layout = await detectHostLayout();
  const runcBinary = opts.runcBinary ?? "/usr/sbin/runc";
  const deps: RuntimeDeps = {
    paths,
    logger,
    clock: opts.clock ?? systemClock,
    registry: new Registry(),
    locks: new KeyedLock(),
    sandboxStore: new RecordStore<SandboxRecord>(paths.sandboxRecords, logger),
    containerStore: new RecordStore<ContainerRecord>(paths.containerRecords, logger),
    runc: new Runc(runcBinary, paths.runcRoot),
    conmon: {
      conmonBinary: opts.conmonBinary ?? "/usr/bin/conmon",
      runcBinary,
      runcRoot: paths.runcRoot,
      exitsDir: paths.exitsDir,
      attachDir: paths.attachDir,
    },
    netns: new NetnsManager(paths.netnsDir),
    network: opts.network,
    cgroups: new CgroupManager({ layout, logger }),
    images,
    snapshots,
    host: {
      ...(await readHostLimits()),
      recursiveReadOnlyMounts: await probeRecursiveReadOnly(runcBinary),
      userNamespaces: await probeUserNamespaces([paths.stateDir, paths.runDir]),
    },
    cgroupRoot: opts.cgroupRoot ?? "/berth",
    defaultNoNewPrivileges: opts.defaultNoNewPrivileges ?? false,
    shmSizeBytes: opts.shmSizeBytes ?? 64 * 1024 * 1024,
  };
  if (!deps.host.userNamespaces?.supported) {
    logger.info({ reason: deps.host.userNamespaces?.reason }, "pods cannot have their own user namespace");
  }
  const sandboxes = new SandboxManager(deps);
  const containers = new ContainerManager(deps, sandboxes);
  sandboxes.attachContainers(containers);
  // --- container events: observed from recovery on, so running containers get their OOM watchers ---
  const containerEvents = new ContainerEventHub({
    logger: logger.child({ component: "events" }),
    clock: deps.clock,
    layout,
    cgroupRoot: deps.cgroups.root,
    reader: createStatsReader(layout, deps.cgroups.root, { clock: deps.clock }),
    ...(opts.cpuThrottling && { cpuThrottling: opts.cpuThrottling }),
    ...(opts.containerEventBuffer !== undefined && { bufferPerSubscriber: opts.containerEventBuffer }),
  });
  containers.observeLifecycle(containerEvents);
  // --- end container events ---

  const podCidr = new PodCidrConfig(paths.stateDir, opts.network);
  await podCidr.load(logger);
  await sandboxes.recover();
  await containers.recover();
  await sweepOrphans(deps);
  const monitor = new ExitMonitor(paths.exitsDir, (id) => containers.onExit(id), logger);
  await monitor.start();

  const statsCatalog = registryCatalog({ registry: deps.registry, snapshotsRoot: snapshots.root });
  const stats = new StatsCollector({
    catalog: statsCatalog,
    reader: createStatsReader(layout, deps.cgroups.root, { clock: deps.clock }),
    logger: logger.child({ component: "stats" }),
    clock: deps.clock,
    intervalMs: (opts.statsIntervalSeconds ?? 10) * 1000,
    ...(opts.statsTimer && { timer: opts.statsTimer }),
    rootFsPath: paths.stateDir,
    imageFs: { mountpoint: images.root, usage: () => images.fsUsage() },
    writableLayerMountpoint: snapshots.root,
  });
  stats.start();
  containerEvents.watchThrottling(stats);

  const isImageInUse = (imageId: string): boolean =>
    [...deps.registry.containers.values()].some((c) => c.imageId === imageId);
  const runtimeService = new CriRuntimeService(
    deps,
    sandboxes,
    containers,
    opts.network,
    new CriStatsService(statsCatalog, stats),
    {
      metrics: new CriMetricsService(stats),
      podCidr,
      checkpointer: new Checkpointer({
        runcBinary,
        runcRoot: paths.runcRoot,
        criuBinary: opts.criuBinary ?? "criu",
        upperDir: (id) => join(snapshots.root, id, "upper"),
      }),
    },
  );
  runtimeService.useContainerEvents(containerEvents);
  containerEvents.useStatusSource(runtimeService);
  const streaming = new StreamingServer({
    backend: new RuntimeStreamingBackend(deps),
    logger: logger.child({ component: "streaming" }),
    clock: deps.clock,
    ...opts.streaming,
  });
  await streaming.start();
  runtimeService.useStreaming(streaming);
  return {
    runtimeService,
    imageService: new CriImageService({ store: images, isImageInUse, clock: deps.clock, puller }),
    puller,
    images,
    deps,
    stats,
    containerEvents,
    onOom: (listener) => containerEvents.onOom(listener),
    onCpuThrottled: (listener) => containerEvents.onCpuThrottled(listener),
    oomCounts: () => containerEvents.oomCounts(),
    streaming,
    close: async () => {
      await streaming.close();
      containerEvents.close();
      await stats.stop();
      await monitor.close();
      puller.close();
    },
  };
}

/** The infra process's root: a read-only dir holding only the static busybox. */
async function prepareInfraRootfs(dir: string, busybox: string): Promise<void> {
  for (const sub of ["bin", "proc", "dev", "sys", "etc", "tmp"])
    await mkdir(join(dir, sub), { recursive: true, mode: 0o755 });
  const target = join(dir, "bin", "busybox");
  const [src, dst] = await Promise.all([stat(busybox), stat(target).catch(() => undefined)]);
  if (!dst || dst.size !== src.size || dst.mtimeMs < src.mtimeMs) {
    await copyFile(busybox, `${target}.new`);
    await chmod(`${target}.new`, 0o755);
    await rename(`${target}.new`, target);
  }
}
