// GetContainerEvents over berth's CRI socket on real containers: a stream sees each
// container's created, started, stopped and deleted events (and its pod's), in order, with
// the statuses of the moment, and the server lets go of the stream when the client cancels.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ContainerEventType,
  ContainerState,
  type ContainerEventResponse,
} from "../../../../cri/api/generated/api.js";
import { detectHostLayout } from "../../../../cgroups/detect.js";
import { containerConfig, waitFor } from "../../../../harness/cri-fixtures.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";

const { CONTAINER_CREATED_EVENT, CONTAINER_STARTED_EVENT, CONTAINER_STOPPED_EVENT, CONTAINER_DELETED_EVENT } =
  ContainerEventType;

describe("GetContainerEvents", () => {
  let h: Harness;
  let image: string;

  beforeAll(async () => {
    h = await startHarness();
    image = await h.importBusybox();
  });

  afterAll(async () => {
    await h?.cleanup();
  });

  it("streams created, started, stopped and deleted for a container and its pod", async () => {
    const received: ContainerEventResponse[] = [];
    const abort = new AbortController();
    const reading = (async () => {
      for await (const event of h.cri.runtime.getContainerEvents({}, abort.signal)) received.push(event);
    })().catch(() => undefined); // a cancelled stream ends with CANCELLED
    await waitFor(async () => h.runtime.containerEvents.subscriberCount === 1, 10_000, "subscription");

    const config = sandboxConfig("events", { logDirectory: join(h.root, "logs", "events") });
    const { podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("short", image, ["sh", "-c", "sleep 0.3; exit 3"]),
      sandboxConfig: config,
    });
    expect(h.runtime.oomCounts().get(containerId)).toEqual({ containerKills: 0, processKills: 0 });
    await h.cri.runtime.startContainer({ containerId });

    // The exit is the container's own: conmon records it and the exit monitor reports it.
    const ofContainer = () => received.filter((e) => e.containerId === containerId);
    await waitFor(async () => ofContainer().length >= 3, 20_000, "the stopped event");
    await h.cri.runtime.removeContainer({ containerId });
    await waitFor(async () => ofContainer().length >= 4, 10_000, "the deleted event");
    await h.cri.runtime.stopPodSandbox({ podSandboxId });
    await h.cri.runtime.removePodSandbox({ podSandboxId });
    await waitFor(
      async () =>
        received.some(
          (e) => e.containerId === podSandboxId && e.containerEventType === CONTAINER_DELETED_EVENT,
        ),
      10_000,
      "the pod's deleted event",
    );

    const [created, started, stopped, deleted] = ofContainer();
    expect(ofContainer().map((e) => e.containerEventType)).toEqual([
      CONTAINER_CREATED_EVENT,
      CONTAINER_STARTED_EVENT,
      CONTAINER_STOPPED_EVENT,
      CONTAINER_DELETED_EVENT,
    ]);
    // Each event carries the pod's status and its containers' statuses as they were then.
    for (const event of [created, started, stopped, deleted]) {
      expect(event?.podSandboxStatus?.id).toBe(podSandboxId);
      expect(event?.podSandboxStatus?.metadata?.name).toBe("events");
    }
    const statusIn = (event: ContainerEventResponse | undefined) =>
      event?.containersStatuses.find((s) => s.id === containerId);
    expect(statusIn(created)?.state).toBe(ContainerState.CONTAINER_CREATED);
    expect(statusIn(started)?.state).toBe(ContainerState.CONTAINER_RUNNING);
    expect(statusIn(stopped)).toMatchObject({
      state: ContainerState.CONTAINER_EXITED,
      exitCode: 3,
      reason: "Error",
    });
    expect(statusIn(deleted)).toBeUndefined();
    const times = ofContainer().map((e) => e.createdAt);
    expect([...times].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(times);
    expect(times[0]).toBeGreaterThan(0n);

    // The pod's own events, under its id: created and started by RunPodSandbox, then stopped, deleted.
    const ofPod = received.filter((e) => e.containerId === podSandboxId).map((e) => e.containerEventType);
    expect(ofPod).toEqual([
      CONTAINER_CREATED_EVENT,
      CONTAINER_STARTED_EVENT,
      CONTAINER_STOPPED_EVENT,
      CONTAINER_DELETED_EVENT,
    ]);
    const podDeleted = received.find(
      (e) => e.containerId === podSandboxId && e.containerEventType === CONTAINER_DELETED_EVENT,
    );
    expect(podDeleted?.podSandboxStatus).toBeUndefined();
    // Removal forgets the container's OOM counts.
    expect(h.runtime.oomCounts().has(containerId)).toBe(false);

    abort.abort();
    await reading;
    await waitFor(
      async () => h.runtime.containerEvents.subscriberCount === 0,
      10_000,
      "the server to drop the stream",
    );
  });

  it("watches a running container's OOM kills again after an agent restart", async () => {
    const config = sandboxConfig("events-restart", { logDirectory: join(h.root, "logs", "events-restart") });
    const { podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("lasting", image, ["sleep", "1000"]),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    // cgroup v1 (this host) has no change notification for memory.oom_control: it is polled.
    const mode = h.runtime.containerEvents.oom.watchMode(containerId);
    expect(mode).toBe((await detectHostLayout()).mode === "unified" ? "watch" : "poll");

    await h.stop();
    await h.restart();
    await h.runtime.containerEvents.idle();
    expect(h.runtime.containerEvents.oom.watchMode(containerId)).toBe(mode);
    expect(h.runtime.oomCounts().get(containerId)).toEqual({ containerKills: 0, processKills: 0 });

    // The new runtime's stream reports the container's stop.
    const received: ContainerEventResponse[] = [];
    const abort = new AbortController();
    const reading = (async () => {
      for await (const event of h.cri.runtime.getContainerEvents({}, abort.signal)) received.push(event);
    })().catch(() => undefined);
    await waitFor(async () => h.runtime.containerEvents.subscriberCount === 1, 10_000, "subscription");
    await h.cri.runtime.stopContainer({ containerId, timeout: 0n });
    await waitFor(
      async () =>
        received.some(
          (e) => e.containerId === containerId && e.containerEventType === CONTAINER_STOPPED_EVENT,
        ),
      10_000,
      "the stopped event",
    );
    expect(h.runtime.containerEvents.oom.watchMode(containerId)).toBeUndefined();
    abort.abort();
    await reading;
    await h.cri.runtime.removePodSandbox({ podSandboxId });
  });

  it("gives each subscriber every event, and stops a stopped container once", async () => {
    const streams = [new AbortController(), new AbortController()];
    const received: ContainerEventResponse[][] = [[], []];
    const readers = streams.map((abort, i) =>
      (async () => {
        for await (const event of h.cri.runtime.getContainerEvents({}, abort.signal))
          received[i]?.push(event);
      })().catch(() => undefined),
    );
    await waitFor(async () => h.runtime.containerEvents.subscriberCount === 2, 10_000, "subscriptions");

    const config = sandboxConfig("events-two", { logDirectory: join(h.root, "logs", "events-two") });
    const { podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("sleeper", image, ["sleep", "1000"]),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    await h.cri.runtime.stopContainer({ containerId, timeout: 0n });
    await h.cri.runtime.stopContainer({ containerId, timeout: 0n }); // idempotent: no second event
    await h.cri.runtime.removePodSandbox({ podSandboxId });
    await waitFor(
      async () =>
        received.every((r) =>
          r.some((e) => e.containerId === podSandboxId && e.containerEventType === CONTAINER_DELETED_EVENT),
        ),
      10_000,
      "both streams to see the pod go",
    );
    for (const events of received) {
      expect(events.filter((e) => e.containerId === containerId).map((e) => e.containerEventType)).toEqual([
        CONTAINER_CREATED_EVENT,
        CONTAINER_STARTED_EVENT,
        CONTAINER_STOPPED_EVENT,
        CONTAINER_DELETED_EVENT,
      ]);
    }
    const stopped = received[0]?.find(
      (e) => e.containerId === containerId && e.containerEventType === CONTAINER_STOPPED_EVENT,
    );
    // Stopped with SIGKILL and no memory kill: not OOMKilled.
    expect(stopped?.containersStatuses.find((s) => s.id === containerId)).toMatchObject({
      exitCode: 137,
      reason: "Error",
    });

    for (const abort of streams) abort.abort();
    await Promise.all(readers);
    await waitFor(
      async () => h.runtime.containerEvents.subscriberCount === 0,
      10_000,
      "the server to drop the streams",
    );
  });
});
