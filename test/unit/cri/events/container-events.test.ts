import { describe, expect, it } from "vitest";
import { detectLayout } from "../../../../cgroups/detect.js";
import type { OomWatcher } from "../../../../cgroups/oom-watcher.js";
import type { CgroupStats } from "../../../../cgroups/stats.js";
import { silentLogger } from "../../../../common/logger.js";
import { ContainerEventType, type ContainerEventResponse } from "../../../../cri/api/generated/api.js";
import { ContainerEventHub, type PodStatuses } from "../../../../cri/events/container-events.js";
import type { CpuThrottlingEvent } from "../../../../cri/events/types.js";
import type { ContainerRecord } from "../../../../cri/runtime/records.js";
import type { ContainerSample, ContainerTarget, StatsSnapshot } from "../../../../cri/stats/types.js";
import { UNIFIED_MOUNTINFO, UNIFIED_PROC_CGROUP } from "../../cgroups/fixtures.js";

const layout = detectLayout({ mountinfo: UNIFIED_MOUNTINFO, procCgroup: UNIFIED_PROC_CGROUP });

function record(
  id: string,
  state: ContainerRecord["state"],
  extra: Partial<ContainerRecord> = {},
): ContainerRecord {
  return {
    id,
    sandboxId: "pod1",
    cgroupsPath: `/berth/pod1/${id}`,
    state,
    exitCode: 0,
    reason: "",
    pid: 100,
    ...extra,
  } as ContainerRecord;
}

function hub(
  options: { statusReads?: string[]; throttling?: { share: number; windowSeconds: number } } = {},
) {
  const watched: string[] = [];
  const closed: string[] = [];
  let now = 1_000;
  const events = new ContainerEventHub({
    logger: silentLogger(),
    clock: { now: () => now, nowNanos: () => BigInt(now) * 1_000_000n },
    layout,
    reader: { read: async () => ({ memory: { usageBytes: 1 } }) as CgroupStats },
    ...(options.throttling && { cpuThrottling: { ...options.throttling, minPeriods: 1 } }),
    oom: {
      watch: async (opts): Promise<OomWatcher> => {
        watched.push(opts.path);
        return {
          mode: "watch",
          check: async () => undefined,
          close: () => closed.push(opts.path),
        };
      },
    },
  });
  events.useStatusSource({
    podStatuses: async (sandboxId): Promise<PodStatuses> => {
      options.statusReads?.push(sandboxId);
      // A status read that takes a while must not reorder events.
      await new Promise((resolve) => setTimeout(resolve, sandboxId === "slow" ? 20 : 0));
      return {
        podSandboxStatus: { id: sandboxId } as PodStatuses["podSandboxStatus"],
        containersStatuses: [{ id: `status-of-${sandboxId}` }] as PodStatuses["containersStatuses"],
      };
    },
  });
  return { events, watched, closed, tick: (ms: number) => (now += ms) };
}

async function collect(
  iterable: AsyncIterable<ContainerEventResponse>,
  count: number,
): Promise<ContainerEventResponse[]> {
  const out: ContainerEventResponse[] = [];
  for await (const event of iterable) {
    out.push(event);
    if (out.length === count) break;
  }
  return out;
}

describe("ContainerEventHub", () => {
  it("streams the CRI lifecycle events in order, with the pod's statuses", async () => {
    const { events, tick } = hub();
    const stream = events.subscribe();
    events.containerChanged("created", record("c1", "created"));
    tick(5);
    events.containerChanged("started", record("c1", "running"));
    events.containerChanged("stopped", record("c1", "exited"));
    events.containerChanged("deleted", record("c1", "exited"));
    const received = await collect(stream, 4);
    expect(received.map((e) => e.containerEventType)).toEqual([
      ContainerEventType.CONTAINER_CREATED_EVENT,
      ContainerEventType.CONTAINER_STARTED_EVENT,
      ContainerEventType.CONTAINER_STOPPED_EVENT,
      ContainerEventType.CONTAINER_DELETED_EVENT,
    ]);
    expect(received.every((e) => e.containerId === "c1")).toBe(true);
    expect(received[0]?.createdAt).toBe(1_000_000_000n);
    expect(received[1]?.createdAt).toBe(1_005_000_000n);
    expect(received[0]?.podSandboxStatus?.id).toBe("pod1");
    expect(received[0]?.containersStatuses.map((s) => s.id)).toEqual(["status-of-pod1"]);
    events.close();
  });

  it("keeps the order when an earlier event's statuses are slower to read", async () => {
    const { events } = hub();
    const stream = events.subscribe();
    events.sandboxChanged("created", "slow");
    events.sandboxChanged("started", "fast");
    const received = await collect(stream, 2);
    expect(received.map((e) => e.containerId)).toEqual(["slow", "fast"]);
    events.close();
  });

  it("publishes pod sandbox events under the sandbox id", async () => {
    const { events } = hub();
    const stream = events.subscribe();
    events.sandboxChanged("stopped", "pod9");
    const [event] = await collect(stream, 1);
    expect(event).toMatchObject({
      containerId: "pod9",
      containerEventType: ContainerEventType.CONTAINER_STOPPED_EVENT,
    });
    events.close();
  });

  it("reads no statuses while nobody listens, and recovery is not a CRI event", async () => {
    const statusReads: string[] = [];
    const { events } = hub({ statusReads });
    events.containerChanged("created", record("c1", "created"));
    await events.idle();
    expect(statusReads).toEqual([]);
    const stream = events.subscribe();
    events.containerChanged("recovered", record("c1", "running"));
    events.containerChanged("started", record("c2", "running"));
    const [event] = await collect(stream, 1);
    expect(event?.containerId).toBe("c2");
    expect(statusReads).toEqual(["pod1"]);
    events.close();
  });

  it("watches OOM kills from creation to removal", async () => {
    const { events, watched, closed } = hub();
    events.containerChanged("created", record("c1", "created"));
    events.containerChanged("started", record("c1", "running")); // same watcher
    await events.idle();
    expect(watched).toEqual(["/berth/pod1/c1"]);
    events.containerChanged("stopped", record("c1", "exited", { exitCode: 0, reason: "Completed" }));
    await events.idle();
    expect(closed).toEqual(["/berth/pod1/c1"]);
    expect(events.oomCounts().get("c1")).toEqual({ containerKills: 0, processKills: 0 });
    events.containerChanged("deleted", record("c1", "exited"));
    expect(events.oomCounts().has("c1")).toBe(false);
    events.close();
  });

  it("re-watches containers found running at recovery", async () => {
    const { events, watched } = hub();
    events.containerChanged("recovered", record("c7", "running"));
    await events.idle();
    expect(watched).toEqual(["/berth/pod1/c7"]);
    events.close();
  });

  it("turns stats samples into CPU throttling events", () => {
    let listener: ((snapshot: StatsSnapshot) => void) | undefined;
    const { events } = hub({ throttling: { share: 0.25, windowSeconds: 1 } });
    events.watchThrottling({
      onSample: (l) => {
        listener = l;
        return () => (listener = undefined);
      },
    });
    const seen: CpuThrottlingEvent[] = [];
    events.onCpuThrottled((e) => seen.push(e));
    const snapshot = (t: number, periods: number, throttled: number): StatsSnapshot => ({
      containers: new Map([
        [
          "c1",
          {
            target: { id: "c1", sandboxId: "pod1" } as ContainerTarget,
            stats: {
              timestamp: t,
              cpu: { periods, throttledPeriods: throttled, throttledNanos: 0 },
            } as CgroupStats,
          } as ContainerSample,
        ],
      ]),
      sandboxes: new Map(),
      passSeconds: 0,
    });
    listener?.(snapshot(0, 0, 0));
    listener?.(snapshot(1_000, 10, 8));
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ containerId: "c1", share: 0.8 });
    events.close();
    expect(listener).toBeUndefined();
  });

  it("ends its streams on close", async () => {
    const { events } = hub();
    const stream = events.subscribe();
    events.close();
    expect(await collect(stream, 1)).toEqual([]);
    expect(events.subscriberCount).toBe(0);
  });
});
