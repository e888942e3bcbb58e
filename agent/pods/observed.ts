// What the runtime holds for one pod, read through the CRI: its sandboxes (newest first) and
// every instance of its containers. Statuses of exited containers never change, so they are
// read once and cached; running ones are read again only when the list shows a new state.
import {
  ContainerState,
  PodSandboxState,
  type ContainerStatus,
  type Container as CriContainer,
} from "../../cri/api/generated/api.js";
import type { RuntimeServiceApi } from "../../cri/service-types.js";
import { isNotFound } from "../runtime-client.js";
import {
  ANNOTATION_CGROUP_PARENT,
  ANNOTATION_CONTAINER_HASH,
  ANNOTATION_CONTAINER_ROLE,
  ANNOTATION_GRACE_PERIOD,
  ANNOTATION_RESTART_COUNT,
  ANNOTATION_SANDBOX_HASH,
  ANNOTATION_TERMINATION_MESSAGE_PATH,
  ANNOTATION_TERMINATION_MESSAGE_POLICY,
  LABEL_CONTAINER_NAME,
  podSelector,
} from "./labels.js";
import { readTerminationMessage } from "./termination-message.js";

export type ObservedState = "created" | "running" | "exited" | "unknown";

export interface ObservedContainer {
  readonly id: string;
  readonly sandboxId: string;
  readonly name: string;
  readonly role?: "init" | "app";
  readonly restartCount: number;
  readonly hash: string;
  readonly state: ObservedState;
  /** ms since the epoch. */
  readonly createdAt: number;
  readonly startedAt?: number;
  readonly finishedAt?: number;
  readonly exitCode: number;
  /** The runtime's reason for an exit: Completed, Error, OOMKilled, StartError, ... */
  readonly reason: string;
  /** The termination message, or the runtime's message. */
  readonly message: string;
  readonly image: string;
  readonly imageRef: string;
  readonly logPath: string;
  /** Host path of the container's termination-message file. */
  readonly terminationMessageFile?: string;
  /** The pod's grace period when the container was made: what an orphan gets when it is stopped. */
  readonly gracePeriodSeconds?: number;
}

export interface ObservedSandbox {
  readonly id: string;
  readonly attempt: number;
  readonly ready: boolean;
  readonly createdAt: number;
  readonly hash: string;
  readonly cgroupParent: string;
  /** Pod IPs, read for the ready sandbox only. */
  readonly ips: readonly string[];
}

export interface ObservedPod {
  /** Newest first: by attempt, then creation time. */
  readonly sandboxes: readonly ObservedSandbox[];
  readonly containers: readonly ObservedContainer[];
}

export const EMPTY_OBSERVATION: ObservedPod = { sandboxes: [], containers: [] };

function nsToMs(value: bigint): number {
  return Number(value / 1_000_000n);
}

function stateOf(state: ContainerState): ObservedState {
  switch (state) {
    case ContainerState.CONTAINER_CREATED:
      return "created";
    case ContainerState.CONTAINER_RUNNING:
      return "running";
    case ContainerState.CONTAINER_EXITED:
      return "exited";
    default:
      return "unknown";
  }
}

/** Newest sandbox first; the first is the pod's current one. */
export function sortSandboxes(sandboxes: ObservedSandbox[]): ObservedSandbox[] {
  return sandboxes.sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt);
}

/** Reads one pod's state from the runtime, reusing `cache` for statuses that cannot have changed. */
export class PodObserver {
  private readonly cache = new Map<string, ObservedContainer>();

  constructor(
    private readonly runtime: RuntimeServiceApi,
    private readonly uid: string,
  ) {}

  async observe(): Promise<ObservedPod> {
    const selector = podSelector(this.uid);
    const { items } = await this.runtime.listPodSandbox({ filter: { id: "", labelSelector: selector } });
    // Listed per sandbox rather than by label over the whole runtime: a runtime refreshes what
    // it lists, and this keeps a sync's cost to the pod's own containers.
    const containers = (
      await Promise.all(
        items.map((item) =>
          this.runtime.listContainers({ filter: { id: "", podSandboxId: item.id, labelSelector: selector } }),
        ),
      )
    ).flatMap((res) => res.containers);
    const sandboxes = await Promise.all(
      items.map(async (item): Promise<ObservedSandbox> => {
        const ready = item.state === PodSandboxState.SANDBOX_READY;
        return {
          id: item.id,
          attempt: item.metadata?.attempt ?? 0,
          ready,
          createdAt: nsToMs(item.createdAt),
          hash: item.annotations[ANNOTATION_SANDBOX_HASH] ?? "",
          cgroupParent: item.annotations[ANNOTATION_CGROUP_PARENT] ?? "",
          ips: ready ? await this.sandboxIps(item.id) : [],
        };
      }),
    );
    const seen = new Set<string>();
    const observed: ObservedContainer[] = [];
    await Promise.all(
      containers.map(async (c) => {
        seen.add(c.id);
        const entry = await this.containerOf(c);
        if (entry) observed.push(entry);
      }),
    );
    for (const id of this.cache.keys()) if (!seen.has(id)) this.cache.delete(id);
    return { sandboxes: sortSandboxes(sandboxes), containers: observed };
  }

  private async sandboxIps(id: string): Promise<string[]> {
    try {
      const { status } = await this.runtime.podSandboxStatus({ podSandboxId: id, verbose: false });
      const network = status?.network;
      if (!network || network.ip === "") return [];
      return [network.ip, ...network.additionalIps.map((ip) => ip.ip)];
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  }

  private async containerOf(listed: CriContainer): Promise<ObservedContainer | undefined> {
    const cached = this.cache.get(listed.id);
    if (cached && cached.state === stateOf(listed.state)) return cached;
    let status: ContainerStatus | undefined;
    try {
      status = (await this.runtime.containerStatus({ containerId: listed.id, verbose: false })).status;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    if (!status) return undefined;
    const observed = await toObserved(listed, status);
    this.cache.set(listed.id, observed);
    return observed;
  }
}

async function toObserved(listed: CriContainer, status: ContainerStatus): Promise<ObservedContainer> {
  const annotations = status.annotations;
  const state = stateOf(status.state);
  const messagePath = annotations[ANNOTATION_TERMINATION_MESSAGE_PATH];
  const messageFile = status.mounts.find((m) => m.containerPath === messagePath)?.hostPath;
  const role = annotations[ANNOTATION_CONTAINER_ROLE];
  const grace = Number(annotations[ANNOTATION_GRACE_PERIOD] ?? "NaN");
  let message = status.message;
  if (state === "exited") {
    const written = await readTerminationMessage({
      ...(messageFile && { messageFile }),
      policy: annotations[ANNOTATION_TERMINATION_MESSAGE_POLICY] ?? "File",
      exitCode: status.exitCode,
      ...(status.logPath && { logPath: status.logPath }),
    });
    if (written !== "") message = written;
  }
  return {
    id: status.id,
    sandboxId: listed.podSandboxId,
    name: status.labels[LABEL_CONTAINER_NAME] ?? status.metadata?.name ?? "",
    ...(role === "init" || role === "app" ? { role } : {}),
    restartCount: Number.parseInt(annotations[ANNOTATION_RESTART_COUNT] ?? "", 10) || 0,
    hash: annotations[ANNOTATION_CONTAINER_HASH] ?? "",
    state,
    createdAt: nsToMs(status.createdAt),
    ...(status.startedAt > 0n && { startedAt: nsToMs(status.startedAt) }),
    ...(status.finishedAt > 0n && { finishedAt: nsToMs(status.finishedAt) }),
    exitCode: status.exitCode,
    reason: status.reason,
    message,
    image: status.image?.image ?? "",
    imageRef: status.imageRef,
    logPath: status.logPath,
    ...(messageFile && { terminationMessageFile: messageFile }),
    ...(Number.isInteger(grace) && grace >= 0 && { gracePeriodSeconds: grace }),
  };
}
