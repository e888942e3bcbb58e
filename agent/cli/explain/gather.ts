// Collects what `berth explain` analyses: the pod and its events from the Node API, the
// latest stats of its running containers from CRI (ListContainerStats on the pod's sandbox),
// and the last lines of each exited container's log, read from the file on this node.
import { access } from "node:fs/promises";
import { dirname, join } from "node:path";
import { PodSandboxState, type ContainerStats } from "../../../cri/api/generated/api.js";
import type { CriClients } from "../../../cri/grpc-client.js";
import type { NodeApi } from "../../node-api/node-client.js";
import { podFromJson, type PodJson } from "../../node-api/pod-json.js";
import type { ContainerStatusView } from "../../pods/pod-manager-api.js";
import { LABEL_POD_UID } from "../../pods/labels.js";
import { CriLogDecoder } from "../cri-log-format.js";
import { readLogLines } from "../log-reader.js";
import { lastExit } from "./facts.js";
import type { ContainerUsage, ExplainInput, LogTail } from "./types.js";

export const LOG_TAIL_LINES = 5;
const MAX_LOG_LINE_CHARS = 300;

export interface Gathered {
  input: Omit<ExplainInput, "now" | "utc">;
  /** What could not be collected (the diagnosis goes on without it). */
  notes: string[];
}

/** Throws what GetPod throws (NOT_FOUND for an unknown pod, UNAVAILABLE when unreachable). */
export async function gatherExplainInput(
  api: NodeApi,
  cri: CriClients,
  namespace: string,
  name: string,
): Promise<Gathered> {
  const pod = podFromJson((await api.getPod({ namespace, name })).podJson);
  const uid = pod.metadata.uid;
  // A pod of the same name deleted and applied again has a new uid; its events are not ours.
  const events = (await api.getEvents({ namespace, name })).events.filter(
    (e) => e.pod === undefined || e.pod.uid === "" || e.pod.uid === uid,
  );
  const notes: string[] = [];
  const usage = await containerUsage(cri, pod).catch((err: unknown) => {
    notes.push(`container stats unavailable: ${errorText(err)}`);
    return [] as ContainerUsage[];
  });
  const logTails = await previousLogTails(cri, pod, notes);
  return { input: { pod, events, usage, logTails }, notes };
}

function errorText(err: unknown): string {
  const details = (err as { details?: unknown }).details;
  if (typeof details === "string" && details !== "") return details;
  return err instanceof Error ? err.message : String(err);
}

function stripId(containerID: string | undefined): string {
  // "berth://<id>", or another runtime's "<name>://<id>".
  return (containerID ?? "").replace(/^[\w-]+:\/\//, "");
}

async function containerUsage(cri: CriClients, pod: PodJson): Promise<ContainerUsage[]> {
  const running = pod.status.containerStatuses.filter((s) => "running" in s.state);
  if (running.length === 0) return [];
  const { items } = await cri.runtime.listPodSandbox({
    filter: { id: "", labelSelector: { [LABEL_POD_UID]: pod.metadata.uid } },
  });
  const sandbox = items
    .filter((s) => s.state === PodSandboxState.SANDBOX_READY)
    .sort((a, b) => (a.createdAt > b.createdAt ? -1 : 1))[0];
  if (sandbox === undefined) return [];
  const { stats } = await cri.runtime.listContainerStats({
    filter: { id: "", podSandboxId: sandbox.id, labelSelector: {} },
  });
  const current = new Map(running.map((s) => [stripId(s.containerID), s.name]));
  return stats.flatMap((s) => {
    const name = current.get(s.attributes?.id ?? "");
    return name === undefined ? [] : [usageOf(name, s)];
  });
}

export function usageOf(name: string, s: ContainerStats): ContainerUsage {
  const ws = s.memory?.workingSetBytes?.value;
  const available = s.memory?.availableBytes?.value;
  const nanoCores = s.cpu?.usageNanoCores?.value;
  const timestamp = s.memory?.timestamp ?? s.cpu?.timestamp;
  return {
    name,
    containerId: s.attributes?.id ?? "",
    ...(timestamp !== undefined && timestamp > 0n && { sampledAt: Number(timestamp / 1_000_000n) }),
    ...(ws !== undefined && { workingSetBytes: Number(ws) }),
    ...(ws !== undefined && available !== undefined && { memoryLimitBytes: Number(ws + available) }),
    ...(nanoCores !== undefined && { cpuNanoCores: Number(nanoCores) }),
  };
}

/** The log of each container's latest exited instance, by container name. */
async function previousLogTails(
  cri: CriClients,
  pod: PodJson,
  notes: string[],
): Promise<Map<string, LogTail>> {
  const tails = new Map<string, LogTail>();
  const statuses = [...pod.status.initContainerStatuses, ...pod.status.containerStatuses];
  for (const status of statuses) {
    const exit = lastExit({ status });
    if (exit === undefined) continue;
    try {
      const path = await exitedLogPath(cri, status, stripId(exit.containerID));
      if (path !== undefined)
        tails.set(status.name, { path, lines: await readLogTail(path, LOG_TAIL_LINES) });
    } catch (err) {
      notes.push(`log of ${status.name} unreadable: ${errorText(err)}`);
    }
  }
  return tails;
}

async function logPathOf(cri: CriClients, containerId: string): Promise<string | undefined> {
  if (containerId === "") return undefined;
  try {
    const res = await cri.runtime.containerStatus({ containerId, verbose: false });
    return res.status?.logPath || undefined;
  } catch {
    // Removed already: its log may still be found beside the current instance's.
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * The exited instance's own log file while the runtime still knows it, else the
 * `<attempt-1>.log` beside the current instance's log (the layout keeps one file per attempt).
 */
async function exitedLogPath(
  cri: CriClients,
  status: ContainerStatusView,
  exitedId: string,
): Promise<string | undefined> {
  const own = await logPathOf(cri, exitedId);
  if (own !== undefined && (await exists(own))) return own;
  const currentId = stripId(status.containerID);
  if (currentId === "" || currentId === exitedId || status.restartCount < 1) return undefined;
  const current = await logPathOf(cri, currentId);
  if (current === undefined) return undefined;
  const previous = join(dirname(current), `${status.restartCount - 1}.log`);
  return (await exists(previous)) ? previous : undefined;
}

/** The last `count` lines of a CRI log file, as text (stdout and stderr interleaved as written). */
export async function readLogTail(path: string, count: number): Promise<string[]> {
  const decoder = new CriLogDecoder();
  const lines: string[] = [];
  let open = "";
  const take = (records: ReturnType<CriLogDecoder["decode"]>): void => {
    for (const r of records) {
      open += r.text.toString("utf8");
      if (!r.lineEnd) continue;
      lines.push(open.length > MAX_LOG_LINE_CHARS ? `${open.slice(0, MAX_LOG_LINE_CHARS - 1)}…` : open);
      open = "";
    }
  };
  for await (const batch of readLogLines({ path, tailLines: count })) {
    for (const line of batch) take(decoder.decode(line));
  }
  take(decoder.end());
  if (open !== "") lines.push(open);
  return lines.slice(-count);
}
