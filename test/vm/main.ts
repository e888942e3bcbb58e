// The cgroup v2 VM tests, all in one process and one runtime (see test/vm/run.sh): memory
// kills, CPU throttling and pressure stall information, which this project's hosts (hybrid
// v1/v2) cannot show, and the host-shape checks on a pure v2 host. Run with node's own test runner on the compiled JavaScript.
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import { after, before, describe } from "node:test";
import { detectHostLayout } from "../../cgroups/detect.js";
import { cpuAndPressureTests } from "./cgroup2/cpu-and-pressure.vm.js";
import { hostShapeTests } from "./cgroup2/host-shape.vm.js";
import { memoryKillTests } from "./cgroup2/memory-kills.vm.js";
import { evictionTests } from "./eviction.vm.js";
import { startVmRuntime, type VmRuntime } from "./cgroup2/vm-runtime.js";

const started = performance.now();
let runtime: VmRuntime | undefined;

function vm(): VmRuntime {
  if (!runtime) throw new Error("the VM runtime did not start");
  return runtime;
}

describe("berth on a pure cgroup v2 kernel", () => {
  before(async () => {
    const layout = await detectHostLayout();
    assert.equal(
      layout.mode,
      "unified",
      "these tests run in the cgroup v2 VM (npm run test:vm), not on the host",
    );
    runtime = await startVmRuntime();
    console.log(`# runtime ready ${seconds()} after node started`);
  });

  after(async () => {
    await runtime?.close();
    console.log(`# VM tests done ${seconds()} after node started`);
  });

  hostShapeTests();
  memoryKillTests(vm);
  cpuAndPressureTests(vm);
  evictionTests(vm);
});

function seconds(): string {
  return `${((performance.now() - started) / 1000).toFixed(1)} s`;
}
