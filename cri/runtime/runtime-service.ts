// The CRI RuntimeService over berth's sandbox and container managers: request shapes in,
// response shapes out. RPCs berth does not implement are absent here and answered with
// UNIMPLEMENTED by the binding.
import { FailedPreconditionError, InvalidArgumentError, UnavailableError } from "../../common/errors.js";
import {
  CgroupDriver,
  ContainerState,
  PodSandboxState,
  type Container,
  type ContainerStatus,
  type ExecSyncRequest,
  type PodSandbox,
  type PodSandboxStatus,
  type RuntimeCondition,
} from "../api/generated/api.js";
import type { RuntimeServiceApi } from "../service-types.js";
import type { MetricsRpcs } from "../stats/cri-metrics.js";
import type { StatsRpcs } from "../stats/stats-service.js";
import { type Checkpointer, validateCheckpointLocation } from "./checkpoint.js";
import type { PodCidrConfig } from "./pod-cidr.js";
import type { ContainerManager } from "./containers.js";
import type { PodNetwork, RuntimeDeps } from "./deps.js";
import { execSync } from "./exec-sync.js";
import type { ContainerRecord, SandboxRecord } from "./records.js";
import type { SandboxManager } from "./sandboxes.js";
// --- container events ---
import type { ContainerEventHub, PodStatuses, PodStatusSource } from "../events/container-events.js";
// --- end container events ---
// --- streaming (exec, attach, port-forward) ---
import type { StreamingServer } from "../streaming/streaming-server.js";
import {
  validateAttachRequest,
  validateExecRequest,
  validatePortForwardRequest,
} from "../streaming/validate.js";
// --- end streaming ---
import { BERTH_VERSION } from "../../common/version.js";

export const RUNTIME_NAME = "berth";
export const RUNTIME_VERSION = BERTH_VERSION;
export const CRI_API_VERSION = "v1";

/** The longest a timer can wait (2^31 - 1 ms), in whole seconds: the bound of every CRI timeout. */
export const MAX_TIMEOUT_SECONDS = BigInt(Math.floor((2 ** 31 - 1) / 1000));

function minBigInt(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

type Impl = Pick<
  RuntimeServiceApi,
  | "version"
  | "status"
  | "runtimeConfig"
  | "runPodSandbox"
  | "stopPodSandbox"
  | "removePodSandbox"
  | "podSandboxStatus"
  | "listPodSandbox"
  | "createContainer"
  | "startContainer"
  | "stopContainer"
  | "removeContainer"
  | "listContainers"
  | "containerStatus"
  | "updateContainerResources"
  | "reopenContainerLog"
  | "execSync"
  // Stats: answered from the stats collector's cache (cri/stats).
  | "containerStats"
  | "listContainerStats"
  | "podSandboxStats"
  | "listPodSandboxStats"
  // Streaming: URLs of berth's streaming server (cri/streaming).
  | "exec"
  | "attach"
  | "portForward"
  // Container events: berth's event hub (cri/events).
  | "getContainerEvents"
  // CRI metrics (cri/stats/cri-metrics.ts), the pod CIDR, checkpoints.
  | "listMetricDescriptors"
  | "listPodSandboxMetrics"
  | "streamPodSandboxMetrics"
  | "updateRuntimeConfig"
  | "checkpointContainer"
>;

/** What the newer RPCs (metrics, runtime config, checkpoints) are answered with. */
export interface RuntimeExtensions {
  metrics: MetricsRpcs;
  podCidr: PodCidrConfig;
  checkpointer: Checkpointer;
}

/** What the streaming RPCs need of berth's streaming server: URLs for validated requests. */
export type StreamingRequests = Pick<StreamingServer, "getExec" | "getAttach" | "getPortForward">;

/** What GetContainerEvents needs of berth's event hub. */
export type ContainerEventSource = Pick<ContainerEventHub, "subscribe" | "sandboxChanged">;

export class CriRuntimeService implements Impl, PodStatusSource {
  constructor(
    private readonly deps: RuntimeDeps,
    private readonly sandboxes: SandboxManager,
    private readonly containers: ContainerManager,
    private readonly network: PodNetwork | undefined,
    private readonly stats: StatsRpcs,
    private readonly extensions: RuntimeExtensions,
  ) {}

  version: Impl["version"] = async () => ({
    version: "0.1.0",
    runtimeName: RUNTIME_NAME,
    runtimeVersion: RUNTIME_VERSION,
    runtimeApiVersion: CRI_API_VERSION,
  });

  status: Impl["status"] = async (req) => {
    const conditions: RuntimeCondition[] = [{ type: "RuntimeReady", status: true, reason: "", message: "" }];
    if (this.network) {
      const net = await this.network.status();
      conditions.push({
        type: "NetworkReady",
        status: net.ready,
        reason: net.ready ? "" : (net.reason ?? "NetworkPluginNotReady"),
        message: net.message ?? "",
      });
    } else {
      conditions.push({
        type: "NetworkReady",
        status: false,
        reason: "NetworkPluginNotReady",
        message: "no pod network is configured: sandboxes get a network namespace with loopback only",
      });
    }
    const info: Record<string, string> = {};
    if (req.verbose) {
      info.config = JSON.stringify({
        stateDir: this.deps.paths.stateDir,
        runDir: this.deps.paths.runDir,
        cgroupRoot: this.deps.cgroupRoot,
        podCidr: this.extensions.podCidr.current.join(","),
      });
    }
    return {
      status: { conditions },
      info,
      runtimeHandlers: [
        {
          name: "",
          features: {
            recursiveReadOnlyMounts: this.deps.host.recursiveReadOnlyMounts?.supported ?? false,
            userNamespaces: this.deps.host.userNamespaces?.supported ?? false,
          },
        },
      ],
      features: { supplementalGroupsPolicy: true, userNamespacesHostNetwork: false },
    };
  };

  runtimeConfig: Impl["runtimeConfig"] = async () => ({ linux: { cgroupDriver: CgroupDriver.CGROUPFS } });

  runPodSandbox: Impl["runPodSandbox"] = async (req) => {
    const podSandboxId = await this.sandboxes.run(req.config, req.runtimeHandler);
    this.containerEvents?.sandboxChanged("created", podSandboxId);
    this.containerEvents?.sandboxChanged("started", podSandboxId);
    return { podSandboxId };
  };

  stopPodSandbox: Impl["stopPodSandbox"] = async (req) => {
    requireId(req.podSandboxId, "pod_sandbox_id");
    const before = this.deps.registry.findSandbox(req.podSandboxId);
    const wasReady = before?.state === "ready";
    await this.sandboxes.stop(req.podSandboxId);
    if (before && wasReady) this.containerEvents?.sandboxChanged("stopped", before.id);
    return {};
  };

  removePodSandbox: Impl["removePodSandbox"] = async (req) => {
    requireId(req.podSandboxId, "pod_sandbox_id");
    const before = this.deps.registry.findSandbox(req.podSandboxId);
    await this.sandboxes.remove(req.podSandboxId);
    if (before) this.containerEvents?.sandboxChanged("deleted", before.id);
    return {};
  };

  podSandboxStatus: Impl["podSandboxStatus"] = async (req) => {
    requireId(req.podSandboxId, "pod_sandbox_id");
    const sandbox = this.sandboxes.get(req.podSandboxId);
    const containersStatuses = req.verbose
      ? await Promise.all(
          this.deps.registry
            .containersOf(sandbox.id)
            .filter(visible)
            .map((c) => this.containerStatusOf(c)),
        )
      : [];
    const info: Record<string, string> = {};
    if (req.verbose) {
      info.info = JSON.stringify({
        pid: sandbox.infraPid,
        netnsPath: sandbox.netnsPath,
        cgroupParent: sandbox.cgroupParent,
      });
    }
    return {
      status: sandboxStatus(sandbox),
      info,
      containersStatuses,
      timestamp: this.deps.clock.nowNanos(),
    };
  };

  listPodSandbox: Impl["listPodSandbox"] = async (req) => {
    const f = req.filter;
    const items = [...this.deps.registry.sandboxes.values()]
      .filter((s) => s.state !== "creating")
      .filter((s) => !f?.id || s.id === f.id || s.id.startsWith(f.id))
      .filter((s) => f?.state === undefined || sandboxState(s) === f.state.state)
      .filter((s) => matchesLabels(s.config.labels, f?.labelSelector))
      .map(sandboxSummary);
    return { items };
  };

  createContainer: Impl["createContainer"] = async (req) => {
    requireId(req.podSandboxId, "pod_sandbox_id");
    return { containerId: await this.containers.create(req.podSandboxId, req.config) };
  };

  startContainer: Impl["startContainer"] = async (req) => {
    requireId(req.containerId, "container_id");
    await this.containers.start(req.containerId);
    return {};
  };

  stopContainer: Impl["stopContainer"] = async (req) => {
    requireId(req.containerId, "container_id");
    if (req.timeout < 0n) throw new InvalidArgumentError("timeout", "must not be negative");
    // CRI: stopping an unknown (e.g. already removed) container is not an error.
    if (!this.deps.registry.findContainer(req.containerId)) return {};
    // A grace period beyond what a timer can wait is as good as "wait as long as it takes".
    await this.containers.stop(req.containerId, Number(minBigInt(req.timeout, MAX_TIMEOUT_SECONDS)));
    return {};
  };

  removeContainer: Impl["removeContainer"] = async (req) => {
    requireId(req.containerId, "container_id");
    await this.containers.remove(req.containerId);
    return {};
  };

  listContainers: Impl["listContainers"] = async (req) => {
    const f = req.filter;
    const records = this.containers
      .list()
      .filter((c) => !f?.id || c.id === f.id || c.id.startsWith(f.id))
      .filter(
        (c) => !f?.podSandboxId || c.sandboxId === f.podSandboxId || c.sandboxId.startsWith(f.podSandboxId),
      );
    await Promise.all(records.map((c) => this.containers.refresh(c)));
    const containers = records
      .filter((c) => f?.state === undefined || containerState(c) === f.state.state)
      .filter((c) => matchesLabels(c.config.labels, f?.labelSelector))
      .map(containerSummary);
    return { containers };
  };

  containerStatus: Impl["containerStatus"] = async (req) => {
    requireId(req.containerId, "container_id");
    const record = this.containers.get(req.containerId);
    await this.containers.refresh(record);
    const info: Record<string, string> = {};
    if (req.verbose) {
      info.info = JSON.stringify({
        pid: record.pid,
        sandboxID: record.sandboxId,
        bundle: record.bundleDir,
        cgroupsPath: record.cgroupsPath,
      });
    }
    return { status: await this.containerStatusOf(record), info };
  };

  private async containerStatusOf(c: ContainerRecord): Promise<ContainerStatus> {
    const image = this.deps.images.resolve(c.imageId);
    return {
      id: c.id,
      metadata: c.config.metadata,
      state: containerState(c),
      createdAt: ns(c.createdAt),
      startedAt: ns(c.startedAt),
      finishedAt: ns(c.finishedAt),
      exitCode: c.exitCode,
      image: c.config.image,
      imageRef: image?.repoDigests[0] ?? c.imageId,
      imageId: c.imageId,
      reason: c.reason,
      message: c.message,
      labels: c.config.labels,
      annotations: c.config.annotations,
      mounts: c.config.mounts,
      logPath: c.logPath,
      resources: c.config.linux?.resources ? { linux: c.config.linux.resources } : undefined,
      stopSignal: c.config.stopSignal,
      user: c.user && {
        linux: {
          uid: BigInt(c.user.uid),
          gid: BigInt(c.user.gid),
          supplementalGroups: c.user.additionalGids.map((g) => BigInt(g)),
        },
      },
    };
  }

  updateContainerResources: Impl["updateContainerResources"] = async (req) => {
    requireId(req.containerId, "container_id");
    await this.containers.updateResources(req.containerId, req.linux);
    return {};
  };

  reopenContainerLog: Impl["reopenContainerLog"] = async (req) => {
    requireId(req.containerId, "container_id");
    await this.containers.reopenLog(req.containerId);
    return {};
  };

  execSync: Impl["execSync"] = async (req: ExecSyncRequest, signal?: AbortSignal) => {
    requireId(req.containerId, "container_id");
    if (req.timeout < 0n) throw new InvalidArgumentError("timeout", "must not be negative");
    if (req.timeout > MAX_TIMEOUT_SECONDS) {
      throw new InvalidArgumentError(
        "timeout",
        `${req.timeout}s is more than the ${MAX_TIMEOUT_SECONDS}s berth can wait`,
      );
    }
    const record = this.containers.get(req.containerId);
    await this.containers.refresh(record);
    if (record.state !== "running") {
      throw new FailedPreconditionError(
        `container ${record.id} is ${record.state}, not running: cannot exec in it`,
      );
    }
    const result = await execSync({
      runcBinary: this.deps.runc.binary,
      runcRoot: this.deps.runc.root,
      containerId: record.id,
      process: await this.containers.processSpec(record),
      cmd: req.cmd,
      timeoutSec: Number(req.timeout),
      scratchDir: record.bundleDir,
      ...(signal && { signal }),
      containerPid: record.pid,
    });
    return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode };
  };

  // --- streaming (exec, attach, port-forward) ---
  private streaming: StreamingRequests | undefined;

  /** Connects the streaming server whose URLs Exec, Attach and PortForward return. */
  useStreaming(server: StreamingRequests): void {
    this.streaming = server;
  }

  exec: Impl["exec"] = async (req) => {
    validateExecRequest(req);
    const record = await this.runningContainer(req.containerId, "exec in it");
    return this.streamingServer().getExec({ ...req, containerId: record.id });
  };

  attach: Impl["attach"] = async (req) => {
    validateAttachRequest(req);
    const record = await this.runningContainer(req.containerId, "attach to it");
    return this.streamingServer().getAttach({ ...req, containerId: record.id });
  };

  portForward: Impl["portForward"] = async (req) => {
    validatePortForwardRequest(req);
    const sandbox = this.sandboxes.get(req.podSandboxId);
    if (sandbox.state !== "ready") {
      throw new FailedPreconditionError(`pod sandbox ${sandbox.id} is not ready: cannot forward ports to it`);
    }
    return this.streamingServer().getPortForward({ ...req, podSandboxId: sandbox.id });
  };

  private async runningContainer(id: string, action: string): Promise<ContainerRecord> {
    const record = this.containers.get(id);
    await this.containers.refresh(record);
    if (record.state !== "running") {
      throw new FailedPreconditionError(
        `container ${record.id} is ${record.state}, not running: cannot ${action}`,
      );
    }
    return record;
  }

  private streamingServer(): StreamingRequests {
    if (!this.streaming) throw new UnavailableError("the streaming server is not running");
    return this.streaming;
  }
  // --- end streaming ---

  // --- stats: delegated to cri/stats, which reads the collector's cache ---
  containerStats: Impl["containerStats"] = (req) => this.stats.containerStats(req);
  listContainerStats: Impl["listContainerStats"] = (req) => this.stats.listContainerStats(req);
  podSandboxStats: Impl["podSandboxStats"] = (req) => this.stats.podSandboxStats(req);
  listPodSandboxStats: Impl["listPodSandboxStats"] = (req) => this.stats.listPodSandboxStats(req);
  // --- end stats ---

  // --- CRI metrics: the cadvisor series from the stats collector's cache (cri/stats) ---
  listMetricDescriptors: Impl["listMetricDescriptors"] = (req) =>
    this.extensions.metrics.listMetricDescriptors(req);
  listPodSandboxMetrics: Impl["listPodSandboxMetrics"] = (req) =>
    this.extensions.metrics.listPodSandboxMetrics(req);
  streamPodSandboxMetrics: Impl["streamPodSandboxMetrics"] = (req, signal) =>
    this.extensions.metrics.streamPodSandboxMetrics(req, signal);
  // --- end CRI metrics ---

  updateRuntimeConfig: Impl["updateRuntimeConfig"] = async (req) => {
    await this.extensions.podCidr.update(req.runtimeConfig?.networkConfig?.podCidr ?? "");
    return {};
  };

  checkpointContainer: Impl["checkpointContainer"] = async (req) => {
    requireId(req.containerId, "container_id");
    validateCheckpointLocation(req.location);
    if (req.timeout < 0n) throw new InvalidArgumentError("timeout", "must not be negative");
    const record = await this.runningContainer(req.containerId, "checkpoint it");
    // Before taking the container's lock: CRIU's first check may take a while.
    await this.extensions.checkpointer.requireCriu();
    await this.deps.locks.with(record.id, () =>
      this.extensions.checkpointer.checkpoint(record, {
        location: req.location,
        timeoutSec: Number(req.timeout),
      }),
    );
    return {};
  };

  // --- container events: lifecycle events from berth's event hub (cri/events) ---
  private containerEvents: ContainerEventSource | undefined;

  /** Connects the event hub that GetContainerEvents streams from and sandbox changes go to. */
  useContainerEvents(source: ContainerEventSource): void {
    this.containerEvents = source;
  }

  getContainerEvents: Impl["getContainerEvents"] = (_req, signal) => {
    if (!this.containerEvents) throw new UnavailableError("container events are not enabled");
    return this.containerEvents.subscribe(signal);
  };

  /** The statuses a container event carries: the pod's and those of all its containers. */
  async podStatuses(sandboxId: string): Promise<PodStatuses> {
    const sandbox = this.deps.registry.sandboxes.get(sandboxId);
    const containers = this.deps.registry.containersOf(sandboxId).filter(visible);
    return {
      ...(sandbox && sandbox.state !== "creating" && { podSandboxStatus: sandboxStatus(sandbox) }),
      containersStatuses: await Promise.all(containers.map((c) => this.containerStatusOf(c))),
    };
  }
  // --- end container events ---
}

/** Record times are nanoseconds held in a double; CRI wants int64. */
function ns(value: number): bigint {
  return BigInt(Math.trunc(value));
}

function requireId(value: string, field: string): void {
  if (!value) throw new InvalidArgumentError(field, "is required");
}

function visible(c: ContainerRecord): boolean {
  return c.state !== "creating";
}

function matchesLabels(
  labels: Record<string, string>,
  selector: Record<string, string> | undefined,
): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function sandboxState(s: SandboxRecord): PodSandboxState {
  return s.state === "ready" ? PodSandboxState.SANDBOX_READY : PodSandboxState.SANDBOX_NOTREADY;
}

export function containerState(c: ContainerRecord): ContainerState {
  switch (c.state) {
    case "created":
      return ContainerState.CONTAINER_CREATED;
    case "running":
      return ContainerState.CONTAINER_RUNNING;
    case "exited":
      return ContainerState.CONTAINER_EXITED;
    default:
      return ContainerState.CONTAINER_UNKNOWN;
  }
}

function sandboxSummary(s: SandboxRecord): PodSandbox {
  return {
    id: s.id,
    metadata: s.config.metadata,
    state: sandboxState(s),
    createdAt: ns(s.createdAt),
    labels: s.config.labels,
    annotations: s.config.annotations,
    runtimeHandler: s.runtimeHandler,
  };
}

function sandboxStatus(s: SandboxRecord): PodSandboxStatus {
  const [first, ...rest] = s.ips;
  return {
    id: s.id,
    metadata: s.config.metadata,
    state: sandboxState(s),
    createdAt: ns(s.createdAt),
    network: { ip: first ?? "", additionalIps: rest.map((ip) => ({ ip })) },
    linux: { namespaces: { options: s.config.linux?.securityContext?.namespaceOptions } },
    labels: s.config.labels,
    annotations: s.config.annotations,
    runtimeHandler: s.runtimeHandler,
  };
}

function containerSummary(c: ContainerRecord): Container {
  return {
    id: c.id,
    podSandboxId: c.sandboxId,
    metadata: c.config.metadata,
    image: c.config.image,
    imageRef: c.imageId,
    imageId: c.imageId,
    state: containerState(c),
    createdAt: ns(c.createdAt),
    labels: c.config.labels,
    annotations: c.config.annotations,
  };
}
