// The berth agent: the in-process CRI runtime, its gRPC socket, and orderly shutdown.
// Containers are supervised by conmon, not by this process, so stopping or killing the
// agent leaves them running; the next start re-adopts them from the state on disk.
import { hostname } from "node:os";
import { join } from "node:path";
import type { Server } from "@grpc/grpc-js";
import type { Logger } from "../common/logger.js";
import { ImageServiceService, RuntimeServiceService } from "../cri/api/generated/api.js";
import { bindService } from "../cri/grpc-binding.js";
import { startGrpcServer, stopGrpcServer } from "../cri/grpc-server.js";
import { CniManager } from "../cri/network/cni-network.js";
import { createBerthRuntime, type BerthRuntime } from "../cri/runtime/berth-runtime.js";
import { ImagesService } from "./api/generated/berth.js";
import type { AgentConfig } from "./config.js";
import { startHousekeeping } from "./housekeeping.js";
import { collectImages } from "../cri/images/image-gc.js";
import { runtimeHealthCheck } from "./http/health.js";
import { createAgentMetrics } from "./http/metrics.js";
import { startHttpServer, type AgentHttpServer } from "./http/server.js";
import { buildSummary } from "./http/summary.js";
import { ImagesApi } from "./images-api.js";
// --- pods (kubelet layer) ---
import { CgroupManager } from "../cgroups/manager.js";
import { detectHostLayout } from "../cgroups/detect.js";
import { PodManager } from "./pods/pod-manager.js";
import { runtimeClients } from "./runtime-client.js";
import { ContainerLogManager } from "./logs/container-log-manager.js";
import { parseContainerLogConfig } from "./logs/rotation-policy.js";
import { systemClock } from "../common/clock.js";
// --- end pods ---
import { startNodeServices } from "./node-services.js";
// --- Node API and static pods (agent/node-api, agent/static-pods) ---
import { nodeServiceBinding, startStaticPods } from "./node-api/front-ends.js";
// --- end Node API and static pods ---
// systemd integration: readiness, watchdog, status, SIGHUP reload, delegated cgroup.
import { loadConfig } from "./config.js";
import { applyReloadedConfig, describeAgent, prepareAgentService } from "../systemd/agent-service.js";

export interface RunningAgent {
  runtime: BerthRuntime;
  server: Server;
  /** Absent when config.http.enabled is false. */
  http?: AgentHttpServer;
  /** The kubelet layer: pod workers over the in-process runtime or config.runtimeEndpoint. */
  pods: PodManager;
  stop(): Promise<void>;
}

export async function startAgent(config: AgentConfig, logger: Logger): Promise<RunningAgent> {
  const network = config.cni.enabled
    ? new CniManager({
        confDir: config.cni.confDir,
        pluginDirs: config.cni.pluginDirs,
        cacheDir: join(config.stateDir, "cni", "cache"),
        logger: logger.child({ component: "cni" }),
        writeDefault: {
          ipamDataDir: join(config.stateDir, "cni", "networks"),
          subnet: config.cni.defaultSubnet,
          bridgeName: config.cni.defaultBridge,
          ipMasq: config.cni.defaultIpMasq,
        },
      })
    : undefined;
  const runtime = await createBerthRuntime({
    stateDir: config.stateDir,
    runDir: config.runDir,
    logger,
    cgroupRoot: config.cgroupRoot,
    runcBinary: config.runcBinary,
    conmonBinary: config.conmonBinary,
    registryHostsDir: config.registry.hostsDir,
    imageLimits: config.images,
    streaming: config.streaming,
    ...(config.registry.authFile && { registryAuthFile: config.registry.authFile }),
    network,
    statsIntervalSeconds: config.statsIntervalSeconds,
  });
  // --- pods (kubelet layer): the pod workers, on the in-process runtime or a CRI socket ---
  const podRuntime = runtimeClients(config, runtime);
  const pods = new PodManager({
    runtime: podRuntime.runtime,
    images: podRuntime.images,
    logger,
    stateDir: config.stateDir,
    cgroupRoot: config.cgroupRoot,
    cgroups: podRuntime.remote
      ? new CgroupManager({ layout: await detectHostLayout(), logger })
      : runtime.deps.cgroups,
    nodeName: config.nodeName,
    maxExecProbes: config.maxExecProbes,
  });
  await pods.start();
  // The runtime's OOM kills and CPU throttling become pod events (kubelet shows neither a
  // child-process OOM kill nor throttling; berth does).
  runtime.onOom((e) =>
    pods.containerEvent(
      e.containerId,
      "Warning",
      e.kind === "container-killed" ? "OOMKilled" : "OOMKilling",
      e.message,
    ),
  );
  runtime.onCpuThrottled((e) =>
    pods.containerEvent(e.containerId, "Warning", "CPUThrottlingHigh", e.message),
  );
  // Containers keep running when the agent stops: only the workers stop.
  const stopPods = async (): Promise<void> => {
    await pods.stop();
    podRuntime.close();
  };
  // --- end pods ---
  const metrics = createAgentMetrics(runtime.stats);
  const server = await startGrpcServer(config.socket, [
    {
      definition: RuntimeServiceService,
      implementation: bindService(
        "runtime.v1.RuntimeService",
        RuntimeServiceService,
        runtime.runtimeService,
        logger,
        metrics.observeRpc,
      ),
    },
    {
      definition: ImageServiceService,
      implementation: bindService(
        "runtime.v1.ImageService",
        ImageServiceService,
        runtime.imageService,
        logger,
        metrics.observeRpc,
      ),
    },
    {
      definition: ImagesService,
      implementation: bindService(
        "berth.v1.Images",
        ImagesService,
        new ImagesApi(runtime.images, runtime.puller),
        logger,
        metrics.observeRpc,
      ),
    },
    // --- Node API: berth.v1.Node, the pod manager's front end for orchestrators and the CLI ---
    nodeServiceBinding({
      pods,
      runtimeService: podRuntime.runtime,
      logger,
      observe: metrics.observeRpc,
      nodeName: config.nodeName,
    }),
    // --- end Node API ---
  ]);
  let http: AgentHttpServer | undefined;
  if (config.http.enabled) {
    try {
      http = await startHttpServer({
        address: config.http.address,
        port: config.http.port,
        logger: logger.child({ component: "http" }),
        health: runtimeHealthCheck(runtime.runtimeService),
        metrics: metrics.registry,
        summary: () => buildSummary(runtime.stats.all(), { nodeName: hostname() }),
      });
    } catch (err) {
      await stopPods();
      await stopGrpcServer(server);
      await runtime.close();
      throw err;
    }
  }
  // Container log rotation over the pods' runtime (in-process or a CRI socket).
  const logRotation = parseContainerLogConfig(config);
  const containerLogs = new ContainerLogManager({
    runtime: podRuntime.runtime,
    policy: logRotation.policy,
    clock: systemClock,
    logger: logger.child({ component: "container-logs" }),
  });
  const housekeeping = startHousekeeping(
    [
      {
        name: "image-gc",
        schedule: "*/5 * * * *",
        run: () =>
          collectImages({
            store: runtime.images,
            imagesInUse: () => new Set([...runtime.deps.registry.containers.values()].map((c) => c.imageId)),
            logger: logger.child({ component: "image-gc" }),
          }),
      },
      {
        name: "container-log-rotation",
        everyMs: logRotation.intervalMs,
        run: () => containerLogs.rotateLogs(),
      },
    ],
    logger,
  );
  // --- static pods: the manifests folder's pods are applied before the agent reports it
  // serves; then every source has applied its pods and leftovers may be collected ---
  const staticPods = await startStaticPods(config.manifestsDir, pods, logger);
  pods.markSourcesReady();
  // --- end static pods ---
  // Node status, the eviction manager and (when an endpoint is configured) the upstream reporter.
  const nodeServices = await startNodeServices({
    config,
    logger,
    runtime,
    pods,
    evictPod: (pod, message, signal, grace) => pods.evict(pod, message, signal, grace),
    metricsRegistry: metrics.registry,
  });
  logger.info({ socket: config.socket, stateDir: config.stateDir }, "berth agent serving");
  return {
    runtime,
    server,
    ...(http && { http }),
    pods,
    stop: async () => {
      await nodeServices.stop();
      housekeeping.stop();
      await http?.close();
      metrics.close();
      await staticPods.stop();
      await stopPods();
      await stopGrpcServer(server);
      await runtime.close();
      logger.info("berth agent stopped; containers keep running");
    },
  };
}

export interface RunAgentOptions {
  /** Re-reads the config on SIGHUP. Default: the default config file and BERTH_* variables. */
  reloadConfig?: () => Promise<AgentConfig>;
}

/** How long an orderly shutdown may take before the agent exits regardless. */
export const SHUTDOWN_LIMIT_MS = 10_000;

/** Runs the agent until SIGTERM or SIGINT; SIGHUP reloads the config. */
export async function runAgent(
  config: AgentConfig,
  logger: Logger,
  options: RunAgentOptions = {},
): Promise<void> {
  // --- systemd integration (systemd/agent-service.ts, systemd/service.ts): begin ---
  // Before the runtime starts: no child (runc, conmon) may inherit NOTIFY_SOCKET, SIGHUP is
  // taken, and in a delegated cgroup the pods' cgroup root is settled (the agent moved if
  // need be).
  const service = await prepareAgentService(config, logger);
  const { lifecycle } = service;
  const agent = await startAgent(service.config, logger);
  let inForce = config;
  // READY=1: the socket serves by now.
  await lifecycle.started({
    describe: () => describeAgent(agent.runtime.runtimeService),
    reload: async () => {
      const next = await (options.reloadConfig ?? (() => loadConfig()))();
      const reloaded = applyReloadedConfig(inForce, next, logger, service.logLevel);
      inForce = reloaded.config;
      return reloaded.summary;
    },
  });
  // --- systemd integration: end ---
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string): void => {
      logger.info({ signal }, "shutting down");
      let stopped = false;
      // A request stuck in the kernel or on a child (an exec that never ends, a hung mount)
      // must not keep the agent from going: past the limit it exits with whatever is left.
      // Unref'd, so an agent that has nothing left exits at once.
      setTimeout(() => {
        if (!stopped)
          logger.error({ signal, limitMs: SHUTDOWN_LIMIT_MS }, "shutdown did not finish in time; exiting");
        else logger.warn("requests were still in flight after shutdown; exiting");
        process.exit(stopped ? 0 : 1);
      }, SHUTDOWN_LIMIT_MS).unref();
      lifecycle
        .stopping()
        .then(() => agent.stop())
        .then(
          () => {
            stopped = true;
            resolve();
          },
          (err: unknown) => {
            logger.error({ err }, "shutdown failed");
            resolve();
          },
        );
    };
    // Listeners stay for the agent's life: with none left, a library's exit hook (execa's,
    // for its children) re-raises the signal and the agent dies without stopping in order.
    // A second signal means "now".
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (!signalled) {
        signalled = true;
        shutdown(signal);
        return;
      }
      logger.warn({ signal }, "second signal during shutdown; exiting now");
      process.exit(1);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}
