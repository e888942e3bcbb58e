// An in-memory CRI runtime for unit tests of the pod layer: it keeps sandboxes and
// containers as records, records every call, and lets a test make containers exit or calls fail.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { NotFoundError, RuntimeFailureError } from "../../../../common/errors.js";
import {
  ContainerState,
  PodSandboxState,
  type ContainerConfig,
  type ContainerStatus,
  type Image,
  type PodSandboxConfig,
} from "../../../../cri/api/generated/api.js";
import type { ImageServiceApi, RuntimeServiceApi } from "../../../../cri/service-types.js";
import { inProcessClients } from "../../../../agent/runtime-client.js";

export interface FakeSandbox {
  id: string;
  config: PodSandboxConfig;
  ready: boolean;
  createdAt: bigint;
  ip: string;
}

export interface FakeContainer {
  id: string;
  sandboxId: string;
  config: ContainerConfig;
  state: ContainerState;
  createdAt: bigint;
  startedAt: bigint;
  finishedAt: bigint;
  exitCode: number;
  reason: string;
}

type Calls = { method: string; request: unknown }[];

function filterLabels(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

export class FakeRuntime {
  private tick = 1n;

  /** `now` is the test's clock (ms), so that start times agree with the probes' schedule. */
  constructor(private readonly now: () => number = () => Date.now()) {}

  private nowNs(): bigint {
    // Strictly increasing, so that "newest" is well defined.
    this.tick += 1n;
    return BigInt(this.now()) * 1_000_000n + this.tick;
  }

  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly containers = new Map<string, FakeContainer>();
  readonly images = new Map<string, Image>();
  readonly calls: Calls = [];
  /** Makes the next CreateContainer calls fail with this message. */
  failCreate?: string;
  /** Makes PullImage fail with this message (absent: the pull "succeeds" and adds the image). */
  failPull?: string;
  /** Answers ExecSync; default exit 0. */
  exec: (containerId: string, cmd: string[]) => { exitCode: number; stdout?: string } = () => ({
    exitCode: 0,
  });

  addImage(name: string): void {
    this.images.set(name, {
      id: `sha256:${name}`,
      repoTags: [name],
      repoDigests: [],
      size: 1n,
      username: "",
      pinned: false,
    });
  }

  /** The container exits on its own. */
  exit(id: string, exitCode: number, reason = exitCode === 0 ? "Completed" : "Error"): void {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no container ${id}`);
    c.state = ContainerState.CONTAINER_EXITED;
    c.exitCode = exitCode;
    c.reason = reason;
    c.finishedAt = this.nowNs();
  }

  /** The sandbox's infra process died. */
  killSandbox(id: string): void {
    const s = this.sandboxes.get(id)!;
    s.ready = false;
    for (const c of this.containers.values())
      if (c.sandboxId === id && c.state === ContainerState.CONTAINER_RUNNING) this.exit(c.id, 137);
  }

  callsOf(method: string): unknown[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.request);
  }

  running(name: string): FakeContainer[] {
    return [...this.containers.values()].filter(
      (c) => c.config.metadata?.name === name && c.state === ContainerState.CONTAINER_RUNNING,
    );
  }

  clients(): { runtime: RuntimeServiceApi; images: ImageServiceApi } {
    const record = (method: string, request: unknown): void => void this.calls.push({ method, request });
    const runtimeService: Pick<
      RuntimeServiceApi,
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
      | "execSync"
    > = {
      runPodSandbox: async (req) => {
        record("runPodSandbox", req);
        const id = randomBytes(8).toString("hex");
        this.sandboxes.set(id, {
          id,
          config: req.config!,
          ready: true,
          createdAt: this.nowNs(),
          ip: "10.1.0.7",
        });
        return { podSandboxId: id };
      },
      stopPodSandbox: async (req) => {
        record("stopPodSandbox", req);
        const s = this.sandboxes.get(req.podSandboxId);
        if (s) this.killSandbox(s.id);
        return {};
      },
      removePodSandbox: async (req) => {
        record("removePodSandbox", req);
        for (const c of [...this.containers.values()])
          if (c.sandboxId === req.podSandboxId) this.containers.delete(c.id);
        this.sandboxes.delete(req.podSandboxId);
        return {};
      },
      podSandboxStatus: async (req) => {
        const s = this.sandboxes.get(req.podSandboxId);
        if (!s) throw new NotFoundError("pod sandbox", req.podSandboxId);
        return {
          status: {
            id: s.id,
            metadata: s.config.metadata,
            state: s.ready ? PodSandboxState.SANDBOX_READY : PodSandboxState.SANDBOX_NOTREADY,
            createdAt: s.createdAt,
            network: { ip: s.ready ? s.ip : "", additionalIps: [] },
            labels: s.config.labels,
            annotations: s.config.annotations,
            runtimeHandler: "",
          },
          info: {},
          containersStatuses: [],
          timestamp: this.nowNs(),
        };
      },
      listPodSandbox: async (req) => ({
        items: [...this.sandboxes.values()]
          .filter((s) => filterLabels(s.config.labels, req.filter?.labelSelector))
          .map((s) => ({
            id: s.id,
            metadata: s.config.metadata,
            state: s.ready ? PodSandboxState.SANDBOX_READY : PodSandboxState.SANDBOX_NOTREADY,
            createdAt: s.createdAt,
            labels: s.config.labels,
            annotations: s.config.annotations,
            runtimeHandler: "",
          })),
      }),
      createContainer: async (req) => {
        record("createContainer", req);
        if (this.failCreate) throw new RuntimeFailureError(this.failCreate);
        const s = this.sandboxes.get(req.podSandboxId);
        if (!s?.ready) throw new RuntimeFailureError("sandbox not ready");
        const id = randomBytes(8).toString("hex");
        this.containers.set(id, {
          id,
          sandboxId: s.id,
          config: req.config!,
          state: ContainerState.CONTAINER_CREATED,
          createdAt: this.nowNs(),
          startedAt: 0n,
          finishedAt: 0n,
          exitCode: 0,
          reason: "",
        });
        return { containerId: id };
      },
      startContainer: async (req) => {
        record("startContainer", req);
        const c = this.containers.get(req.containerId)!;
        c.state = ContainerState.CONTAINER_RUNNING;
        c.startedAt = this.nowNs();
        return {};
      },
      stopContainer: async (req) => {
        record("stopContainer", req);
        const c = this.containers.get(req.containerId);
        if (c && c.state !== ContainerState.CONTAINER_EXITED) this.exit(c.id, 143, "Error");
        return {};
      },
      removeContainer: async (req) => {
        record("removeContainer", req);
        this.containers.delete(req.containerId);
        return {};
      },
      listContainers: async (req) => ({
        containers: [...this.containers.values()]
          .filter((c) => filterLabels(c.config.labels, req.filter?.labelSelector))
          .filter((c) => !req.filter?.podSandboxId || c.sandboxId === req.filter.podSandboxId)
          .map((c) => ({
            id: c.id,
            podSandboxId: c.sandboxId,
            metadata: c.config.metadata,
            image: c.config.image,
            imageRef: "sha256:img",
            state: c.state,
            createdAt: c.createdAt,
            labels: c.config.labels,
            annotations: c.config.annotations,
            imageId: "sha256:img",
          })),
      }),
      containerStatus: async (req) => {
        const c = this.containers.get(req.containerId);
        if (!c) throw new NotFoundError("container", req.containerId);
        const status: ContainerStatus = {
          id: c.id,
          metadata: c.config.metadata,
          state: c.state,
          createdAt: c.createdAt,
          startedAt: c.startedAt,
          finishedAt: c.finishedAt,
          exitCode: c.exitCode,
          image: c.config.image,
          imageRef: "sha256:img",
          reason: c.reason,
          message: "",
          labels: c.config.labels,
          annotations: c.config.annotations,
          mounts: c.config.mounts,
          // Where a runtime puts the log: the sandbox's log directory joined with the container's path.
          logPath: logPathOf(this.sandboxes.get(c.sandboxId)?.config.logDirectory, c.config.logPath),
          imageId: "sha256:img",
          stopSignal: 0,
        };
        return { status, info: {} };
      },
      execSync: async (req) => {
        record("execSync", req);
        const res = this.exec(req.containerId, req.cmd);
        return { stdout: Buffer.from(res.stdout ?? ""), stderr: Buffer.alloc(0), exitCode: res.exitCode };
      },
    };
    const imageService: Pick<ImageServiceApi, "imageStatus" | "pullImage"> = {
      imageStatus: async (req) => {
        const image = this.images.get(req.image?.image ?? "");
        return image ? { image, info: {} } : { info: {} };
      },
      pullImage: async (req) => {
        record("pullImage", req);
        const name = req.image?.image ?? "";
        if (this.failPull) throw new RuntimeFailureError(this.failPull);
        this.addImage(name);
        return { imageRef: `sha256:${name}` };
      },
    };
    return inProcessClients({ runtimeService, imageService });
  }
}

function logPathOf(logDirectory: string | undefined, logPath: string): string {
  return logDirectory && logPath ? join(logDirectory, logPath) : "";
}
