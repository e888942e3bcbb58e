import { describe, expect, it } from "vitest";
import { explainPod, orderFindings } from "../../../../../agent/cli/explain/analyze.js";
import type { Finding } from "../../../../../agent/cli/explain/types.js";
import {
  MiB,
  at,
  event,
  input,
  pod,
  readyConditions,
  running,
  status,
  terminated,
  waiting,
} from "./fixtures.js";

const OOM_MESSAGE =
  "the container's main process was killed by the kernel's OOM killer: out of memory " +
  "(memory limit 128.0 MiB, peak 128.0 MiB, usage at the kill 126.0 MiB)";

const app = (extra: Record<string, unknown> = {}) => ({ name: "app", image: "busybox:1.36", ...extra });
const web = (extra: Record<string, unknown> = {}) => ({ name: "web", image: "busybox:1.36", ...extra });
const memoryLimit = (limit: string) => ({ resources: { limits: { memory: limit } } });

describe("explainPod: healthy pods", () => {
  it("finds nothing in a running, ready pod without restarts", () => {
    const p = pod({
      containers: [web(), app()],
      status: {
        conditions: readyConditions(true),
        containerStatuses: [status("web", running("11:00:02")), status("app", running("11:00:02"))],
      },
    });
    const x = explainPod(
      input(p, [event("Started", "Started container web", { container: "web", time: "11:00:02" })]),
    );
    expect(x.healthy).toBe(true);
    expect(x.findings).toEqual([]);
    expect(x.summary).toBe("no problems found: all containers running and ready, 0 restarts");
    expect(x.pod).toEqual({ namespace: "default", name: "web", uid: "uid-1" });
  });

  it("says a completed pod completed", () => {
    const p = pod({
      containers: [app()],
      restartPolicy: "Never",
      status: {
        phase: "Succeeded",
        containerStatuses: [
          status("app", terminated(0, "Completed", "11:00:02", "11:00:04"), { ready: false }),
        ],
      },
    });
    const x = explainPod(input(p));
    expect(x.healthy).toBe(true);
    expect(x.summary).toBe("no problems found: the pod completed, every container exited 0");
  });
});

describe("explainPod: OOM kills", () => {
  it("counts the kills from the events and reads the memory figures of the latest", () => {
    const p = pod({
      containers: [app(memoryLimit("128Mi"))],
      status: {
        conditions: readyConditions(true),
        containerStatuses: [
          status("app", running("12:01:05"), {
            restartCount: 3,
            lastState: terminated(137, "OOMKilled", "11:58:00", "12:01:03"),
          }),
        ],
      },
    });
    const events = [event("OOMKilling", OOM_MESSAGE, { container: "app", time: "12:01:03", count: 3 })];
    const usage = [
      { name: "app", containerId: "current", workingSetBytes: 120 * MiB, memoryLimitBytes: 128 * MiB },
    ];
    const x = explainPod(input(p, events, { usage }));
    expect(x.healthy).toBe(false);
    expect(x.findings).toHaveLength(1);
    const [oom] = x.findings as [Finding];
    expect(oom).toMatchObject({
      kind: "oom-killed",
      container: "app",
      severity: "warning",
      count: 3,
      lastTime: at("12:01:03"),
    });
    expect(oom.headline).toBe(
      "container app was OOM-killed 3 times; last at 12:01:03 (3m57s ago) (exit 137). " +
        "Memory limit 128Mi; usage at the kill was 126Mi (98%); working set now 120Mi (94%).",
    );
    expect(oom.evidence.map((e) => e.text)).toContain(`OOMKilling: ${OOM_MESSAGE} (x3)`);
  });

  it("tells an OOM kill from the last state alone, and is critical while the container waits to restart", () => {
    const p = pod({
      containers: [app(memoryLimit("128Mi"))],
      status: {
        containerStatuses: [
          status(
            "app",
            waiting("CrashLoopBackOff", "back-off 20s restarting failed container=app pod=web_default"),
            {
              restartCount: 1,
              lastState: terminated(137, "OOMKilled", "12:04:00", "12:04:50"),
            },
          ),
        ],
      },
    });
    const [oom, ...rest] = explainPod(input(p)).findings;
    expect(rest).toEqual([]);
    expect(oom?.severity).toBe("critical");
    expect(oom?.headline).toBe(
      "container app was OOM-killed 1 time; last at 12:04:50 (10s ago) (exit 137). Memory limit 128Mi. " +
        "Now in CrashLoopBackOff, next restart in ~10s (back-off 20s).",
    );
  });

  it("tells a process killed inside a container that kept running", () => {
    const p = pod({
      containers: [app(memoryLimit("256Mi"))],
      status: { conditions: readyConditions(true), containerStatuses: [status("app", running("11:00:02"))] },
    });
    const message =
      "the kernel's OOM killer killed 2 processes in the container; the main process is still running " +
      "(memory limit 256.0 MiB, usage at the kill 250.0 MiB)";
    const x = explainPod(
      input(p, [event("OOMKilling", message, { container: "app", time: "12:02:00", count: 2 })]),
    );
    expect(x.findings.map((f) => f.kind)).toEqual(["process-oom-killed"]);
    expect(x.findings[0]?.headline).toBe(
      "a process inside container app was OOM-killed 2 times while the container kept running; " +
        "last at 12:02:00 (3m ago). Memory limit 256Mi; usage at the kill was 250Mi (98%).",
    );
  });
});

describe("explainPod: probe kills", () => {
  const liveness = {
    livenessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 10, failureThreshold: 3 },
  };

  it("names the liveness probe, its failures and the kills, and not the exit as a crash", () => {
    const p = pod({
      containers: [web(liveness)],
      status: {
        conditions: readyConditions(true),
        containerStatuses: [
          status("web", running("12:00:25"), {
            restartCount: 4,
            lastState: terminated(137, "Error", "11:58:00", "12:00:24"),
          }),
        ],
      },
    });
    const events = [
      event("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 503", {
        container: "web",
        time: "12:00:01",
      }),
      event("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 502", {
        container: "web",
        time: "12:00:11",
      }),
      event("Unhealthy", "Liveness probe failed: HTTP probe failed with statuscode: 500", {
        container: "web",
        time: "12:00:21",
      }),
      event("Killing", "Container web failed liveness probe, will be restarted", {
        container: "web",
        time: "12:00:21",
        count: 4,
      }),
    ];
    const x = explainPod(input(p, events));
    expect(x.findings.map((f) => f.kind)).toEqual(["liveness-failed"]);
    const [f] = x.findings as [Finding];
    expect(f.headline).toBe(
      "container web restarted 4 times because its liveness probe failed: http-get :8080/healthz returned 500 " +
        "(3 failures at 12:00:01, 12:00:11, 12:00:21; checked every 10s, restarts after 3 failures in a row); " +
        "last killed at 12:00:21 (4m39s ago)",
    );
    expect(f).toMatchObject({
      count: 4,
      firstTime: at("12:00:01"),
      lastTime: at("12:00:21"),
      severity: "warning",
    });
    // Evidence in time order, the kill after the failures.
    expect(f.evidence.map((e) => e.text).at(-1)).toBe(
      "Killing: Container web failed liveness probe, will be restarted (x4)",
    );
  });

  it("counts folded failures and says the container is backing off", () => {
    const p = pod({
      containers: [
        web({ livenessProbe: { exec: { command: ["false"] }, periodSeconds: 1, failureThreshold: 1 } }),
      ],
      status: {
        containerStatuses: [
          status(
            "web",
            waiting("CrashLoopBackOff", "back-off 40s restarting failed container=web pod=web_default"),
            {
              restartCount: 3,
              lastState: terminated(137, "Error", "12:04:30", "12:04:31", "prev"),
            },
          ),
        ],
      },
    });
    const events = [
      event("Unhealthy", "Liveness probe failed: ", { container: "web", time: "12:04:30", count: 4 }),
      event("Killing", "Container web failed liveness probe, will be restarted", {
        container: "web",
        time: "12:04:30",
        count: 4,
      }),
      event("BackOff", "Back-off restarting failed container web in pod web_default", {
        container: "web",
        time: "12:04:45",
        count: 2,
      }),
    ];
    const x = explainPod(input(p, events));
    expect(x.findings.map((f) => f.kind)).toEqual(["liveness-failed"]);
    expect(x.findings[0]?.severity).toBe("critical");
    expect(x.findings[0]?.headline).toBe(
      "container web restarted 4 times because its liveness probe failed: exec [false] exited non-zero " +
        "(4 failures, last at 12:04:30; checked every 1s, restarts after 1 failure); last killed at 12:04:30 (30s ago); " +
        "now in CrashLoopBackOff, next restart in ~11s (back-off 40s)",
    );
  });

  it("warns of liveness failures of the running instance before any kill", () => {
    const p = pod({
      containers: [web(liveness)],
      status: { conditions: readyConditions(true), containerStatuses: [status("web", running("12:00:00"))] },
    });
    const events = [
      event(
        "Unhealthy",
        'Liveness probe failed: Get "http://10.88.0.9:8080/healthz": dial tcp 10.88.0.9:8080: connect: connection refused',
        {
          container: "web",
          time: "12:04:50",
          count: 2,
        },
      ),
    ];
    const [f] = explainPod(input(p, events)).findings;
    expect(f?.kind).toBe("liveness-failed");
    expect(f?.severity).toBe("warning");
    expect(f?.headline).toBe(
      "liveness probe of web failing: http-get :8080/healthz connection refused " +
        "(2 failures, last at 12:04:50; checked every 10s, restarts after 3 failures in a row); not restarted yet",
    );
  });

  it("names a startup probe that never passed", () => {
    const p = pod({
      containers: [
        web({ startupProbe: { tcpSocket: { port: 8080 }, periodSeconds: 5, failureThreshold: 2 } }),
      ],
      status: {
        containerStatuses: [
          status("web", running("12:04:40"), {
            ready: false,
            started: false,
            restartCount: 2,
            lastState: terminated(137, "Error", "12:04:20", "12:04:35"),
          }),
        ],
      },
    });
    const events = [
      event("Unhealthy", "Startup probe failed: dial tcp 10.88.0.9:8080: connect: connection refused", {
        container: "web",
        time: "12:04:55",
        count: 5,
      }),
      event("Killing", "Container web failed startup probe, will be restarted", {
        container: "web",
        time: "12:04:30",
        count: 2,
      }),
    ];
    const x = explainPod(input(p, events));
    // Both end with the latest failure; the restarts are found first.
    expect(x.findings.map((f) => f.kind)).toEqual(["startup-failed", "not-ready"]);
    expect(x.findings[0]?.headline).toMatch(
      /^container web restarted 2 times because its startup probe did not pass: tcp-socket :8080 connection refused/,
    );
    expect(x.findings[1]?.headline).toMatch(
      /^pod is not Ready: startup probe of web failing since 12:04:40: tcp-socket :8080 connection refused/,
    );
  });
});

describe("explainPod: readiness", () => {
  it("says since when the readiness probe fails and what it answers", () => {
    const p = pod({
      containers: [web({ readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 5 } })],
      status: {
        conditions: readyConditions(false, "12:03:00"),
        containerStatuses: [status("web", running("12:02:00"), { ready: false })],
      },
    });
    const events = [
      event("Unhealthy", "Readiness probe failed: dial tcp 10.88.0.9:8080: connect: connection refused", {
        container: "web",
        time: "12:04:55",
        count: 24,
      }),
      // A failure of an earlier instance is not this one's.
      event("Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500", {
        container: "web",
        time: "11:30:00",
      }),
    ];
    const [f, ...rest] = explainPod(input(p, events)).findings;
    expect(rest).toEqual([]);
    expect(f).toMatchObject({
      kind: "not-ready",
      severity: "critical",
      count: 24,
      firstTime: at("12:03:00"),
    });
    expect(f?.headline).toBe(
      "pod is not Ready: readiness probe of web failing since 12:03:00: tcp-socket :8080 connection refused " +
        "(24 times, last at 12:04:55 (5s ago); checked every 5s, unready after 3 failures in a row)",
    );
  });

  it("says a readiness probe has not passed yet when it has not failed either", () => {
    const p = pod({
      containers: [
        web({ readinessProbe: { exec: { command: ["cat", "/ready"] }, initialDelaySeconds: 30 } }),
      ],
      status: { containerStatuses: [status("web", running("12:04:50"), { ready: false })] },
    });
    expect(explainPod(input(p)).findings[0]?.headline).toBe(
      "pod is not Ready: readiness probe of web (exec [cat /ready]) has not passed yet; container started " +
        "12:04:50 (10s ago), initial delay 30s, checked every 10s, unready after 3 failures in a row",
    );
  });
});

describe("explainPod: crashes", () => {
  it("tells a crash loop with the exit, the run time, the next restart and the last log lines", () => {
    const p = pod({
      containers: [app()],
      status: {
        containerStatuses: [
          status(
            "app",
            waiting("CrashLoopBackOff", "back-off 40s restarting failed container=app pod=web_default"),
            {
              restartCount: 5,
              lastState: terminated(1, "Error", "12:04:40", "12:04:42"),
            },
          ),
        ],
      },
    });
    const events = [
      event("BackOff", "Back-off restarting failed container app in pod web_default", {
        container: "app",
        time: "12:04:43",
        count: 7,
      }),
    ];
    const logTail = {
      path: "/var/log/pods/default_web_uid-1/app/4.log",
      lines: ["starting", "panic: no config"],
    };
    const [f, ...rest] = explainPod(input(p, events, { logTails: { app: logTail } })).findings;
    expect(rest).toEqual([]);
    expect(f).toMatchObject({
      kind: "crash-loop",
      severity: "critical",
      container: "app",
      count: 5,
      logTail,
    });
    expect(f?.headline).toBe(
      "CrashLoopBackOff: container app exits with code 1 (Error) after ~2s; last at 12:04:42 (18s ago); " +
        "restarted 5 times; next restart in ~22s (back-off 40s)",
    );
    expect(f?.evidence.map((e) => e.text)).toEqual([
      "exited with code 1 (Error) after ~2s",
      "BackOff: Back-off restarting failed container app in pod web_default (x7)",
    ]);
  });

  it("tells past restarts of a container that runs again", () => {
    const p = pod({
      containers: [app()],
      status: {
        conditions: readyConditions(true),
        containerStatuses: [
          status("app", running("12:03:00"), {
            restartCount: 2,
            lastState: terminated(2, "Error", "11:00:00", "12:02:59"),
          }),
        ],
      },
    });
    const [f] = explainPod(input(p)).findings;
    expect(f).toMatchObject({ kind: "restarted", severity: "warning", count: 2 });
    expect(f?.headline).toBe(
      "container app restarted 2 times; the last run exits with code 2 (Error) after ~62m, last at 12:02:59 (2m1s ago)",
    );
  });

  it("tells a failed container that is not restarted", () => {
    const p = pod({
      containers: [app()],
      restartPolicy: "Never",
      status: {
        phase: "Failed",
        containerStatuses: [status("app", terminated(3, "Error", "12:00:00", "12:00:05"))],
      },
    });
    const [f] = explainPod(input(p)).findings;
    expect(f?.kind).toBe("container-failed");
    expect(f?.headline).toBe(
      "container app failed: exits with code 3 (Error) after ~5s at 12:00:05 (4m55s ago); restartPolicy Never, it is not restarted",
    );
  });

  it("does not call a restart for a spec change a crash", () => {
    const p = pod({
      containers: [app()],
      status: {
        conditions: readyConditions(true),
        containerStatuses: [
          status("app", running("12:01:00"), {
            restartCount: 1,
            lastState: terminated(137, "Error", "11:00:00", "12:00:31"),
          }),
        ],
      },
    });
    const events = [
      event("Killing", "Container app definition changed, will be restarted", {
        container: "app",
        time: "12:00:30",
      }),
    ];
    const x = explainPod(input(p, events));
    expect(x.healthy).toBe(true);
    expect(x.summary).toBe("no problems found: all containers running and ready, 1 restart");
  });

  it("tells an init container that keeps failing, without a second 'waiting' finding", () => {
    const p = pod({
      initContainers: [{ name: "migrate", image: "busybox:1.36" }],
      containers: [app()],
      status: {
        phase: "Pending",
        conditions: [{ type: "Initialized", status: "False", lastTransitionTime: at("11:00:00") }],
        initContainerStatuses: [
          status(
            "migrate",
            waiting("CrashLoopBackOff", "back-off 1m20s restarting failed container=migrate pod=web_default"),
            {
              restartCount: 4,
              lastState: terminated(1, "Error", "12:04:00", "12:04:01"),
            },
          ),
        ],
        containerStatuses: [status("app", waiting("PodInitializing"))],
      },
    });
    const x = explainPod(input(p));
    expect(x.findings.map((f) => f.kind)).toEqual(["init-failed"]);
    expect(x.findings[0]?.headline).toBe(
      "init container migrate failed: exits with code 1 (Error) after ~1s; last at 12:04:01 (59s ago); " +
        "restarted 4 times; in CrashLoopBackOff, next restart in ~21s (back-off 1m20s); the app containers wait for it",
    );
  });

  it("tells a container that cannot start", () => {
    const p = pod({
      containers: [app()],
      status: {
        containerStatuses: [
          status(
            "app",
            waiting("CrashLoopBackOff", "back-off 10s restarting failed container=app pod=web_default"),
            {
              restartCount: 1,
              lastState: {
                terminated: {
                  exitCode: 128,
                  reason: "StartError",
                  message: 'exec: "/bin/web": no such file or directory',
                  startedAt: at("12:04:58"),
                  finishedAt: at("12:04:58"),
                  containerID: "berth://prev",
                },
              },
            },
          ),
        ],
      },
    });
    expect(explainPod(input(p)).findings[0]?.headline).toBe(
      'CrashLoopBackOff: container app cannot start (StartError: exec: "/bin/web": no such file or directory); ' +
        "last at 12:04:58 (2s ago); restarted 1 time; next restart in ~8s (back-off 10s)",
    );
  });
});

describe("explainPod: pending pods and images", () => {
  it("tells an image that cannot be pulled", () => {
    const p = pod({
      containers: [{ name: "app", image: "registry.local/app:nope" }],
      status: {
        phase: "Pending",
        containerStatuses: [
          status("app", waiting("ErrImagePull", "manifest unknown: registry.local/app:nope"), {
            image: "registry.local/app:nope",
          }),
        ],
      },
    });
    const events = [
      event("Pulling", 'Pulling image "registry.local/app:nope"', {
        container: "app",
        time: "12:04:00",
        count: 3,
        type: "Normal",
      }),
      event("Failed", 'Failed to pull image "registry.local/app:nope": manifest unknown', {
        container: "app",
        time: "12:04:01",
        count: 3,
      }),
      event("Failed", "Error: ErrImagePull", { container: "app", time: "12:04:01", count: 3 }),
    ];
    const x = explainPod(input(p, events));
    expect(x.findings.map((f) => f.kind)).toEqual(["image-pull"]);
    expect(x.findings[0]?.headline).toBe(
      "image pull failing: ErrImagePull for container app (registry.local/app:nope): " +
        "manifest unknown: registry.local/app:nope; 3 times tried, last at 12:04:01 (59s ago)",
    );
    expect(x.findings[0]?.count).toBe(3);
  });

  it("tells a sandbox that cannot be created", () => {
    const p = pod({
      containers: [app()],
      status: { phase: "Pending", containerStatuses: [status("app", waiting("ContainerCreating"))] },
    });
    const events = [
      event("FailedCreatePodSandBox", "Failed to create pod sandbox: cni: no IP addresses left", {
        time: "12:04:30",
        count: 6,
      }),
    ];
    const [f, ...rest] = explainPod(input(p, events)).findings;
    expect(rest).toEqual([]);
    expect(f?.headline).toBe(
      "pending: the pod sandbox cannot be created: Failed to create pod sandbox: cni: no IP addresses left " +
        "(6 times, last at 12:04:30 (30s ago))",
    );
  });

  it("says what a pending pod waits for", () => {
    const p = pod({
      initContainers: [{ name: "setup", image: "busybox:1.36" }],
      containers: [app()],
      status: {
        phase: "Pending",
        initContainerStatuses: [status("setup", running("12:04:00"))],
        containerStatuses: [status("app", waiting("PodInitializing"))],
      },
    });
    const [f] = explainPod(input(p)).findings;
    expect(f).toMatchObject({ kind: "pending", severity: "warning", container: "setup" });
    expect(f?.headline).toBe(
      "pending: waiting for init container setup to finish (running since 12:04:00 (60s ago))",
    );
  });
});

describe("explainPod: eviction", () => {
  it("reads the eviction message back as signal, threshold and usage", () => {
    const p = pod({
      containers: [{ name: "hog", image: "busybox:1.36" }],
      status: {
        phase: "Failed",
        reason: "Evicted",
        message:
          "The node was low on resource: memory. Threshold quantity: 100Mi, available: 80Mi. Container hog was using 300Mi, request is 0.",
        containerStatuses: [status("hog", terminated(137, "Error", "11:00:00", "12:04:31"))],
      },
    });
    const events = [
      event(
        "Evicted",
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 80Mi. Container hog was using 300Mi, request is 0.",
        {
          time: "12:04:30",
        },
      ),
      event("Killing", "Stopping container hog", { container: "hog", time: "12:04:30" }),
    ];
    const x = explainPod(input(p, events));
    expect(x.findings.map((f) => f.kind)).toEqual(["evicted"]);
    expect(x.findings[0]?.headline).toBe(
      "evicted at 12:04:30: node was low on memory (memory.available 80Mi < 100Mi); container hog used 300Mi over its request of 0",
    );
  });

  it("tells a pod refused at admission", () => {
    const p = pod({
      containers: [app()],
      status: { phase: "Failed", reason: "Evicted", message: "The node had condition: [DiskPressure]." },
    });
    expect(explainPod(input(p)).findings[0]?.headline).toBe(
      "evicted: refused: the node had condition DiskPressure",
    );
  });
});

describe("explainPod: failed pods", () => {
  it("tells a pod failed as a whole, with its reason", () => {
    const p = pod({
      containers: [app()],
      status: {
        phase: "Failed",
        reason: "DeadlineExceeded",
        message: "Pod was active on the node longer than the specified deadline",
      },
    });
    const [f] = explainPod(input(p)).findings;
    expect(f).toMatchObject({ kind: "pod-failed", severity: "critical" });
    expect(f?.headline).toBe(
      "pod failed: DeadlineExceeded: Pod was active on the node longer than the specified deadline",
    );
  });
});

describe("explainPod: CPU and memory pressure", () => {
  const limits = { resources: { limits: { cpu: "500m", memory: "128Mi" } } };
  const healthy = (extra: Record<string, unknown> = limits) =>
    pod({
      containers: [app(extra)],
      status: { conditions: readyConditions(true), containerStatuses: [status("app", running("11:00:02"))] },
    });

  it("tells CPU throttling reported as an event", () => {
    const message =
      "CPU throttled in 45% of CFS periods over the last 60 s (27 of 60 periods, 3.1 s held back): the container needs more CPU than its limit";
    const x = explainPod(
      input(healthy(), [
        event("CPUThrottlingHigh", message, { container: "app", time: "12:04:00", count: 2 }),
      ]),
    );
    expect(x.findings.map((f) => f.kind)).toEqual(["cpu-throttled"]);
    expect(x.findings[0]?.headline).toBe(
      "container app CPU throttled 45% of periods over the last 60 s (limit 500m); reported 2 times, last at 12:04:00 (60s ago)",
    );
  });

  it("tells throttling, CPU at the limit and memory near the limit from the stats", () => {
    const sampledAt = Date.parse(at("12:04:58"));
    const throttled = explainPod(
      input(healthy(), [], {
        usage: [
          {
            name: "app",
            containerId: "current",
            sampledAt,
            throttling: { periods: 600, throttledPeriods: 270, windowSeconds: 60 },
          },
        ],
      }),
    );
    expect(throttled.findings[0]?.headline).toBe(
      "container app CPU throttled 45% of periods over the last 60s (limit 500m)",
    );

    const busy = explainPod(
      input(healthy(), [], {
        usage: [
          { name: "app", containerId: "current", sampledAt, cpuNanoCores: 490e6, workingSetBytes: 120 * MiB },
        ],
      }),
    );
    expect(busy.findings.map((f) => f.headline)).toEqual([
      "container app uses 490m CPU, 98% of its 500m limit: it is held back at the limit (throttled)",
      "container app working set 120Mi is 94% of its 128Mi memory limit: close to an OOM kill",
    ]);

    const calm = explainPod(
      input(healthy(), [], {
        usage: [
          { name: "app", containerId: "current", sampledAt, cpuNanoCores: 100e6, workingSetBytes: 20 * MiB },
        ],
      }),
    );
    expect(calm.healthy).toBe(true);
  });
});

describe("explainPod: ordering and duplicates", () => {
  it("lists problems newest first, current states before past events", () => {
    const p = pod({
      containers: [web({ readinessProbe: { tcpSocket: { port: 8080 } } }), app(memoryLimit("64Mi"))],
      status: {
        conditions: readyConditions(false, "12:04:00"),
        containerStatuses: [
          status("web", running("12:00:00"), { ready: false }),
          status("app", running("12:03:00"), {
            restartCount: 1,
            lastState: terminated(137, "OOMKilled", "12:00:00", "12:02:59"),
          }),
        ],
      },
    });
    const events = [
      event("FailedPostStartHook", "Exec lifecycle hook ([/bin/warm]) for Container web failed: exit 1", {
        container: "web",
        time: "12:00:01",
      }),
    ];
    const kinds = explainPod(input(p, events)).findings.map((f) => `${f.kind}:${f.container}`);
    expect(kinds).toEqual(["not-ready:web", "oom-killed:app", "hook-failed:web"]);
  });

  it("orders equal times critical first, then as found", () => {
    const f = (kind: Finding["kind"], severity: Finding["severity"], lastTime?: string): Finding => ({
      kind,
      severity,
      headline: kind,
      count: 1,
      evidence: [],
      ...(lastTime && { lastTime }),
    });
    const ordered = orderFindings(
      [
        f("restarted", "warning", at("12:00:00")),
        f("hook-failed", "warning", at("12:01:00")),
        f("crash-loop", "critical", at("12:01:00")),
        f("pending", "warning"),
      ],
      Date.parse(at("12:05:00")),
    );
    expect(ordered.map((x) => x.kind)).toEqual(["pending", "crash-loop", "hook-failed", "restarted"]);
  });

  it("counts an event seen twice (a list and a replay, an older snapshot) once", () => {
    const p = pod({
      containers: [web({ livenessProbe: { exec: { command: ["false"] } } })],
      status: {
        conditions: readyConditions(true),
        containerStatuses: [
          status("web", running("12:00:30"), {
            restartCount: 3,
            lastState: terminated(137, "Error", "12:00:00", "12:00:29"),
          }),
        ],
      },
    });
    const kill = (count: number, time: string) =>
      event("Killing", "Container web failed liveness probe, will be restarted", {
        container: "web",
        time,
        count,
      });
    const failure = event("Unhealthy", "Liveness probe failed: ", {
      container: "web",
      time: "12:00:28",
      count: 9,
    });
    const x = explainPod(
      input(p, [kill(2, "11:59:00"), failure, kill(3, "12:00:28"), failure, kill(3, "12:00:28")]),
    );
    expect(x.findings).toHaveLength(1);
    expect(x.findings[0]).toMatchObject({ kind: "liveness-failed", count: 3 });
    expect(x.findings[0]?.headline).toContain("restarted 3 times");
    expect(x.findings[0]?.headline).toContain("(9 failures, last at 12:00:28;");
    expect(x.findings[0]?.evidence).toHaveLength(2);
  });

  it("ignores events of other containers", () => {
    const p = pod({
      containers: [web(), app()],
      status: {
        conditions: readyConditions(true),
        containerStatuses: [status("web", running("11:00:02")), status("app", running("11:00:02"))],
      },
    });
    const events = [
      event("Killing", "Container gone failed liveness probe, will be restarted", {
        container: "gone",
        time: "12:00:00",
      }),
    ];
    expect(explainPod(input(p, events)).healthy).toBe(true);
  });
});
