import { describe, expect, it } from "vitest";
import { painter } from "../../../../../agent/cli/colour-table.js";
import { renderStructured, renderTimeline } from "../../../../../agent/cli/explain/render.js";
import { buildTimeline } from "../../../../../agent/cli/explain/timeline.js";
import { NOW, at, event, pod, running, status, terminated, waiting } from "./fixtures.js";

/** A pod whose liveness probe killed its container once; the restart came in the second of the kill. */
const restartedPod = () =>
  pod({
    containers: [{ name: "web", image: "busybox:1.36" }],
    status: {
      conditions: [
        { type: "PodReadyToStartContainers", status: "True", lastTransitionTime: at("11:00:01") },
        { type: "Ready", status: "True", lastTransitionTime: at("12:01:05") },
      ],
      containerStatuses: [
        status("web", running("12:01:00"), {
          restartCount: 1,
          lastState: terminated(137, "Error", "11:00:02", "12:01:00"),
        }),
      ],
    },
  });

const restartEvents = () => [
  // Out of order on purpose, as a list and a watch may deliver them.
  event("Started", "Started container web", { container: "web", time: "12:01:00.300", count: 2 }),
  event("Scheduled", "Successfully assigned default/web to node-1", { time: "11:00:00.100" }),
  event("Pulled", 'Container image "busybox:1.36" already present on machine', {
    container: "web",
    time: "11:00:01.000",
    count: 2,
  }),
  event("Created", "Created container: web", { container: "web", time: "12:01:00.200", count: 2 }),
  event("Unhealthy", "Liveness probe failed: exec [false] exited non-zero", {
    container: "web",
    time: "12:00:59.500",
    count: 3,
  }),
  event("Killing", "Container web failed liveness probe, will be restarted", {
    container: "web",
    time: "12:00:59.900",
  }),
];

describe("buildTimeline", () => {
  it("orders events and status changes by time, an exit before the restart in its own second", () => {
    const timeline = buildTimeline({ pod: restartedPod(), events: restartEvents(), now: NOW });
    expect(timeline.pod).toEqual({ namespace: "default", name: "web", uid: "uid-1" });
    expect(timeline.entries.map((e) => [e.time, e.container ?? "-", e.what, e.details, e.count])).toEqual([
      [at("11:00:00.100"), "-", "Scheduled", "Successfully assigned default/web to node-1", 1],
      [at("11:00:01"), "-", "SandboxReady", "pod sandbox created, network ready", 1],
      [at("11:00:01.000"), "web", "Pulled", 'Container image "busybox:1.36" already present on machine', 2],
      [at("11:00:02"), "web", "Started", "first run", 1],
      [at("12:00:59.500"), "web", "Unhealthy", "Liveness probe failed: exec [false] exited non-zero", 3],
      [at("12:00:59.900"), "web", "Killing", "Container web failed liveness probe, will be restarted", 1],
      [at("12:01:00"), "web", "Exited", "exit code 137 (Error) after ~60m", 1],
      [at("12:01:00.200"), "web", "Created", "Created container: web", 2],
      // The Started event and the status's start are one happening: the event's time, the status's restart.
      [at("12:01:00.300"), "web", "Restarted", "restart 1", 1],
      [at("12:01:05"), "-", "Ready", "all containers ready", 1],
    ]);
    expect(timeline.entries.find((e) => e.what === "Exited")?.type).toBe("Warning");
  });

  it("tells an OOM kill once, with the runtime event's time and the status's exit code", () => {
    const p = pod({
      containers: [{ name: "app", image: "busybox:1.36" }],
      status: {
        containerStatuses: [
          status("app", waiting("CrashLoopBackOff", "back-off 10s restarting failed container"), {
            restartCount: 1,
            lastState: terminated(137, "OOMKilled", "12:00:00", "12:02:10"),
          }),
        ],
      },
    });
    const entries = buildTimeline({
      pod: p,
      now: NOW,
      events: [
        event("OOMKilled", "Memory limit reached: the main process was killed", {
          container: "app",
          time: "12:02:10.400",
        }),
        event("BackOff", "Back-off restarting failed container app in pod web_default", {
          container: "app",
          time: "12:02:11.000",
        }),
      ],
    }).entries;
    expect(entries.map((e) => [e.time, e.what])).toEqual([
      [at("11:00:00"), "Applied"],
      [at("12:00:00"), "Started"],
      [at("12:02:10.400"), "OOMKilled"],
      [at("12:02:11.000"), "BackOff"],
    ]);
    expect(entries[2]?.details).toBe("exit code 137 (OOMKilled) after ~2m10s");
  });

  it("puts an exit before the back-off that follows it within its second", () => {
    const p = pod({
      containers: [{ name: "app", image: "busybox:1.36" }],
      status: {
        containerStatuses: [
          status("app", waiting("CrashLoopBackOff", "back-off 20s restarting failed container"), {
            restartCount: 2,
            lastState: terminated(1, "Error", "12:02:10", "12:02:10"),
          }),
        ],
      },
    });
    const entries = buildTimeline({
      pod: p,
      now: NOW,
      events: [
        event("Started", "Started container app", { container: "app", time: "12:02:10.100", count: 2 }),
        event("BackOff", "Back-off restarting failed container app in pod web_default", {
          container: "app",
          time: "12:02:10.200",
        }),
      ],
    }).entries;
    expect(entries.map((e) => [e.time, e.what, e.details])).toEqual([
      [at("11:00:00"), "Applied", "the node accepted the pod"],
      [at("12:02:10.100"), "Restarted", "restart 1"],
      [at("12:02:10"), "Exited", "exit code 1 (Error) after <1s"],
      [at("12:02:10.200"), "BackOff", "Back-off restarting failed container app in pod web_default"],
    ]);
  });

  it("ends with the deletion, at the first container stop, and the eviction", () => {
    const p = { ...restartedPod(), terminating: true };
    const entries = buildTimeline({
      pod: p,
      now: NOW,
      events: [
        event("Evicted", "The node was low on resource: memory.", { time: "12:03:00.000" }),
        event("Killing", "Stopping container web", { container: "web", time: "12:03:00.500" }),
      ],
    }).entries;
    expect(entries.slice(-3).map((e) => [e.time, e.what])).toEqual([
      [at("12:03:00.000"), "Evicted"],
      ["2026-03-01T12:03:00.499Z", "Deleting"],
      [at("12:03:00.500"), "Killing"],
    ]);
  });
});

describe("renderTimeline", () => {
  const timeline = () => buildTimeline({ pod: restartedPod(), events: restartEvents(), now: NOW });

  it("prints ages as kubectl does, one line per happening", () => {
    const text = renderTimeline(timeline(), { now: NOW, wide: false });
    expect(text.split("\n").slice(0, 4)).toEqual([
      "pod default/web timeline:",
      "AGE     CONTAINER   WHAT           DETAILS",
      "64m     -           Scheduled      Successfully assigned default/web to node-1",
      "64m     -           SandboxReady   pod sandbox created, network ready",
    ]);
    expect(text).toContain(
      "\n4m      web         Unhealthy      Liveness probe failed: exec [false] exited non-zero (x3)\n",
    );
    expect(text).toContain("\n4m      web         Exited         exit code 137 (Error) after ~60m\n");
    expect(text.endsWith("\n3m55s   -           Ready          all containers ready\n")).toBe(true);
  });

  it("prints RFC 3339 times when wide, colours what went wrong on a terminal, and serialises for scripts", () => {
    const wide = renderTimeline(timeline(), { now: NOW, wide: true });
    expect(wide.split("\n")[1]).toMatch(/^TIME {23}CONTAINER {3}WHAT {11}DETAILS$/);
    expect(wide).toContain("\n2026-03-01T12:01:00Z       web         Exited ");
    const coloured = renderTimeline(timeline(), { now: NOW, wide: false }, painter({ isTTY: true }, {}));
    expect(coloured).toContain("\u001b[33mUnhealthy   \u001b[0m");
    expect(coloured).not.toContain("\u001b[33mStarted");
    const json = JSON.parse(renderStructured(timeline(), "json")) as { entries: { time: string }[] };
    expect(json.entries[0]?.time).toBe(at("11:00:00.100"));
  });

  it("keeps a container's output from repainting the terminal", () => {
    const t = buildTimeline({
      pod: restartedPod(),
      now: NOW,
      events: [
        event("Unhealthy", "Readiness probe failed: \u001b[2Jboom\u0007", {
          container: "web",
          time: "12:04:00.000",
        }),
      ],
    });
    expect(renderTimeline(t, { now: NOW, wide: false })).toContain("Readiness probe failed: boom?");
  });
});

describe("buildTimeline with a late Started event", () => {
  it("keeps the status's start when the event was recorded after the run already exited", () => {
    const p = pod({
      containers: [{ name: "app", image: "busybox:1.36" }],
      status: {
        containerStatuses: [
          status("app", waiting("CrashLoopBackOff", "back-off 20s restarting failed container"), {
            restartCount: 2,
            lastState: terminated(1, "Error", "12:02:09", "12:02:10"),
          }),
        ],
      },
    });
    const entries = buildTimeline({
      pod: p,
      now: NOW,
      events: [
        event("Started", "Started container app", { container: "app", time: "12:02:10.600", count: 2 }),
        event("BackOff", "Back-off restarting failed container app in pod web_default", {
          container: "app",
          time: "12:02:10.300",
        }),
      ],
    }).entries;
    expect(entries.map((e) => [e.time, e.what])).toEqual([
      [at("11:00:00"), "Applied"],
      [at("12:02:09"), "Restarted"],
      [at("12:02:10"), "Exited"],
      [at("12:02:10.300"), "BackOff"],
    ]);
  });
});
