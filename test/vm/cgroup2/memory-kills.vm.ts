// Memory kills at memory.max on a real cgroup v2 kernel: the main process killed (the
// container exits OOMKilled, 137) and a child killed while the main process lives on.
import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ContainerState } from "../../../cri/api/generated/api.js";
import { eventually, MiB, type VmRuntime } from "./vm-runtime.js";

const LIMIT = 32 * MiB;
/** Doubles a shell variable until the kernel steps in. */
const HOG = "x=a; while :; do x=$x$x; done";

export function memoryKillTests(vm: () => VmRuntime): void {
  describe("memory kills", () => {
    it("a container whose main process passes memory.max exits OOMKilled, 137, with a container-killed event", async () => {
      const { runtime } = vm();
      const pod = await vm().runPod("oom-main");
      const id = await vm().runContainer(pod, "hog", ["sh", "-c", HOG], {
        linux: { resources: { memoryLimitInBytes: BigInt(LIMIT) } },
      });
      const status = await eventually(async () => {
        const s = await vm().status(id);
        return s.state === ContainerState.CONTAINER_EXITED && s;
      }, "the container's exit");
      assert.equal(status.exitCode, 137);
      assert.equal(status.reason, "OOMKilled");

      const event = await eventually(() => vm().oomEvents.find((e) => e.containerId === id), "the OOM event");
      assert.equal(event.kind, "container-killed");
      assert.equal(event.sandboxId, pod.id);
      assert.equal(event.memoryLimitBytes, LIMIT);
      assert.ok(event.kills >= 1);
      assert.ok((event.memoryPeakBytes ?? 0) > LIMIT * 0.9, `peak ${event.memoryPeakBytes} near the limit`);
      assert.match(event.message, /main process was killed/);
      assert.deepEqual(runtime.oomCounts().get(id), { containerKills: 1, processKills: 0 });
      // Which of the two saw it first is a matter of timing; say which did, for the record.
      const conmonSaw = await stat(join(runtime.deps.paths.containersDir, id, "oom")).then(
        () => true,
        () => false,
      );
      console.log(
        `# main-process kill: conmon oom file ${conmonSaw ? "present" : "absent"}; ${event.message}`,
      );
      await runtime.runtimeService.removePodSandbox({ podSandboxId: pod.id });
    });

    it("a child killed at memory.max is a process-killed event and the container keeps running", async () => {
      const { runtime } = vm();
      const pod = await vm().runPod("oom-child");
      // The hog is a child; the main process becomes `sleep`, which needs next to no memory.
      const id = await vm().runContainer(pod, "survivor", ["sh", "-c", `(${HOG}) & exec sleep 100000`], {
        linux: { resources: { memoryLimitInBytes: BigInt(LIMIT) } },
      });
      const event = await eventually(() => vm().oomEvents.find((e) => e.containerId === id), "the OOM event");
      assert.equal(event.kind, "process-killed");
      assert.equal(event.memoryLimitBytes, LIMIT);
      assert.ok(event.kills >= 1);
      assert.ok(
        event.memoryUsageBytes !== undefined && event.memoryUsageBytes <= LIMIT,
        "usage within the limit",
      );
      assert.ok((event.memoryPeakBytes ?? 0) > LIMIT * 0.9, `peak ${event.memoryPeakBytes} near the limit`);
      assert.match(event.message, /main process is still running/);
      console.log(`# child kill: ${event.message}`);

      const status = await vm().status(id);
      assert.equal(status.state, ContainerState.CONTAINER_RUNNING);
      // On cgroup v2 the kernel notifies changes of memory.events: the kill was seen through inotify.
      assert.equal(runtime.containerEvents.oom.watchMode(id), "watch");
      assert.deepEqual(runtime.oomCounts().get(id), { containerKills: 0, processKills: event.kills });
      // The sampled cgroup agrees: the kernel counted the kill.
      const snapshot = await runtime.stats.collectNow();
      assert.ok((snapshot.containers.get(id)?.stats.memory.oomKillEvents ?? 0) >= 1);

      // Stopped with SIGKILL later: 137 again, but the kill was the child's, so not OOMKilled.
      await runtime.runtimeService.stopContainer({ containerId: id, timeout: 0n });
      const stopped = await vm().status(id);
      assert.equal(stopped.exitCode, 137);
      assert.equal(stopped.reason, "Error");
      assert.equal(vm().oomEvents.filter((e) => e.containerId === id).length, 1);
      await runtime.runtimeService.removePodSandbox({ podSandboxId: pod.id });
    });
  });
}
