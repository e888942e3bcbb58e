// CPU throttling at cpu.max and pressure stall information, on a real cgroup v2 kernel: a busy
// loop held to a tenth of a CPU is throttled in most of its periods, which the stats reader
// and CRI stats show and the throttling event reports; PSI is read for every container.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Pressure } from "../../../cgroups/v2/psi.js";
import type { ContainerSample } from "../../../cri/stats/types.js";
import { eventually, THROTTLING_WINDOW_SECONDS, type Pod, type VmRuntime } from "./vm-runtime.js";

export function cpuAndPressureTests(vm: () => VmRuntime): void {
  describe("CPU throttling and pressure", () => {
    let pod: Pod;
    let busy: string;

    before(async () => {
      pod = await vm().runPod("cpu");
      busy = await vm().runContainer(pod, "busy", ["sh", "-c", "while :; do :; done"], {
        linux: { resources: { cpuQuota: 10_000n, cpuPeriod: 100_000n } },
      });
    });

    after(async () => {
      if (pod) await vm().runtime.runtimeService.removePodSandbox({ podSandboxId: pod.id });
    });

    it("a busy loop at cpu.max 10000/100000 is throttled: nr_throttled and throttled time in its stats", async () => {
      const { runtime } = vm();
      const sample = await eventually(async () => {
        const s = (await runtime.stats.collectNow()).containers.get(busy);
        return s !== undefined && s.stats.cpu.throttledPeriods > 0 && s;
      }, "throttled periods");
      const cpu = sample.stats.cpu;
      assert.ok(cpu.periods >= cpu.throttledPeriods);
      assert.ok(cpu.throttledNanos > 0, "throttled time is counted");
      console.log(
        `# cpu.stat: ${cpu.throttledPeriods} of ${cpu.periods} periods throttled, ${(cpu.throttledNanos / 1e9).toFixed(2)} s`,
      );
      // CRI ContainerStats answers from the same sample (CRI has no throttling fields: usage and PSI).
      const { stats } = await runtime.runtimeService.containerStats({ containerId: busy });
      assert.ok((stats?.cpu?.usageCoreNanoSeconds?.value ?? 0n) > 0n);
    });

    it("the throttling event fires once the window closes, with the share in its message", async () => {
      const event = await eventually(
        () => vm().throttlingEvents.find((e) => e.containerId === busy),
        "the CPU throttling event",
      );
      assert.equal(event.sandboxId, pod.id);
      assert.ok(event.share > 0.25, `share ${event.share}`);
      assert.ok(event.share <= 1);
      assert.ok(event.windowSeconds >= THROTTLING_WINDOW_SECONDS);
      assert.ok(event.throttledPeriods <= event.periods);
      assert.match(event.message, new RegExp(`${Math.round(event.share * 100)}% of CFS periods`));
      console.log(`# throttling: ${event.message}`);
    });

    it("PSI (cpu, memory, io) is in the stats reader's output and in CRI stats", async () => {
      const { runtime } = vm();
      const sample: ContainerSample = await eventually(
        async () => (await runtime.stats.collectNow()).containers.get(busy),
        "a stats sample",
      );
      const psi = sample.stats.psi;
      assert.ok(psi, "the reader returns PSI on this kernel");
      for (const [name, pressure] of Object.entries({ cpu: psi.cpu, memory: psi.memory, io: psi.io })) {
        assertPressure(name, pressure);
      }
      console.log(
        `# psi: cpu some total ${psi.cpu?.some.totalUsec} us, memory some total ${psi.memory?.some.totalUsec} us, io some total ${psi.io?.some.totalUsec} us`,
      );
      const { stats } = await runtime.runtimeService.containerStats({ containerId: busy });
      assert.ok(stats?.cpu?.psi, "CRI ContainerStats carries cpu PSI");
      assert.ok(stats?.memory?.psi, "CRI ContainerStats carries memory PSI");
    });
  });
}

function assertPressure(name: string, pressure: Pressure | undefined): void {
  assert.ok(pressure, `${name}.pressure is read`);
  for (const line of [pressure.some, pressure.full]) {
    if (!line) continue;
    for (const value of [line.avg10, line.avg60, line.avg300, line.totalUsec]) {
      assert.ok(Number.isFinite(value) && value >= 0, `${name} pressure values are numbers`);
    }
  }
  assert.ok(pressure.full, `${name}.pressure has a "full" line on this kernel`);
}
