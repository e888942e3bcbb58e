// One berth runtime for every cgroup v2 test in the VM: starting node and loading the runtime
// is the dearest part of a run under emulation, so the tests share it. State lives on the
// guest's tmpfs (/tmp, /run), cgroups under an absolute root, and runc and conmon are the
// host's (the guest's root is the host's, read-only).
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import {
  ContainerConfig,
  PodSandboxConfig,
  type ContainerStatus,
  type DeepPartial,
} from "../../../cri/api/generated/api.js";
import { createBerthRuntime, type BerthRuntime } from "../../../cri/runtime/berth-runtime.js";
import type { CpuThrottlingEvent, OomEvent } from "../../../cri/events/types.js";
import { createLogger } from "../../../common/logger.js";
import { buildBusyboxImage } from "../../../harness/oci-image.js";

export const CGROUP_ROOT = "/berth-vm";
/** The throttling window of these tests: short, so a few stats passes close it. */
export const THROTTLING_WINDOW_SECONDS = 3;

export interface Pod {
  readonly id: string;
  readonly config: PodSandboxConfig;
}

export interface VmRuntime {
  readonly runtime: BerthRuntime;
  readonly image: string;
  readonly root: string;
  /** Every OOM and throttling event since the start. */
  readonly oomEvents: OomEvent[];
  readonly throttlingEvents: CpuThrottlingEvent[];
  runPod(name: string): Promise<Pod>;
  /** Creates and starts a container in the pod. */
  runContainer(
    pod: Pod,
    name: string,
    command: string[],
    extra?: DeepPartial<ContainerConfig>,
  ): Promise<string>;
  status(containerId: string): Promise<ContainerStatus>;
  /** Removes every pod and checks that no cgroup is left under the root. */
  close(): Promise<void>;
}

export async function startVmRuntime(): Promise<VmRuntime> {
  const root = await mkdtemp("/tmp/berth-vm-");
  await mkdir("/run/berth-vm", { recursive: true });
  const runtime = await createBerthRuntime({
    stateDir: join(root, "state"),
    runDir: "/run/berth-vm",
    // Warnings and errors (OOM and throttling events are warnings) go to the run's output.
    logger: createLogger(process.env.BERTH_LOG_LEVEL ?? "warn"),
    cgroupRoot: CGROUP_ROOT,
    statsIntervalSeconds: 1,
    cpuThrottling: { share: 0.25, windowSeconds: THROTTLING_WINDOW_SECONDS, minPeriods: 5 },
    // The guest's /tmp is a tmpfs of about 1 GiB: less than the 1 GiB berth keeps free on the
    // image filesystem by default.
    imageLimits: { reservedFreeBytes: 64 * 1024 * 1024 },
  });
  const oomEvents: OomEvent[] = [];
  const throttlingEvents: CpuThrottlingEvent[] = [];
  runtime.onOom((event) => oomEvents.push(event));
  runtime.onCpuThrottled((event) => throttlingEvents.push(event));

  const imageDir = join(root, "image");
  const image = "berth.test/busybox:vm";
  await buildBusyboxImage(imageDir, { name: image });
  await runtime.images.importOciLayout(imageDir);
  await rm(imageDir, { recursive: true, force: true });

  const service = runtime.runtimeService;
  return {
    runtime,
    image,
    root,
    oomEvents,
    throttlingEvents,
    async runPod(name) {
      const config = PodSandboxConfig.fromPartial({
        metadata: { name, namespace: "vm", uid: `uid-${name}`, attempt: 0 },
        hostname: name,
        logDirectory: join(root, "logs", name),
      });
      const { podSandboxId } = await service.runPodSandbox({ config, runtimeHandler: "" });
      return { id: podSandboxId, config };
    },
    async runContainer(pod, name, command, extra = {}) {
      const config = ContainerConfig.fromPartial({
        metadata: { name, attempt: 0 },
        image: { image },
        command,
        logPath: `${name}.log`,
        ...extra,
      });
      const { containerId } = await service.createContainer({
        podSandboxId: pod.id,
        config,
        sandboxConfig: pod.config,
      });
      await service.startContainer({ containerId });
      return containerId;
    },
    async status(containerId) {
      const { status } = await service.containerStatus({ containerId, verbose: false });
      if (!status) throw new Error(`no status for container ${containerId}`);
      return status;
    },
    async close() {
      const { items } = await service.listPodSandbox({});
      for (const pod of items) {
        await service.stopPodSandbox({ podSandboxId: pod.id });
        await service.removePodSandbox({ podSandboxId: pod.id });
      }
      await runtime.close();
      const left = await leftoverCgroups(join("/sys/fs/cgroup", CGROUP_ROOT));
      if (left.length > 0) throw new Error(`cgroups left behind: ${left.join(", ")}`);
    },
  };
}

/** Cgroups below `dir` holding a pod or container (berth's own grouping dirs may stay). */
async function leftoverCgroups(dir: string): Promise<string[]> {
  const left: string[] = [];
  const walk = async (path: string, depth: number): Promise<void> => {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      if (depth >= 1) left.push(join(path, entry.name));
      await walk(join(path, entry.name), depth + 1);
    }
  };
  await walk(dir, 0);
  return left;
}

/** Polls `check` until it holds; the timeout is a guard against hangs, not a measurement. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 180_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export const MiB = 1024 * 1024;
