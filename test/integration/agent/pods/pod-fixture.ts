// A PodManager over a real in-process runtime (harness/runtime-harness.ts), with short
// intervals so that tests run in seconds, and helpers to build pods and wait for their state.
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { silentLogger } from "../../../../common/logger.js";
import { validatePod } from "../../../../agent/podspec/parse.js";
import type { PodSpec } from "../../../../agent/podspec/types.js";
import { PodManager, type PodManagerOptions } from "../../../../agent/pods/pod-manager.js";
import type { PodChange, PodStatusView } from "../../../../agent/pods/pod-manager-api.js";
import { inProcessClients } from "../../../../agent/runtime-client.js";
import { startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { waitFor } from "../../../../harness/cri-fixtures.js";

export interface PodFixture {
  harness: Harness;
  image: string;
  manager: PodManager;
  changes: PodChange[];
  options: PodManagerOptions;
  /** A second manager over the same runtime and state, as after an agent restart. */
  restartManager(): Promise<PodManager>;
  pod(name: string, spec: Record<string, unknown>, metadata?: Record<string, unknown>): PodSpec;
  waitForPod(
    name: string,
    check: (pod: PodStatusView) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<PodStatusView>;
  cleanup(): Promise<void>;
}

/**
 * viaSocket: the pod manager reaches the runtime through berth's own CRI socket (a gRPC
 * client), as it would any other CRI runtime, instead of in-process.
 */
export async function startPodFixture(
  extra: Partial<PodManagerOptions> = {},
  { viaSocket = false }: { viaSocket?: boolean } = {},
): Promise<PodFixture> {
  const harness = await startHarness();
  const image = await harness.importBusybox();
  const resolvConf = join(harness.root, "resolv.conf");
  await writeFile(resolvConf, "nameserver 127.0.0.53\n");
  const clients = viaSocket ? harness.cri : inProcessClients(harness.runtime);
  const options: PodManagerOptions = {
    runtime: clients.runtime,
    images: clients.images,
    logger: silentLogger(),
    stateDir: join(harness.root, "agent"),
    podLogsDir: join(harness.root, "logs"),
    cgroupRoot: harness.cgroupRoot,
    cgroups: harness.runtime.deps.cgroups,
    nodeName: "test-node",
    hostIPs: ["127.0.0.1"],
    hostResolvConf: resolvConf,
    relistIntervalMs: 200,
    resyncIntervalMs: 2_000,
    sourcesReadyDelayMs: 0,
    crashBackoff: { initialDelayMs: 1_000, maxDelayMs: 8_000 },
    imagePullBackoff: { initialDelayMs: 1_000, maxDelayMs: 8_000 },
    ...extra,
  };
  const changes: PodChange[] = [];
  const managers: PodManager[] = [];
  const create = async (): Promise<PodManager> => {
    const manager = new PodManager(options);
    manager.watch((change) => changes.push(change));
    await manager.start();
    managers.push(manager);
    return manager;
  };
  const fixture: PodFixture = {
    harness,
    image,
    manager: await create(),
    changes,
    options,
    async restartManager() {
      await fixture.manager.stop();
      fixture.manager = await create();
      return fixture.manager;
    },
    pod(name, spec, metadata = {}) {
      return validatePod({
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name,
          namespace: "default",
          uid: `uid-${name}-${randomBytes(3).toString("hex")}`,
          ...metadata,
        },
        spec: { terminationGracePeriodSeconds: 2, ...spec },
      });
    },
    async waitForPod(name, check, what, timeoutMs = 30_000) {
      let last: PodStatusView | undefined;
      try {
        await waitFor(
          async () => {
            last = fixture.manager.get("default", name);
            return last !== undefined && check(last);
          },
          timeoutMs,
          what,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}; last status: ${JSON.stringify(last?.status, null, 1)}`);
      }
      return last as PodStatusView;
    },
    async cleanup() {
      for (const pod of fixture.manager.list()) {
        await fixture.manager.delete(pod.metadata.namespace, pod.metadata.name, 0).catch(() => undefined);
      }
      for (const m of managers) await m.stop();
      await assertNoPodCgroups(harness);
      await harness.cleanup();
    },
  };
  return fixture;
}

/** Fails if a pod cgroup outlived its pod, then removes berth's QoS parents (kept, as the kubelet keeps them). */
async function assertNoPodCgroups(harness: Harness): Promise<void> {
  const cgroups = harness.runtime.deps.cgroups;
  const pods = `${harness.cgroupRoot}/pods`;
  const dirs = cgroups.resolveCgroupDirs(pods);
  const left: string[] = [];
  for (const dir of [...Object.values(dirs.v1), ...(dirs.unified ? [dirs.unified] : [])]) {
    for (const qos of ["guaranteed", "burstable", "besteffort"]) {
      const entries = await readdir(join(dir, qos), { withFileTypes: true }).catch(() => []);
      left.push(...entries.filter((e) => e.isDirectory()).map((e) => join(dir, qos, e.name)));
    }
  }
  await cgroups.remove(pods);
  if (left.length > 0) throw new Error(`pod cgroups left behind: ${[...new Set(left)].join(", ")}`);
}

/** A TCP port nobody listens on right now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function ensureDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true });
}

export function containerState(pod: PodStatusView, name: string): string {
  const status = [...pod.status.initContainerStatuses, ...pod.status.containerStatuses].find(
    (c) => c.name === name,
  );
  if (!status) return "none";
  return Object.keys(status.state)[0] ?? "none";
}
