// Eviction on a real cgroup v2 kernel: a BestEffort pod whose memory grows without a limit is
// evicted by the eviction manager (memory.available below its hard threshold) before the VM
// runs out of memory: the kernel's OOM killer never fires, and a Burstable pod living within
// its request keeps running. The pod manager is not involved: the pods are run through the
// runtime, described to the eviction manager as the pod manager would show them, and
// "evicted" by stopping their sandbox.
//
// For the VM runner (test/vm/main.ts): import { evictionTests } from "./eviction.vm.js" and
// call evictionTests(vm) inside its describe, after the other suites.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { defaultEvictionConfig, parseEvictionConfig } from "../../agent/eviction/config.js";
import { EvictionManager } from "../../agent/eviction/eviction-manager.js";
import { HostObserver } from "../../agent/eviction/host-observer.js";
import { computeObservations } from "../../agent/eviction/signals.js";
import { thresholdQuantity } from "../../agent/eviction/thresholds.js";
import type { PodStatusView } from "../../agent/pods/pod-manager-api.js";
import { validatePod } from "../../agent/podspec/parse.js";
import { podQosClass } from "../../agent/podspec/qos.js";
import { detectHostLayout } from "../../cgroups/detect.js";
import { createLogger } from "../../common/logger.js";
import { ContainerState } from "../../cri/api/generated/api.js";
import { parseMeminfo, parseVmstat } from "../../cri/stats/proc-files.js";
import { CGROUP_ROOT, eventually, MiB, type Pod, type VmRuntime } from "./cgroup2/vm-runtime.js";

/** Grows by 8 MiB every tenth of a second (each shell variable holds its own copy), with no limit. */
const HOG =
  'x=$(head -c 8388608 /dev/zero | tr "\\0" a); i=0; while :; do eval "v$i=\\$x"; i=$((i+1)); usleep 100000; done';

function view(name: string, resources: Record<string, unknown>): PodStatusView {
  const spec = validatePod(
    {
      apiVersion: "v1",
      kind: "Pod",
      // The uid and namespace vm-runtime's runPod gives the sandbox, so stats match the pod.
      metadata: { name, namespace: "vm", uid: `uid-${name}` },
      spec: { containers: [{ name, image: "berth.test/busybox:vm", resources }] },
    },
    { generateUid: () => `uid-${name}` },
  );
  return {
    metadata: { name, namespace: "vm", uid: spec.metadata.uid, labels: {}, annotations: {} },
    spec,
    source: { kind: "api" },
    status: {
      phase: "Running",
      conditions: [],
      podIPs: [],
      qosClass: podQosClass(spec),
      initContainerStatuses: [],
      containerStatuses: [],
    },
    terminating: false,
  };
}

async function oomKillsSoFar(): Promise<number> {
  return parseVmstat(await readFile("/proc/vmstat", "utf8")).get("oom_kill") ?? 0;
}

export function evictionTests(vm: () => VmRuntime): void {
  describe("eviction", () => {
    it("a BestEffort memory hog is evicted before the VM runs out of memory", async () => {
      const { runtime, root } = vm();
      const logger = createLogger(process.env.BERTH_LOG_LEVEL ?? "warn");
      const totalBytes = parseMeminfo(await readFile("/proc/meminfo", "utf8")).get("MemTotal") ?? 0;
      // A third of the VM: far above the kubelet's 100Mi, so the test does not depend on how
      // much the guest's page cache and node itself hold.
      const config = defaultEvictionConfig();
      config.hard["memory.available"] = "33%";
      const policy = parseEvictionConfig(config);
      const oomBefore = await oomKillsSoFar();

      const steadyPod = await vm().runPod("steady");
      const steadyId = await vm().runContainer(steadyPod, "steady", ["sleep", "100000"]);
      const hogPod = await vm().runPod("hog");
      const sandboxes = new Map<string, Pod>([
        ["steady", steadyPod],
        ["hog", hogPod],
      ]);
      let pods: PodStatusView[] = [
        view("steady", { requests: { memory: "64Mi" }, limits: { memory: "128Mi" } }),
        view("hog", {}),
      ];
      const host = new HostObserver({
        layout: await detectHostLayout(),
        podsCgroup: CGROUP_ROOT,
        stateDir: root,
        imagesDir: runtime.images.root,
        logger,
      });
      const before = computeObservations(await host.read()).get("memory.available");
      assert.ok(before, "memory.available is observed");
      const threshold = thresholdQuantity({ percentage: 0.33 }, before.capacity);
      assert.ok(
        before.available > threshold * 1.2,
        `the VM must start well above the threshold: ${Math.round(before.available / MiB)} MiB available`,
      );
      const evicted: { name: string; message: string; signal: string }[] = [];
      const manager = new EvictionManager({
        policy,
        pods: { list: () => pods },
        stats: runtime.stats,
        host,
        reclaimer: { deleteDeadContainers: async () => 0, deleteUnusedImages: async () => 0 },
        evictPod: async (pod, message, signal) => {
          evicted.push({ name: pod.metadata.name, message, signal });
          const sandbox = sandboxes.get(pod.metadata.name);
          if (sandbox) await runtime.runtimeService.stopPodSandbox({ podSandboxId: sandbox.id });
          pods = pods.map((p) =>
            p.metadata.uid === pod.metadata.uid
              ? { ...p, status: { ...p.status, phase: "Failed", reason: "Evicted" } }
              : p,
          );
        },
        logger,
      });
      try {
        const hogId = await vm().runContainer(hogPod, "hog", ["sh", "-c", HOG]);
        manager.start();
        const eviction = await eventually(() => evicted[0], "the hog's eviction", 600_000);
        const available = manager.observations().get("memory.available");
        console.log(
          `# evicted ${eviction.name} (${eviction.signal}) with ${Math.round((available?.available ?? 0) / MiB)} MiB` +
            ` of ${Math.round(totalBytes / MiB)} MiB available: ${eviction.message}`,
        );
        assert.equal(eviction.name, "hog");
        assert.equal(eviction.signal, "memory.available");
        assert.match(
          eviction.message,
          /^The node was low on resource: memory\. Threshold quantity: \d+(Ki|Mi)?, available: /,
        );
        assert.match(eviction.message, /Container hog was using \S+, request is 0\./);
        assert.equal(evicted.length, 1, "one pod evicted, the hog");

        const steady = await vm().status(steadyId);
        assert.equal(
          steady.state,
          ContainerState.CONTAINER_RUNNING,
          "the pod within its request keeps running",
        );
        assert.equal(await oomKillsSoFar(), oomBefore, "the kernel's OOM killer never fired");
        assert.equal(vm().oomEvents.filter((e) => e.containerId === hogId).length, 0);
        assert.ok(manager.pressureConditions().has("MemoryPressure"), "the node reports MemoryPressure");
      } finally {
        await manager.stop();
        for (const pod of sandboxes.values()) {
          await runtime.runtimeService.stopPodSandbox({ podSandboxId: pod.id });
          await runtime.runtimeService.removePodSandbox({ podSandboxId: pod.id });
        }
      }
    });
  });
}
