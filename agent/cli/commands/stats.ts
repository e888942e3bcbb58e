// `berth stats` and `berth top`: CPU and memory of containers, from the CRI stats RPCs
// (the agent's stats collector), named from ListContainers and ListPodSandbox.
import { InvalidArgumentError as CommanderArgumentError, Option } from "commander";
import { setTimeout as sleep } from "node:timers/promises";
import type { ServiceError } from "@grpc/grpc-js";
import { type Container, type ContainerStats, type PodSandbox } from "../../../cri/api/generated/api.js";
import type { CriClients } from "../../../cri/grpc-client.js";
import { resolveContainer } from "../container-ref.js";
import type { RegisterCommand } from "../context.js";
import { humanBytes, shortId, structured, table } from "../output.js";

const GRPC_UNIMPLEMENTED = 12;
const CLEAR_SCREEN = "\x1b[H\x1b[2J";

export interface StatsRow {
  id: string;
  name: string;
  pod: string;
  /** 100 = one core busy; undefined until the collector has a rate. */
  cpuPercent?: number;
  memoryBytes?: number;
  memoryLimitBytes?: number;
}

/** A CPU reading kept between refreshes, for a rate when the runtime gives none. */
export interface CpuSample {
  timestamp: bigint;
  usageCoreNanoSeconds: bigint;
}

interface StatsOptions {
  all?: boolean;
  output: "table" | "json" | "yaml";
  watch?: boolean;
  interval: number;
}

export const registerStats: RegisterCommand = (program, ctx) => {
  program
    .command("stats")
    .description("show CPU and memory use of running containers")
    .argument("[containers...]", "container ids, unique id prefixes or names (default: all)")
    .option("-a, --all", "list containers that are not running too")
    .addOption(
      new Option("-o, --output <format>", "output format")
        .choices(["table", "json", "yaml"])
        .default("table"),
    )
    .option("-w, --watch", "refresh until interrupted")
    .option("--interval <seconds>", "seconds between refreshes with --watch", parseInterval, 2)
    .action(async (refs: string[], opts: StatsOptions) =>
      ctx.withCri((cri) =>
        runStats(cri, refs, opts, { sortByCpu: opts.watch === true, title: "berth stats" }),
      ),
    );

  program
    .command("top")
    .description("a refreshing view of container CPU and memory, busiest first (q or Ctrl-C quits)")
    .argument("[containers...]", "container ids, unique id prefixes or names (default: all running)")
    .option("--interval <seconds>", "seconds between refreshes", parseInterval, 2)
    .action(async (refs: string[], opts: { interval: number }) =>
      ctx.withCri((cri) =>
        runStats(
          cri,
          refs,
          { output: "table", watch: true, interval: opts.interval },
          { sortByCpu: true, title: "berth top" },
        ),
      ),
    );
};

function parseInterval(value: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n))
    throw new CommanderArgumentError("expected a number of seconds above 0");
  return n;
}

async function runStats(
  cri: CriClients,
  refs: string[],
  opts: StatsOptions,
  view: { sortByCpu: boolean; title: string },
): Promise<void> {
  const previous = new Map<string, CpuSample>();
  const snapshot = async (): Promise<string> => {
    const { stats, containers, sandboxes } = await fetchStats(cri);
    const wanted =
      refs.length > 0 ? new Set(refs.map((r) => resolveContainer(containers, r).container.id)) : undefined;
    const shown = stats.filter((s) => !wanted || wanted.has(s.attributes?.id ?? ""));
    if (opts.output !== "table") return structured(shown, opts.output);
    const rows = statsRows(shown, containers, sandboxes, previous);
    if (opts.all) rows.push(...idleRows(containers, sandboxes, rows, wanted));
    rememberCpu(shown, previous);
    return renderStats(sortRows(rows, view.sortByCpu));
  };
  if (!opts.watch) {
    process.stdout.write(await snapshot());
    return;
  }
  await watch(snapshot, opts.interval * 1000, view.title);
}

export async function fetchStats(
  cri: CriClients,
): Promise<{ stats: ContainerStats[]; containers: Container[]; sandboxes: PodSandbox[] }> {
  try {
    const [{ stats }, { containers }, { items }] = await Promise.all([
      cri.runtime.listContainerStats({}),
      cri.runtime.listContainers({}),
      cri.runtime.listPodSandbox({}),
    ]);
    return { stats, containers, sandboxes: items };
  } catch (err) {
    if ((err as Partial<ServiceError>).code === GRPC_UNIMPLEMENTED) {
      throw new Error("this agent does not serve container stats (ListContainerStats is unimplemented)");
    }
    throw err;
  }
}

/** One row per stats entry: names from the container and sandbox lists, CPU as crictl shows it. */
export function statsRows(
  stats: ContainerStats[],
  containers: Container[],
  sandboxes: PodSandbox[],
  previous: ReadonlyMap<string, CpuSample> = new Map(),
): StatsRow[] {
  const byId = new Map(containers.map((c) => [c.id, c]));
  const podNames = new Map(sandboxes.map((s) => [s.id, s.metadata?.name ?? ""]));
  return stats.map((s) => {
    const id = s.attributes?.id ?? "";
    const container = byId.get(id);
    const workingSet = s.memory?.workingSetBytes?.value;
    const available = s.memory?.availableBytes?.value;
    return {
      id,
      name: s.attributes?.metadata?.name ?? container?.metadata?.name ?? "",
      pod: podNames.get(container?.podSandboxId ?? "") ?? "",
      cpuPercent: cpuPercent(s, previous.get(id)),
      memoryBytes: workingSet === undefined ? undefined : Number(workingSet),
      memoryLimitBytes:
        workingSet === undefined || available === undefined ? undefined : Number(workingSet + available),
    };
  });
}

/**
 * CPU use in percent of one core: the runtime's rate (usage_nano_cores / 1e9 * 100), or,
 * without one, the rate between the previous reading and this one.
 */
export function cpuPercent(stats: ContainerStats, previous: CpuSample | undefined): number | undefined {
  const cpu = stats.cpu;
  if (!cpu) return undefined;
  if (cpu.usageNanoCores) return Number(cpu.usageNanoCores.value) / 1e7;
  const usage = cpu.usageCoreNanoSeconds?.value;
  if (usage === undefined || !previous || cpu.timestamp <= previous.timestamp) return undefined;
  return (Number(usage - previous.usageCoreNanoSeconds) / Number(cpu.timestamp - previous.timestamp)) * 100;
}

function rememberCpu(stats: ContainerStats[], previous: Map<string, CpuSample>): void {
  previous.clear();
  for (const s of stats) {
    const usage = s.cpu?.usageCoreNanoSeconds?.value;
    if (s.attributes?.id && s.cpu && usage !== undefined) {
      previous.set(s.attributes.id, { timestamp: s.cpu.timestamp, usageCoreNanoSeconds: usage });
    }
  }
}

/** Rows, without figures, for the containers that have no stats (not running): for --all. */
function idleRows(
  containers: Container[],
  sandboxes: PodSandbox[],
  shown: StatsRow[],
  wanted: Set<string> | undefined,
): StatsRow[] {
  const have = new Set(shown.map((r) => r.id));
  const podNames = new Map(sandboxes.map((s) => [s.id, s.metadata?.name ?? ""]));
  return containers
    .filter((c) => !have.has(c.id) && (!wanted || wanted.has(c.id)))
    .map((c) => ({ id: c.id, name: c.metadata?.name ?? "", pod: podNames.get(c.podSandboxId) ?? "" }));
}

export function sortRows(rows: StatsRow[], byCpu: boolean): StatsRow[] {
  return [...rows].sort((a, b) =>
    byCpu
      ? (b.cpuPercent ?? -1) - (a.cpuPercent ?? -1) || a.name.localeCompare(b.name)
      : a.pod.localeCompare(b.pod) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id),
  );
}

export function renderStats(rows: StatsRow[]): string {
  const showLimit = rows.some((r) => r.memoryLimitBytes !== undefined);
  const headers = ["CONTAINER", "NAME", "POD", "CPU %", "MEM", ...(showLimit ? ["MEM LIMIT"] : [])];
  const cells = rows.map((r) => [
    shortId(r.id),
    r.name,
    r.pod,
    r.cpuPercent === undefined ? "-" : r.cpuPercent.toFixed(2),
    r.memoryBytes === undefined ? "-" : humanBytes(r.memoryBytes),
    ...(showLimit ? [r.memoryLimitBytes === undefined ? "-" : humanBytes(r.memoryLimitBytes)] : []),
  ]);
  return table(headers, cells);
}

/**
 * Prints `snapshot` every interval until q, Ctrl-C or SIGTERM. On a terminal the screen is
 * cleared and redrawn; into a pipe or file each snapshot follows the last.
 */
async function watch(snapshot: () => Promise<string>, intervalMs: number, title: string): Promise<void> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const stdin = process.stdin;
  const keys = stdin.isTTY === true;
  // In raw mode Ctrl-C arrives as a byte, not as SIGINT.
  const onKey = (data: Buffer): void => {
    const key = data.toString();
    if (key === "q" || key === "Q" || key === "\x03") stop.abort();
  };
  if (keys) {
    stdin.setRawMode(true);
    stdin.on("data", onKey);
    stdin.resume();
  }
  const tty = process.stdout.isTTY === true;
  try {
    while (!stop.signal.aborted) {
      const text = await snapshot();
      if (stop.signal.aborted) break;
      if (tty) {
        const heading = `${title}  ${new Date().toLocaleTimeString()}  every ${intervalMs / 1000}s${keys ? "  (q quits)" : ""}\n\n`;
        process.stdout.write(CLEAR_SCREEN + heading + text);
      } else {
        process.stdout.write(text + "\n");
      }
      await sleep(intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    if (keys) {
      stdin.off("data", onKey);
      stdin.setRawMode(false);
      stdin.pause();
    }
  }
}
