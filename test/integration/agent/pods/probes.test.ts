// Probes on real containers: readiness drives Ready, liveness restarts with backoff, a
// startup probe holds liveness back, an exec probe's timeout counts as a failure.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ProbeLabels } from "../../../../agent/pods/probe-metrics.js";
import { freePort, startPodFixture, type PodFixture } from "./pod-fixture.js";

/** Exits at once on TERM (busybox sh runs the trap after the current short sleep). */
const LOOP = "trap 'exit 0' TERM; while true; do sleep 0.2; done";

let f: PodFixture;

beforeEach(async () => {
  f = await startPodFixture();
});

afterEach(async () => {
  await f.cleanup();
});

describe("probes", () => {
  it("a busybox httpd pod becomes Ready through its HTTP readiness probe", async () => {
    const port = await freePort();
    const spec = f.pod("web", {
      hostNetwork: true,
      containers: [
        {
          name: "httpd",
          image: f.image,
          command: [
            "sh",
            "-c",
            `mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 127.0.0.1:${port} -h /www`,
          ],
          readinessProbe: { httpGet: { port, path: "/index.html" }, periodSeconds: 1 },
        },
      ],
    });
    const applied = await f.manager.apply(spec, { kind: "api" });
    expect(applied.status.phase).toBe("Pending");
    const pod = await f.waitForPod(
      "web",
      (p) => p.status.conditions.some((c) => c.type === "Ready" && c.status === "True"),
      "pod Ready",
    );
    expect(pod.status.phase).toBe("Running");
    expect(pod.status.podIP).toBe("127.0.0.1");
    const httpd = pod.status.containerStatuses[0];
    expect(httpd?.ready).toBe(true);
    expect(httpd?.containerID).toMatch(/^berth:\/\/[0-9a-f]{64}$/);
    expect(pod.status.conditions.find((c) => c.type === "ContainersReady")?.status).toBe("True");
    const counts = f.manager.probeCounts();
    expect(counts.find((c) => c.probe_type === "Readiness" && c.result === "successful")).toMatchObject({
      pod: "web",
      namespace: "default",
      container: "httpd",
    });
    const reasons = f.manager.events({ name: "web" }).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(["Scheduled", "Pulled", "Created", "Started"]));
    // Before the probe passed the pod was reported not ready, then ready: two distinct MODIFIEDs.
    const readyStates = f.changes
      .filter((c) => c.type === "MODIFIED" && c.pod.metadata.name === "web")
      .map((c) =>
        c.type === "EVENT" ? "" : c.pod.status.conditions.find((x) => x.type === "Ready")?.status,
      );
    expect(readyStates).toContain("False");
    expect(readyStates).toContain("True");
  });

  it("a failing liveness probe restarts the container, counting restarts, with backoff", async () => {
    await f.manager.apply(
      f.pod("live", {
        containers: [
          {
            name: "app",
            image: f.image,
            command: ["sh", "-c", LOOP],
            livenessProbe: {
              exec: { command: ["sh", "-c", "echo sick; exit 1"] },
              periodSeconds: 1,
              failureThreshold: 1,
            },
          },
        ],
      }),
      { kind: "api" },
    );
    const pod = await f.waitForPod(
      "live",
      (p) => (p.status.containerStatuses[0]?.restartCount ?? 0) >= 3,
      "three restarts",
      40_000,
    );
    const app = pod.status.containerStatuses[0]!;
    expect(app.lastState).toMatchObject({ terminated: { exitCode: 0, reason: "Completed" } });
    const events = f.manager.events({ name: "live" });
    const killing = events.find((e) => e.reason === "Killing");
    expect(killing?.message).toBe("Container app failed liveness probe, will be restarted");
    expect(killing?.fieldPath).toBe("spec.containers{app}");
    expect(killing!.count).toBeGreaterThanOrEqual(2);
    const unhealthy = events.find((e) => e.reason === "Unhealthy");
    expect(unhealthy?.message).toBe("Liveness probe failed: sick");
    expect(unhealthy?.type).toBe("Warning");
    // The third restart waited for the backoff: the pod showed CrashLoopBackOff meanwhile.
    expect(
      events.some(
        (e) =>
          e.reason === "BackOff" &&
          /^Back-off restarting failed container app in pod live_default\(/.test(e.message),
      ),
    ).toBe(true);
    const waiting = f.changes.flatMap((c) =>
      c.type !== "EVENT" && c.pod.metadata.name === "live" ? [c.pod.status.containerStatuses[0]?.state] : [],
    );
    expect(
      waiting.some(
        (s) =>
          s !== undefined &&
          "waiting" in s &&
          s.waiting.reason === "CrashLoopBackOff" &&
          /^back-off \d+s restarting failed container=app pod=live_default\(uid-live-/.test(
            s.waiting.message ?? "",
          ),
      ),
    ).toBe(true);
    expect(f.manager.probeCounts().some((c) => c.probe_type === "Liveness" && c.result === "failed")).toBe(
      true,
    );
  });

  it("a startup probe holds the liveness probe back until it passes", async () => {
    const runs: ProbeLabels[] = [];
    f.manager.onProbe((labels) => runs.push(labels));
    await f.manager.apply(
      f.pod("slow", {
        containers: [
          {
            name: "app",
            image: f.image,
            command: ["sh", "-c", `sleep 3; touch /tmp/started; ${LOOP}`],
            startupProbe: {
              exec: { command: ["test", "-f", "/tmp/started"] },
              periodSeconds: 1,
              failureThreshold: 30,
            },
            livenessProbe: { exec: { command: ["false"] }, periodSeconds: 1, failureThreshold: 1 },
          },
        ],
      }),
      { kind: "api" },
    );
    const before = await f.waitForPod(
      "slow",
      (p) =>
        p.status.containerStatuses[0]?.state !== undefined &&
        "running" in p.status.containerStatuses[0].state,
      "running",
    );
    expect(before.status.containerStatuses[0]?.started).toBe(false);
    await f.waitForPod(
      "slow",
      () => f.manager.events({ name: "slow" }).some((e) => e.reason === "Killing"),
      "the liveness kill",
    );
    const firstStartupPass = runs.findIndex((r) => r.probe_type === "Startup" && r.result === "successful");
    const firstLiveness = runs.findIndex((r) => r.probe_type === "Liveness");
    expect(
      runs.filter((r) => r.probe_type === "Startup" && r.result === "failed").length,
    ).toBeGreaterThanOrEqual(1);
    expect(firstStartupPass).toBeGreaterThanOrEqual(0);
    expect(firstLiveness).toBeGreaterThan(firstStartupPass);
  });

  it("an exec probe that outlives its timeout fails", async () => {
    const started = Date.now();
    await f.manager.apply(
      f.pod("hang", {
        containers: [
          {
            name: "app",
            image: f.image,
            command: ["sh", "-c", LOOP],
            livenessProbe: {
              exec: { command: ["sleep", "30"] },
              timeoutSeconds: 1,
              periodSeconds: 2,
              failureThreshold: 1,
            },
          },
        ],
      }),
      { kind: "api" },
    );
    await f.waitForPod(
      "hang",
      () => f.manager.events({ name: "hang" }).some((e) => e.reason === "Unhealthy"),
      "a failed liveness run",
      20_000,
    );
    const unhealthy = f.manager.events({ name: "hang" }).find((e) => e.reason === "Unhealthy")!;
    expect(unhealthy.message).toBe('Liveness probe failed: command ["sleep","30"] timed out after 1s');
    // Failed after ~1 s of probing, long before the command's 30 s.
    expect(Date.parse(unhealthy.time) - started).toBeLessThan(15_000);
    await f.waitForPod("hang", (p) => p.status.containerStatuses[0]?.restartCount === 1, "a restart");
  });
});
