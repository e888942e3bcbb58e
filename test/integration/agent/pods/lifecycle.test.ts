// Pods through their life on the real runtime: init containers in order over a shared
// emptyDir, restartPolicy Never, graceful deletion with preStop, a spec change that restarts
// only the changed container, image failures, and an agent restart that adopts what runs.
import { access, mkdtemp, readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { waitFor } from "../../../../harness/cri-fixtures.js";
import { containerState, startPodFixture, type PodFixture } from "./pod-fixture.js";

const LOOP = "trap 'exit 0' TERM; while true; do sleep 0.2; done";

let f: PodFixture;

beforeEach(async () => {
  f = await startPodFixture();
});

afterEach(async () => {
  await f.cleanup();
});

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe("pod lifecycle", () => {
  it("runs init containers in order before the app container, sharing an emptyDir", async () => {
    const volumeMounts = [{ name: "work", mountPath: "/work" }];
    await f.manager.apply(
      f.pod("init", {
        restartPolicy: "Never",
        volumes: [{ name: "work", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } }],
        initContainers: [
          {
            name: "first",
            image: f.image,
            command: ["sh", "-c", "sleep 0.5; echo one >> /work/log"],
            volumeMounts,
          },
          { name: "second", image: f.image, command: ["sh", "-c", "echo two >> /work/log"], volumeMounts },
        ],
        containers: [
          {
            name: "app",
            image: f.image,
            command: [
              "sh",
              "-c",
              'test "$(cat /work/log | tr "\\n" " ")" = "one two " && df /work | grep -q tmpfs',
            ],
            volumeMounts,
          },
        ],
      }),
      { kind: "api" },
    );
    // While the first init container runs, the app container waits for initialization.
    const during = await f.waitForPod(
      "init",
      (p) => containerState(p, "first") === "running",
      "first init running",
    );
    expect(during.status.phase).toBe("Pending");
    expect(during.status.containerStatuses[0]?.state).toEqual({ waiting: { reason: "PodInitializing" } });
    expect(during.status.conditions.find((c) => c.type === "Initialized")).toMatchObject({
      status: "False",
      reason: "ContainersNotInitialized",
      message: "containers with incomplete status: [first second]",
    });
    const pod = await f.waitForPod("init", (p) => p.status.phase === "Succeeded", "pod Succeeded");
    const [first, second] = pod.status.initContainerStatuses;
    expect(first?.state).toMatchObject({ terminated: { exitCode: 0, reason: "Completed" } });
    expect(second?.state).toMatchObject({ terminated: { exitCode: 0, reason: "Completed" } });
    const finished = (s: typeof first): number =>
      s && "terminated" in s.state ? Date.parse(s.state.terminated.finishedAt) : NaN;
    expect(finished(first)).toBeLessThanOrEqual(finished(second));
    expect(pod.status.containerStatuses[0]?.state).toMatchObject({ terminated: { exitCode: 0 } });
    expect(pod.status.conditions.find((c) => c.type === "Initialized")?.status).toBe("True");
    expect(pod.status.conditions.find((c) => c.type === "Ready")).toMatchObject({
      status: "False",
      reason: "PodCompleted",
    });
  });

  it("a restartPolicy Never pod whose container exits 1 is Failed, with its termination message", async () => {
    await f.manager.apply(
      f.pod("fails", {
        restartPolicy: "Never",
        containers: [
          {
            name: "app",
            image: f.image,
            command: ["sh", "-c", "echo -n 'disk on fire' > /dev/termination-log; exit 1"],
          },
        ],
      }),
      { kind: "api" },
    );
    const pod = await f.waitForPod("fails", (p) => p.status.phase === "Failed", "pod Failed");
    const app = pod.status.containerStatuses[0]!;
    expect(app.state).toMatchObject({
      terminated: { exitCode: 1, reason: "Error", message: "disk on fire" },
    });
    expect(app.restartCount).toBe(0);
    // It stays failed: nothing restarts it on the next syncs.
    f.manager.resyncAll();
    await new Promise((r) => setTimeout(r, 1500));
    expect(f.manager.get("default", "fails")?.status.containerStatuses[0]?.restartCount).toBe(0);
    expect(f.manager.get("default", "fails")?.status.phase).toBe("Failed");
  });

  it("graceful deletion runs preStop, stops the container and leaves nothing behind", async () => {
    const hostDir = await mkdtemp(join(f.harness.root, "host-"));
    const spec = f.pod("bye", {
      terminationGracePeriodSeconds: 10,
      volumes: [{ name: "out", hostPath: { path: hostDir, type: "Directory" } }],
      containers: [
        {
          name: "app",
          image: f.image,
          command: ["sh", "-c", `echo started; ${LOOP}`],
          volumeMounts: [{ name: "out", mountPath: "/out" }],
          lifecycle: { preStop: { exec: { command: ["sh", "-c", "echo bye > /out/prestop"] } } },
        },
      ],
    });
    await f.manager.apply(spec, { kind: "api" });
    await f.waitForPod("bye", (p) => p.status.phase === "Running", "running");
    const uid = spec.metadata.uid;
    const logDir = join(f.options.podLogsDir!, `default_bye_${uid}`);
    expect(await readFile(join(logDir, "app", "0.log"), "utf8")).toContain("started");
    const started = Date.now();
    await f.manager.delete("default", "bye");
    // The loop exits on TERM: deletion took far less than the 10 s grace period.
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(await readFile(join(hostDir, "prestop"), "utf8")).toBe("bye\n");
    expect(f.manager.get("default", "bye")).toBeUndefined();
    expect(f.changes.some((c) => c.type === "DELETED" && c.pod.metadata.uid === uid)).toBe(true);
    const terminating = f.changes.find(
      (c) => c.type === "MODIFIED" && c.pod.metadata.uid === uid && c.pod.terminating,
    );
    expect(terminating).toBeDefined();
    const killing = f.manager.events({ name: "bye" }).find((e) => e.reason === "Killing");
    expect(killing?.message).toBe("Stopping container app");
    const { items } = await f.harness.cri.runtime.listPodSandbox({});
    expect(items).toHaveLength(0);
    expect(await exists(logDir)).toBe(false);
    expect(await exists(join(f.options.stateDir, "pods", uid))).toBe(false);
    expect(await readdir(join(f.options.stateDir, "pod-specs"))).toEqual([]);
  });

  it("a changed spec restarts only the container whose definition changed", async () => {
    const container = (name: string, env: string) => ({
      name,
      image: f.image,
      command: ["sh", "-c", LOOP],
      env: [{ name: "VERSION", value: env }],
    });
    const spec = f.pod("change", { containers: [container("a", "1"), container("b", "1")] });
    await f.manager.apply(spec, { kind: "api" });
    const before = await f.waitForPod(
      "change",
      (p) => p.status.containerStatuses.every((c) => c.ready),
      "both running",
    );
    const changed = f.pod(
      "change",
      { containers: [container("a", "1"), container("b", "2")] },
      { uid: spec.metadata.uid },
    );
    await f.manager.apply(changed, { kind: "api" });
    const after = await f.waitForPod(
      "change",
      (p) => p.status.containerStatuses[1]?.restartCount === 1 && p.status.containerStatuses[1].ready,
      "b restarted",
    );
    expect(after.status.containerStatuses[0]?.containerID).toBe(
      before.status.containerStatuses[0]?.containerID,
    );
    expect(after.status.containerStatuses[0]?.restartCount).toBe(0);
    expect(after.status.containerStatuses[1]?.containerID).not.toBe(
      before.status.containerStatuses[1]?.containerID,
    );
    const killing = f.manager.events({ name: "change" }).filter((e) => e.reason === "Killing");
    expect(killing.map((e) => e.message)).toEqual(["Container b definition changed, will be restarted"]);
    expect(after.spec).toBe(changed);
  });

  it("reports ErrImagePull, then ImagePullBackOff, for an image it cannot get", async () => {
    // A registry on a loopback port nobody listens on: the pull fails without leaving the host.
    const image = "127.0.0.1:1/berth-test/missing:1";
    await f.manager.apply(f.pod("nopull", { containers: [{ name: "app", image, command: ["true"] }] }), {
      kind: "api",
    });
    const seen = new Set<string>();
    await f.waitForPod(
      "nopull",
      (p) => {
        const state = p.status.containerStatuses[0]?.state;
        if (state && "waiting" in state) seen.add(state.waiting.reason);
        return seen.has("ImagePullBackOff");
      },
      "ImagePullBackOff",
    );
    expect(
      seen.has("ErrImagePull") ||
        f.changes.some((c) => c.type !== "EVENT" && JSON.stringify(c.pod.status).includes("ErrImagePull")),
    ).toBe(true);
    const events = f.manager.events({ name: "nopull" });
    expect(events.find((e) => e.reason === "Pulling")?.message).toBe(`Pulling image "${image}"`);
    expect(events.find((e) => e.reason === "Failed")?.message).toMatch(
      /^Failed to pull image "127\.0\.0\.1:1\/berth-test\/missing:1": /,
    );
    expect(
      events.some((e) => e.reason === "BackOff" && e.message === `Back-off pulling image "${image}"`),
    ).toBe(true);
  });

  it("an agent restart adopts running pods without restarting them, and removes orphans", async () => {
    const api = f.pod("kept", { containers: [{ name: "app", image: f.image, command: ["sh", "-c", LOOP] }] });
    const orphan = f.pod("orphan", {
      containers: [{ name: "app", image: f.image, command: ["sh", "-c", LOOP] }],
    });
    await f.manager.apply(api, { kind: "api" });
    // A static pod whose manifest is gone by the time the agent comes back.
    await f.manager.apply(orphan, { kind: "file", path: "/etc/berth/manifests/orphan.yaml" });
    const before = await f.waitForPod("kept", (p) => p.status.phase === "Running", "kept running");
    await f.waitForPod("orphan", (p) => p.status.phase === "Running", "orphan running");

    const manager = await f.restartManager();
    const after = await f.waitForPod(
      "kept",
      (p) => p.status.phase === "Running" && p.status.containerStatuses[0]?.ready === true,
      "kept adopted",
    );
    expect(after.status.containerStatuses[0]?.containerID).toBe(
      before.status.containerStatuses[0]?.containerID,
    );
    expect(after.status.containerStatuses[0]?.restartCount).toBe(0);
    expect(manager.get("default", "orphan")).toBeUndefined();
    await waitFor(
      async () => {
        const { items } = await f.harness.cri.runtime.listPodSandbox({});
        return items.every((s) => s.metadata?.uid === api.metadata.uid);
      },
      20_000,
      "orphan sandbox removed",
    );
    expect(manager.events({ name: "kept" }).filter((e) => e.reason === "Started")).toHaveLength(0);
  });
});
