// What probing costs the agent: CPU and RSS of this process (the PodManager and the berth
// runtime run in it, as in the daemon) over a measurement window, with N pods that each have
// an HTTP readiness probe every 1 s and an exec liveness probe every 10 s, beside the same
// pods without probes (and with the HTTP probe alone, to tell the two kinds apart). Exec probes
// run `runc exec` in child processes: their CPU (and that of what they run, once reaped) is
// shown beside the agent's, from /proc/self/stat cutime+cstime; spawning them counts as the agent's.
//   node dist/bench/probes.js [seconds] [pods]     (defaults: 60 s, 100 pods; env BENCH_PROBE_SECONDS, BENCH_PROBE_PODS)
//   BENCH_PROBE_ONLY=<part of a scenario name>, BENCH_PROBE_PROFILE=<dir> (see profileWindow),
//   BENCH_PROBE_HEAP=<dir> (a heap snapshot per scenario)
import { readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { writeHeapSnapshot } from "node:v8";
import { loadavg } from "node:os";
import { createServer } from "node:net";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { pathToFileURL } from "node:url";
import { silentLogger } from "../common/logger.js";
import { validatePod } from "../agent/podspec/parse.js";
import type { PodSpec } from "../agent/podspec/types.js";
import { PodManager } from "../agent/pods/pod-manager.js";
import { inProcessClients } from "../agent/runtime-client.js";
import { startHarness, type Harness } from "../harness/runtime-harness.js";
import { percentile } from "./stats-util.js";

interface Scenario {
  name: string;
  readiness: boolean;
  liveness: boolean;
}

interface Result {
  scenario: string;
  pods: number;
  seconds: number;
  cpuPercent: number;
  /** The part of cpuPercent spent in the kernel (connect, write, close, fork ...). */
  systemCpuPercent: number;
  childrenCpuPercent: number;
  loadAverage: number;
  rssMedianMiB: number;
  rssMaxMiB: number;
  heapMedianMiB: number;
  probeRunsPerSecond: number;
  startSeconds: number;
}

/**
 * With BENCH_PROBE_PROFILE=<dir>, a CPU profile of the measurement window only (not of the pods'
 * start) is written there per scenario, for Chrome DevTools or any .cpuprofile reader.
 */
async function profileWindow<T>(name: string, window: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_PROBE_PROFILE;
  if (!dir) return window();
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  try {
    return await window();
  } finally {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(join(dir, `${name.replace(/[^a-z0-9]+/gi, "-")}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

/** Clock ticks per second of /proc's CPU times; 100 on every Linux this runs on. */
const CLOCK_TICKS = 100;

/** CPU seconds of this process and of its reaped children, from /proc/self/stat. */
function procCpu(): { self: number; children: number } {
  const stat = readFileSync("/proc/self/stat", "utf8");
  // Fields after the command name (which may hold spaces), from field 3 (state) on.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const field = (n: number): number => Number(fields[n - 3]);
  return {
    self: (field(14) + field(15)) / CLOCK_TICKS,
    children: (field(16) + field(17)) / CLOCK_TICKS,
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function benchPod(index: number, image: string, port: number, scenario: Scenario): PodSpec {
  const serve = `mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 127.0.0.1:${port} -h /www`;
  return validatePod({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `bench-${index}`,
      namespace: "bench",
      uid: `bench-${index}-${randomBytes(4).toString("hex")}`,
    },
    spec: {
      // Without CNI, pods get a loopback-only network namespace: the probes reach httpd on the host's.
      hostNetwork: true,
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: "httpd",
          image,
          command: ["sh", "-c", serve],
          ...(scenario.readiness && {
            readinessProbe: { httpGet: { port, path: "/index.html" }, periodSeconds: 1 },
          }),
          ...(scenario.liveness && { livenessProbe: { exec: { command: ["true"] }, periodSeconds: 10 } }),
        },
      ],
    },
  });
}

async function waitUntil(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function runScenario(
  h: Harness,
  image: string,
  scenario: Scenario,
  pods: number,
  seconds: number,
): Promise<Result> {
  const clients = inProcessClients(h.runtime);
  const manager = new PodManager({
    runtime: clients.runtime,
    images: clients.images,
    logger: silentLogger(),
    stateDir: join(h.root, `agent-${randomBytes(3).toString("hex")}`),
    podLogsDir: join(h.root, "logs"),
    cgroupRoot: h.cgroupRoot,
    cgroups: h.runtime.deps.cgroups,
    nodeName: "bench",
    hostIPs: ["127.0.0.1"],
    sourcesReadyDelayMs: 3_600_000,
  });
  await manager.start();
  let probeRuns = 0;
  manager.onProbe(() => probeRuns++);
  const started = Date.now();
  try {
    const ports = await Promise.all(Array.from({ length: pods }, () => freePort()));
    await Promise.all(
      ports.map((port, i) => manager.apply(benchPod(i, image, port, scenario), { kind: "api" })),
    );
    const ready = (): boolean =>
      manager.list().length === pods &&
      manager.list().every((p) => p.status.conditions.some((c) => c.type === "Ready" && c.status === "True"));
    await waitUntil(ready, 10 * 60_000, `${pods} pods Ready`);
    const startSeconds = (Date.now() - started) / 1000;
    // Let the first-run jitter of the probes and the start-up work die down.
    await new Promise((resolve) => setTimeout(resolve, 10_000));

    const rss: number[] = [];
    const heap: number[] = [];
    const cpuBefore = process.cpuUsage();
    const procBefore = procCpu();
    const loadBefore = loadavg()[0] ?? 0;
    const wallBefore = process.hrtime.bigint();
    const runsBefore = probeRuns;
    await profileWindow(scenario.name, async () => {
      for (let i = 0; i < seconds; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const memory = process.memoryUsage();
        rss.push(memory.rss / 1024 / 1024);
        heap.push(memory.heapUsed / 1024 / 1024);
      }
    });
    const cpu = process.cpuUsage(cpuBefore);
    const wallSeconds = Number(process.hrtime.bigint() - wallBefore) / 1e9;
    const procAfter = procCpu();
    // BENCH_PROBE_HEAP=<dir>: a heap snapshot at the end of the window, after the figures are taken.
    const heapDir = process.env.BENCH_PROBE_HEAP;
    if (heapDir)
      writeHeapSnapshot(join(heapDir, `${scenario.name.replace(/[^a-z0-9]+/gi, "-")}.heapsnapshot`));
    return {
      scenario: scenario.name,
      pods,
      seconds: wallSeconds,
      cpuPercent: ((cpu.user + cpu.system) / 1e6 / wallSeconds) * 100,
      systemCpuPercent: (cpu.system / 1e6 / wallSeconds) * 100,
      childrenCpuPercent: ((procAfter.children - procBefore.children) / wallSeconds) * 100,
      loadAverage: ((loadavg()[0] ?? 0) + loadBefore) / 2,
      rssMedianMiB: percentile(rss, 50),
      rssMaxMiB: Math.max(...rss),
      heapMedianMiB: percentile(heap, 50),
      probeRunsPerSecond: (probeRuns - runsBefore) / wallSeconds,
      startSeconds,
    };
  } finally {
    await Promise.all(manager.list().map((p) => manager.delete(p.metadata.namespace, p.metadata.name, 0)));
    await manager.stop();
  }
}

function printResults(results: Result[]): void {
  const header = [
    "scenario",
    "pods",
    "window",
    "agent CPU",
    "of it kernel",
    "children CPU",
    "RSS median",
    "RSS max",
    "heap median",
    "probe runs/s",
    "start all",
    "load avg",
  ];
  const lines = results.map((r) => [
    r.scenario,
    String(r.pods),
    `${r.seconds.toFixed(0)} s`,
    `${r.cpuPercent.toFixed(1)} %`,
    `${r.systemCpuPercent.toFixed(1)} %`,
    `${r.childrenCpuPercent.toFixed(1)} %`,
    `${r.rssMedianMiB.toFixed(0)} MiB`,
    `${r.rssMaxMiB.toFixed(0)} MiB`,
    `${r.heapMedianMiB.toFixed(0)} MiB`,
    r.probeRunsPerSecond.toFixed(1),
    `${r.startSeconds.toFixed(0)} s`,
    r.loadAverage.toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  console.log(
    "\nagent cost of probes (agent CPU: this process, pod workers + in-process runtime; children CPU: " +
      "reaped children, runc exec and what it ran; 1 CPU = 100 %)",
  );
  for (const line of [header, ...lines]) console.log(line.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  "));
}

/** A positive number from the command line or the environment (run.js passes a bench name as argv[2]). */
function setting(arg: string | undefined, env: string | undefined, fallback: number): number {
  for (const value of [arg, env]) {
    const n = Number(value);
    if (value !== undefined && Number.isFinite(n) && n > 0) return n;
  }
  return fallback;
}

export async function main(
  seconds: number = setting(process.argv[2], process.env.BENCH_PROBE_SECONDS, 60),
  pods: number = setting(process.argv[3], process.env.BENCH_PROBE_PODS, 100),
): Promise<void> {
  const h = await startHarness();
  const results: Result[] = [];
  try {
    const image = await h.importBusybox();
    const scenarios: Scenario[] = [
      { name: "no probes", readiness: false, liveness: false },
      { name: "readiness httpGet 1s", readiness: true, liveness: false },
      { name: "readiness httpGet 1s + liveness exec 10s", readiness: true, liveness: true },
    ];
    // BENCH_PROBE_ONLY=<text> runs only the scenarios whose name contains it (e.g. "httpGet").
    const only = process.env.BENCH_PROBE_ONLY;
    for (const scenario of scenarios.filter((s) => only === undefined || s.name.includes(only))) {
      results.push(await runScenario(h, image, scenario, pods, seconds));
    }
  } finally {
    await h.runtime.deps.cgroups.remove(`${h.cgroupRoot}/pods`).catch(() => undefined);
    await h.cleanup();
  }
  printResults(results);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main();
}
