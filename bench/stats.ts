// What the stats collector costs with real containers: N busybox sleeps (default 100) in a
// few pods on this host's cgroups, then one collection pass, the CRI ListContainerStats over
// all of them (in-process and through the socket), and a /metrics and /stats/summary render.
// `node dist/bench/stats.js [containers]`, or BENCH_STATS_CONTAINERS.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createAgentMetrics } from "../agent/http/metrics.js";
import { buildSummary } from "../agent/http/summary.js";
import type { PodSandboxConfig } from "../cri/api/generated/api.js";
import { containerConfig } from "../harness/cri-fixtures.js";
import { sandboxConfig, startHarness, type Harness } from "../harness/runtime-harness.js";
import { printTable, timeMs } from "./stats-util.js";

const PODS = 4;
const PASSES = 10;
const LISTS = 50;

export async function main(
  containers = Number(process.argv[2] ?? process.env.BENCH_STATS_CONTAINERS ?? 100),
): Promise<void> {
  // The interval never fires during the bench: every pass is one the bench asked for.
  const h = await startHarness({ statsIntervalSeconds: 3600 });
  try {
    const started = await timeMs(() => startContainers(h, containers));
    console.log(`\nstarted ${containers} containers in ${PODS} pods in ${(started / 1000).toFixed(1)} s`);
    const stats = h.runtime.stats;
    await stats.collectNow(); // warm: first samples, first disk usage walk

    const fullPass: number[] = [];
    const cgroupPass: number[] = [];
    // CPU time, not only wall time: the pass overlaps I/O, so wall time overstates its cost.
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < PASSES; i++) {
      let passSeconds = 0;
      fullPass.push(await timeMs(async () => ({ passSeconds } = await stats.collectNow())));
      cgroupPass.push(passSeconds * 1000);
    }
    const cpu = process.cpuUsage(cpuBefore);
    const cpuPerPassMs = (cpu.user + cpu.system) / 1000 / PASSES;
    const sampled = stats.all().containers.size;
    if (sampled !== containers)
      throw new Error(`the cache holds ${sampled} containers, expected ${containers}`);

    const inProcess: number[] = [];
    const overSocket: number[] = [];
    for (let i = 0; i < LISTS; i++) {
      inProcess.push(await timeMs(() => h.runtime.runtimeService.listContainerStats({})));
      overSocket.push(await timeMs(() => h.cri.runtime.listContainerStats({})));
    }
    const listed = (await h.cri.runtime.listContainerStats({})).stats.length;
    if (listed !== containers)
      throw new Error(`ListContainerStats returned ${listed}, expected ${containers}`);

    const metrics = createAgentMetrics(stats);
    const scrape: number[] = [];
    const summary: number[] = [];
    let bytes = 0;
    for (let i = 0; i < LISTS; i++) {
      scrape.push(await timeMs(async () => (bytes = (await metrics.registry.metrics()).length)));
      summary.push(
        await timeMs(async () => JSON.stringify(buildSummary(stats.all(), { nodeName: "bench" }))),
      );
    }
    metrics.close();

    printTable(`stats collection with ${containers} running containers in ${PODS} pods`, [
      { name: `collection pass: cgroups + /proc (${PASSES} runs)`, samples: cgroupPass },
      { name: `collectNow: pass + disk usage walk (${PASSES} runs)`, samples: fullPass },
      { name: `ListContainerStats in-process (${LISTS} runs)`, samples: inProcess },
      { name: `ListContainerStats over the socket (${LISTS} runs)`, samples: overSocket },
      { name: `/metrics render, ${(bytes / 1024).toFixed(0)} KiB (${LISTS} runs)`, samples: scrape },
      { name: `/stats/summary build + JSON (${LISTS} runs)`, samples: summary },
    ]);
    console.log(
      `CPU time of the agent process per collectNow (pass + disk walk): ${cpuPerPassMs.toFixed(1)} ms ` +
        `(${((cpuPerPassMs / containers) * 1000).toFixed(0)} µs per container)`,
    );
  } finally {
    await h.cleanup();
  }
}

async function startContainers(h: Harness, count: number): Promise<void> {
  const image = await h.importBusybox();
  const pods: { id: string; config: PodSandboxConfig }[] = [];
  for (let p = 0; p < PODS; p++) {
    const config = sandboxConfig(`bench-stats-${p}`, { logDirectory: join(h.root, "logs", String(p)) });
    pods.push({
      id: (await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" })).podSandboxId,
      config,
    });
  }
  // A few at a time: each start is runc and conmon processes, and the host has two cores.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const pod = pods[i % PODS]!;
      const { containerId } = await h.cri.runtime.createContainer({
        podSandboxId: pod.id,
        config: containerConfig(`sleeper-${i}`, image, ["sleep", "100000"]),
        sandboxConfig: pod.config,
      });
      await h.cri.runtime.startContainer({ containerId });
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main();
}
