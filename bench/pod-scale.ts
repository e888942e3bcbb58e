// Pod start throughput and the memory of many pods: N pods (one sandbox and one container
// each) started one after the other, then the proportional set size (PSS, from
// /proc/<pid>/smaps_rollup) of the runtime's own processes with all of them running (agent,
// conmons and infra processes for berth; containerd, shims and pause for containerd; the
// application containers are not counted); then N pods started C at a time.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { ImageSpec } from "../cri/api/generated/api.js";
import { containerConfig } from "../harness/cri-fixtures.js";
import { envCount, printColumns, timeMs } from "./stats-util.js";
import type { Target } from "./targets.js";

const PODS = envCount("BENCH_PODS", 100);
const CONCURRENCY = envCount("BENCH_CONCURRENCY", 10);

export interface PodScale {
  pods: number;
  sequentialMs: number;
  concurrentMs: number;
  /** Summed PSS of the runtime's processes with every pod running, and how many there were. */
  pssKiB: number;
  processes: number;
  /** The same with no pod at all (the runtime alone). */
  idlePssKiB: number;
}

async function pssKiB(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/smaps_rollup`, "utf8").catch(() => "");
  return Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0);
}

async function totalPss(pids: number[]): Promise<number> {
  let sum = 0;
  for (const pid of pids) sum += await pssKiB(pid);
  return sum;
}

async function startPod(t: Target, image: string, command: string[]): Promise<string> {
  const config = t.sandboxConfig(`scale-${randomBytes(4).toString("hex")}`);
  const { podSandboxId } = await t.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
  const { containerId } = await t.cri.runtime.createContainer({
    podSandboxId,
    config: containerConfig("app", image, command),
    sandboxConfig: config,
  });
  await t.cri.runtime.startContainer({ containerId });
  return podSandboxId;
}

async function removePods(t: Target, ids: string[]): Promise<void> {
  for (const podSandboxId of ids) {
    await t.cri.runtime.stopPodSandbox({ podSandboxId });
    await t.cri.runtime.removePodSandbox({ podSandboxId });
  }
}

export async function measurePodScale(t: Target, image: string, command: string[]): Promise<PodScale> {
  await t.cri.images.imageStatus({ image: ImageSpec.fromPartial({ image }), verbose: false });
  const idlePssKiB = await totalPss(await t.overheadPids());
  const ids: string[] = [];
  try {
    const sequentialMs = await timeMs(async () => {
      for (let i = 0; i < PODS; i++) ids.push(await startPod(t, image, command));
    });
    const pids = await t.overheadPids();
    const pss = await totalPss(pids);
    await removePods(t, ids.splice(0));
    const concurrentMs = await timeMs(async () => {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < PODS) {
          next++;
          ids.push(await startPod(t, image, command));
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, PODS) }, worker));
    });
    return { pods: PODS, sequentialMs, concurrentMs, pssKiB: pss, processes: pids.length, idlePssKiB };
  } finally {
    await removePods(t, ids);
  }
}

export function printPodScale(results: { name: string; scale: PodScale }[]): void {
  if (results.length === 0) return;
  console.log(
    `\npods (one sandbox + one busybox container each): ${PODS} started one at a time, ` +
      `then ${CONCURRENCY} at a time; PSS of the runtime's own processes with all ${PODS} running`,
  );
  const berth = results.find((r) => r.name === "berth")?.scale;
  const rows = results.map(({ name, scale: s }) => [
    name,
    `${((s.pods / s.sequentialMs) * 1000).toFixed(1)} pods/s (${(s.sequentialMs / 1000).toFixed(1)} s)`,
    `${((s.pods / s.concurrentMs) * 1000).toFixed(1)} pods/s (${(s.concurrentMs / 1000).toFixed(1)} s)`,
    `${(s.pssKiB / 1024).toFixed(1)} MiB in ${s.processes} processes`,
    `${((s.pssKiB - s.idlePssKiB) / s.pods).toFixed(0)} KiB`,
    `${(s.idlePssKiB / 1024).toFixed(1)} MiB`,
  ]);
  const other = results.find((r) => r.name === "containerd")?.scale;
  if (berth && other)
    rows.push([
      "berth/containerd",
      `${(other.sequentialMs / berth.sequentialMs).toFixed(2)}x`,
      `${(other.concurrentMs / berth.concurrentMs).toFixed(2)}x`,
      `${(berth.pssKiB / other.pssKiB).toFixed(2)}x`,
      `${((berth.pssKiB - berth.idlePssKiB) / (other.pssKiB - other.idlePssKiB)).toFixed(2)}x`,
      `${(berth.idlePssKiB / other.idlePssKiB).toFixed(2)}x`,
    ]);
  printColumns(
    ["runtime", "sequential start", `${CONCURRENCY} at a time`, "PSS, all pods", "PSS per pod", "PSS idle"],
    rows,
  );
}
