// The PodManager and its workers over an in-memory runtime, on a manual clock: what the CRI
// is asked for, restart decisions and backoff, spec changes, image failures, deletion and
// the restore of applied specs after a restart.
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../../common/logger.js";
import {
  ContainerState,
  NamespaceMode,
  Protocol,
  type CreateContainerRequest,
  type RunPodSandboxRequest,
  type StopContainerRequest,
} from "../../../../cri/api/generated/api.js";
import { PodManager, type PodManagerOptions } from "../../../../agent/pods/pod-manager.js";
import type { PodChange, PodStatusView } from "../../../../agent/pods/pod-manager-api.js";
import { FakeRuntime } from "./fake-runtime.js";
import { ManualTime, settle as ioTurns } from "./manual-time.js";
import { IMAGE, container, podSpec } from "./pod-spec-fixture.js";

let dir: string;
let fake: FakeRuntime;
let time: ManualTime;
let managers: PodManager[];

function options(extra: Partial<PodManagerOptions> = {}): PodManagerOptions {
  const clients = fake.clients();
  return {
    runtime: clients.runtime,
    images: clients.images,
    logger: silentLogger(),
    stateDir: join(dir, "state"),
    podLogsDir: join(dir, "logs"),
    cgroupRoot: "/berth",
    nodeName: "node-1",
    hostIPs: ["192.0.2.10"],
    memoryCapacityBytes: 8 * 1024 ** 3,
    clock: time.clock,
    timers: time,
    probeScheduler: { clock: time.clock, timers: time, random: () => 0 },
    sourcesReadyDelayMs: 0,
    // Tests relist by hand (cycle()); the timer would only add noise.
    relistIntervalMs: 3_600_000,
    hostResolvConf: join(dir, "missing-resolv.conf"),
    ...extra,
  };
}

async function startManager(extra: Partial<PodManagerOptions> = {}): Promise<PodManager> {
  const manager = new PodManager(options(extra));
  await manager.start();
  managers.push(manager);
  return manager;
}

/** Waits until every manager's workers are idle (and a few I/O turns for probe runs). */
async function settle(): Promise<void> {
  for (let round = 0; round < 3; round++) {
    await ioTurns(3);
    for (const m of managers) await m.settled();
  }
}

/** One relist and one sync of every pod, as time passing would bring. */
async function cycle(manager: PodManager): Promise<void> {
  await manager.relistNow();
  await settle();
  manager.resyncAll();
  await settle();
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-pods-"));
  time = new ManualTime();
  time.settler = settle;
  fake = new FakeRuntime(() => time.now);
  fake.addImage(IMAGE);
  managers = [];
});

afterEach(async () => {
  for (const m of managers) await m.stop();
  await rm(dir, { recursive: true, force: true });
});

function app(pod: PodStatusView | undefined, index = 0) {
  return pod?.status.containerStatuses[index];
}

describe("PodManager on a fake runtime", () => {
  it("creates the sandbox and containers the way the kubelet asks for them", async () => {
    const manager = await startManager();
    const spec = podSpec("web", {
      hostname: "front",
      dnsPolicy: "None",
      dnsConfig: {
        nameservers: ["10.0.0.10"],
        searches: ["svc.local"],
        options: [{ name: "ndots", value: "2" }],
      },
      securityContext: {
        runAsUser: 1000,
        fsGroup: 2000,
        sysctls: [{ name: "net.core.somaxconn", value: "1024" }],
      },
      volumes: [{ name: "cache", emptyDir: {} }],
      containers: [
        container("app", {
          env: [
            { name: "A", value: "x" },
            { name: "B", value: "$(A)-y" },
            { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
          ],
          args: ["--name=$(B)"],
          ports: [{ containerPort: 80, hostPort: 8080, name: "http" }],
          volumeMounts: [{ name: "cache", mountPath: "/cache" }],
          resources: { requests: { cpu: "250m", memory: "64Mi" }, limits: { cpu: "500m", memory: "128Mi" } },
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true },
        }),
      ],
    });
    await manager.apply(spec, { kind: "api" });
    await settle();

    const [sandboxReq] = fake.callsOf("runPodSandbox") as RunPodSandboxRequest[];
    const config = sandboxReq!.config!;
    expect(config.metadata).toEqual({ name: "web", namespace: "default", uid: "uid-web", attempt: 0 });
    expect(config.hostname).toBe("front");
    expect(config.logDirectory).toBe(join(dir, "logs", "default_web_uid-web"));
    expect(config.dnsConfig).toEqual({
      servers: ["10.0.0.10"],
      searches: ["svc.local"],
      options: ["ndots:2"],
    });
    expect(config.portMappings).toEqual([
      { protocol: Protocol.TCP, containerPort: 80, hostPort: 8080, hostIp: "" },
    ]);
    expect(config.labels).toMatchObject({
      "io.kubernetes.pod.name": "web",
      "io.kubernetes.pod.namespace": "default",
      "io.kubernetes.pod.uid": "uid-web",
    });
    expect(config.linux?.cgroupParent).toBe("/berth/pods/burstable/pod-uid-web");
    expect(config.linux?.sysctls).toEqual({ "net.core.somaxconn": "1024" });
    expect(config.linux?.securityContext?.namespaceOptions).toMatchObject({
      network: NamespaceMode.POD,
      pid: NamespaceMode.CONTAINER,
      ipc: NamespaceMode.POD,
    });
    expect(config.linux?.securityContext?.runAsUser?.value).toBe(1000n);
    expect(config.linux?.securityContext?.supplementalGroups).toEqual([2000n]);

    const [createReq] = fake.callsOf("createContainer") as CreateContainerRequest[];
    const c = createReq!.config!;
    expect(c.metadata).toEqual({ name: "app", attempt: 0 });
    expect(c.logPath).toBe("app/0.log");
    expect(c.args).toEqual(["--name=x-y"]);
    expect(c.envs).toEqual([
      { key: "A", value: "x" },
      { key: "B", value: "x-y" },
      { key: "IP", value: "10.1.0.7" },
      { key: "NODE", value: "node-1" },
    ]);
    expect(c.labels["io.kubernetes.container.name"]).toBe("app");
    expect(c.annotations["io.kubernetes.container.hash"]).toMatch(/^[0-9a-f]{16}$/);
    expect(c.annotations["io.kubernetes.container.restartCount"]).toBe("0");
    expect(c.annotations["io.kubernetes.container.terminationMessagePath"]).toBe("/dev/termination-log");
    expect(
      c.mounts.map((m) => [m.containerPath, m.hostPath.startsWith(join(dir, "state", "pods", "uid-web"))]),
    ).toEqual([
      ["/cache", true],
      ["/dev/termination-log", true],
    ]);
    expect(c.linux?.resources).toMatchObject({
      cpuShares: 256n,
      cpuQuota: 50_000n,
      cpuPeriod: 100_000n,
      memoryLimitInBytes: 128n * 1024n * 1024n,
    });
    expect(c.linux?.securityContext).toMatchObject({
      noNewPrivs: true,
      readonlyRootfs: true,
      runAsUser: { value: 1000n },
    });

    const pod = manager.get("default", "web")!;
    expect(pod.status.phase).toBe("Running");
    expect(pod.status.podIP).toBe("10.1.0.7");
    expect(pod.status.hostIP).toBe("192.0.2.10");
    expect(pod.status.qosClass).toBe("Burstable");
    expect(app(pod)?.ready).toBe(true);
    expect(pod.status.conditions.map((x) => [x.type, x.status])).toEqual([
      ["PodReadyToStartContainers", "True"],
      ["Initialized", "True"],
      ["Ready", "True"],
      ["ContainersReady", "True"],
      ["PodScheduled", "True"],
    ]);
  });

  it("restarts an exited container with CrashLoopBackOff between attempts", async () => {
    const manager = await startManager();
    await manager.apply(podSpec("crash"), { kind: "api" });
    await settle();
    // First failure: restarted at once (the backoff starts counting from this restart).
    fake.exit(fake.running("app")[0]!.id, 1);
    await cycle(manager);
    expect(app(manager.get("default", "crash"))?.restartCount).toBe(1);
    // The first attempt's log, with the generations rotation left beside it.
    const logDir = join(dir, "logs", "default_crash_uid-crash", "app");
    await mkdir(logDir, { recursive: true });
    for (const name of ["0.log", "0.log.20260301-120000.gz", "0.log.20260301-120010", "1.log"])
      await writeFile(join(logDir, name), "x");
    // Second failure within the 10 s backoff: the container waits.
    fake.exit(fake.running("app")[0]!.id, 2);
    await cycle(manager);
    const waiting = manager.get("default", "crash")!;
    expect(app(waiting)?.state).toEqual({
      waiting: {
        reason: "CrashLoopBackOff",
        message: "back-off 10s restarting failed container=app pod=crash_default(uid-crash)",
      },
    });
    expect(app(waiting)?.lastState).toMatchObject({ terminated: { exitCode: 2, reason: "Error" } });
    expect(app(waiting)?.restartCount).toBe(1);
    expect(waiting.status.phase).toBe("Running");
    expect(fake.running("app")).toHaveLength(0);
    // The backoff ends: the worker's own timer restarts it.
    await time.advance(10_000);
    await settle();
    const restarted = manager.get("default", "crash")!;
    expect(app(restarted)?.restartCount).toBe(2);
    expect("running" in app(restarted)!.state).toBe(true);
    // The next wait is twice as long.
    fake.exit(fake.running("app")[0]!.id, 1);
    await cycle(manager);
    expect(app(manager.get("default", "crash"))?.state).toMatchObject({
      waiting: { message: expect.stringMatching(/^back-off 20s /) },
    });
    // Only the most recent exited instance is kept beside the running one.
    await time.advance(20_000);
    await settle();
    const instances = [...fake.containers.values()];
    expect(instances.filter((c) => c.state === ContainerState.CONTAINER_RUNNING)).toHaveLength(1);
    expect(instances.filter((c) => c.state === ContainerState.CONTAINER_EXITED)).toHaveLength(1);
    // A removed instance's log goes with every rotated generation of it.
    expect(await readdir(logDir)).toEqual([]);
  });

  it("follows restartPolicy OnFailure: a success finishes the pod, a failure restarts", async () => {
    const manager = await startManager();
    await manager.apply(
      podSpec("job", { restartPolicy: "OnFailure", containers: [container("a"), container("b")] }),
      { kind: "api" },
    );
    await settle();
    fake.exit(fake.running("a")[0]!.id, 0);
    fake.exit(fake.running("b")[0]!.id, 3);
    await cycle(manager);
    let pod = manager.get("default", "job")!;
    expect(app(pod, 0)?.state).toMatchObject({ terminated: { exitCode: 0, reason: "Completed" } });
    expect(app(pod, 1)?.restartCount).toBe(1);
    expect(pod.status.phase).toBe("Running");
    fake.exit(fake.running("b")[0]!.id, 0);
    await cycle(manager);
    pod = manager.get("default", "job")!;
    expect(pod.status.phase).toBe("Succeeded");
    // The finished pod's sandbox is stopped, and stays so.
    expect([...fake.sandboxes.values()].every((s) => !s.ready)).toBe(true);
    await cycle(manager);
    expect(fake.callsOf("runPodSandbox")).toHaveLength(1);
  });

  it("fails a restartPolicy Never pod whose init container fails, without running the app", async () => {
    const manager = await startManager();
    await manager.apply(
      podSpec("initfail", { restartPolicy: "Never", initContainers: [container("setup")] }),
      { kind: "api" },
    );
    await settle();
    expect(manager.get("default", "initfail")?.status.containerStatuses[0]?.state).toEqual({
      waiting: { reason: "PodInitializing" },
    });
    fake.exit(fake.running("setup")[0]!.id, 1);
    await cycle(manager);
    const pod = manager.get("default", "initfail")!;
    expect(pod.status.phase).toBe("Failed");
    expect(fake.running("app")).toHaveLength(0);
    expect(
      (fake.callsOf("createContainer") as CreateContainerRequest[]).map((r) => r.config?.metadata?.name),
    ).toEqual(["setup"]);
  });

  it("replaces only the container whose definition changed", async () => {
    const manager = await startManager();
    const spec = podSpec("two", { containers: [container("a"), container("b")] });
    await manager.apply(spec, { kind: "api" });
    await settle();
    const aId = fake.running("a")[0]!.id;
    const bId = fake.running("b")[0]!.id;
    const changed = podSpec("two", { containers: [container("a"), container("b", { args: ["new"] })] });
    const changes: PodChange[] = [];
    manager.watch((c) => changes.push(c));
    await manager.apply(changed, { kind: "api" });
    await settle();
    expect(fake.running("a")[0]?.id).toBe(aId);
    expect(fake.running("b")[0]?.id).not.toBe(bId);
    expect(fake.running("b")[0]?.config.metadata?.attempt).toBe(1);
    const stops = fake.callsOf("stopContainer") as StopContainerRequest[];
    expect(stops.map((s) => s.containerId)).toEqual([bId]);
    expect(stops[0]?.timeout).toBe(30n);
    const killing = manager.events({ name: "two" }).filter((e) => e.reason === "Killing");
    expect(killing.map((e) => e.message)).toEqual(["Container b definition changed, will be restarted"]);
    expect(changes.some((c) => c.type === "MODIFIED" && c.pod.spec === changed)).toBe(true);
  });

  it("re-creates a dead sandbox with the next attempt and restarts the containers in it", async () => {
    const manager = await startManager();
    await manager.apply(podSpec("phoenix"), { kind: "api" });
    await settle();
    const [first] = [...fake.sandboxes.values()];
    fake.killSandbox(first!.id);
    await cycle(manager);
    const attempts = (fake.callsOf("runPodSandbox") as RunPodSandboxRequest[]).map(
      (r) => r.config?.metadata?.attempt,
    );
    expect(attempts).toEqual([0, 1]);
    expect(manager.events({ name: "phoenix" }).some((e) => e.reason === "SandboxChanged")).toBe(true);
    const pod = manager.get("default", "phoenix")!;
    expect(app(pod)?.restartCount).toBe(1);
    expect(pod.status.phase).toBe("Running");
  });

  it("reports image failures with the kubelet's reasons", async () => {
    const manager = await startManager();
    await manager.apply(
      podSpec("never", { containers: [container("app", { image: "absent:1", imagePullPolicy: "Never" })] }),
      { kind: "api" },
    );
    fake.failPull = "connection refused";
    await manager.apply(podSpec("pull", { containers: [container("app", { image: "absent:2" })] }), {
      kind: "api",
    });
    await settle();
    expect(app(manager.get("default", "never"))?.state).toEqual({
      waiting: {
        reason: "ErrImageNeverPull",
        message: 'Container image "absent:1" is not present with pull policy of Never',
      },
    });
    expect(app(manager.get("default", "pull"))?.state).toEqual({
      waiting: { reason: "ErrImagePull", message: "connection refused" },
    });
    await cycle(manager);
    expect(app(manager.get("default", "pull"))?.state).toMatchObject({
      waiting: { reason: "ImagePullBackOff" },
    });
    expect(fake.callsOf("pullImage")).toHaveLength(1);
    fake.failPull = undefined;
    await time.advance(10_000);
    await settle();
    expect("running" in app(manager.get("default", "pull"))!.state).toBe(true);
    expect(manager.events({ name: "pull" }).map((e) => e.reason)).toEqual(
      expect.arrayContaining(["Pulling", "Failed", "BackOff", "Pulled", "Started"]),
    );
  });

  it("reports a CreateContainer failure as CreateContainerError and retries", async () => {
    const manager = await startManager();
    fake.failCreate = "no such device";
    await manager.apply(podSpec("broken"), { kind: "api" });
    await settle();
    expect(app(manager.get("default", "broken"))?.state).toEqual({
      waiting: { reason: "CreateContainerError", message: "no such device" },
    });
    expect(manager.events({ name: "broken" }).find((e) => e.reason === "Failed")?.message).toBe(
      "Error: no such device",
    );
    fake.failCreate = undefined;
    await time.advance(5_000);
    await settle();
    expect(app(manager.get("default", "broken"))?.ready).toBe(true);
  });

  it("deletes gracefully: preStop, then StopContainer with what is left of the grace period", async () => {
    const manager = await startManager();
    const changes: PodChange[] = [];
    manager.watch((c) => changes.push(c));
    await manager.apply(
      podSpec("bye", {
        terminationGracePeriodSeconds: 20,
        containers: [container("app", { lifecycle: { preStop: { exec: { command: ["drain"] } } } })],
      }),
      { kind: "api" },
    );
    await settle();
    expect(await readdir(join(dir, "state", "pod-specs"))).toEqual(["uid-bye.json"]);
    await manager.delete("default", "bye");
    const execs = fake.callsOf("execSync") as { cmd: string[]; timeout: bigint }[];
    expect(execs.map((e) => [e.cmd, e.timeout])).toEqual([[["drain"], 20n]]);
    const order = fake.calls
      .map((c) => c.method)
      .filter((m) => ["execSync", "stopContainer", "removePodSandbox"].includes(m));
    expect(order).toEqual(["execSync", "stopContainer", "removePodSandbox"]);
    expect((fake.callsOf("stopContainer")[0] as StopContainerRequest).timeout).toBe(20n);
    expect(fake.sandboxes.size).toBe(0);
    expect(fake.containers.size).toBe(0);
    expect(manager.get("default", "bye")).toBeUndefined();
    expect(changes.map((c) => c.type)).toContain("DELETED");
    expect(await readdir(join(dir, "state", "pod-specs"))).toEqual([]);
    await expect(manager.delete("default", "bye")).rejects.toThrow(/not found/);
  });

  it("a delete's grace period overrides the pod's; 0 kills at once", async () => {
    const manager = await startManager();
    await manager.apply(podSpec("fast", { terminationGracePeriodSeconds: 60 }), { kind: "api" });
    await settle();
    await manager.delete("default", "fast", 0);
    expect((fake.callsOf("stopContainer")[0] as StopContainerRequest).timeout).toBe(0n);
  });

  it("restores API pods after a restart and adopts their running containers", async () => {
    const first = await startManager();
    await first.apply(podSpec("kept"), { kind: "api" });
    await first.apply(podSpec("static"), { kind: "file", path: "/etc/berth/manifests/static.yaml" });
    await settle();
    await first.stop();
    const created = fake.callsOf("createContainer").length;

    // Left by an agent that died in the middle of a deletion.
    await mkdir(join(dir, "state", "pods", "uid-gone", "volumes"), { recursive: true });
    const second = await startManager();
    await settle();
    expect(second.get("default", "kept")?.status.phase).toBe("Running");
    expect(fake.callsOf("createContainer")).toHaveLength(created);
    // The static pod was not applied again: it is an orphan, and goes.
    expect(second.get("default", "static")).toBeUndefined();
    await second.relistNow();
    await settle();
    const left = [...fake.sandboxes.values()].map((s) => s.config.metadata?.name);
    expect(left).toEqual(["kept"]);
    await settle();
    expect((await readdir(join(dir, "state", "pods"))).sort()).toEqual(["uid-kept"]);
  });

  it("drives readiness from a probe and kills a container whose liveness probe fails", async () => {
    let healthy = true;
    fake.exec = (_id, cmd) => ({
      exitCode: cmd[0] === "live" && !healthy ? 1 : 0,
      stdout: healthy ? "" : "dead",
    });
    const manager = await startManager();
    await manager.apply(
      podSpec("probed", {
        containers: [
          container("app", {
            readinessProbe: { exec: { command: ["ready"] }, periodSeconds: 1 },
            livenessProbe: {
              exec: { command: ["live"] },
              periodSeconds: 1,
              failureThreshold: 2,
              terminationGracePeriodSeconds: 5,
            },
          }),
        ],
      }),
      { kind: "api" },
    );
    await settle();
    expect(app(manager.get("default", "probed"))?.ready).toBe(false);
    await time.advance(1_000);
    expect(app(manager.get("default", "probed"))?.ready).toBe(true);
    const firstId = fake.running("app")[0]!.id;
    healthy = false;
    await time.advance(2_000);
    await settle();
    const stop = fake.callsOf("stopContainer") as StopContainerRequest[];
    expect(stop.map((s) => [s.containerId, s.timeout])).toEqual([[firstId, 5n]]);
    const events = manager.events({ name: "probed" });
    const unhealthy = events.find((e) => e.reason === "Unhealthy");
    expect(unhealthy?.message).toBe("Liveness probe failed: dead");
    // Two failures in a row killed the first instance (the new one may have failed once since).
    expect(unhealthy?.count).toBeGreaterThanOrEqual(2);
    expect(events.find((e) => e.reason === "Killing")?.message).toBe(
      "Container app failed liveness probe, will be restarted",
    );
    expect(app(manager.get("default", "probed"))?.restartCount).toBe(1);
    const failed = manager.probeCounts().find((c) => c.probe_type === "Liveness" && c.result === "failed");
    expect(failed).toMatchObject({ pod: "probed", namespace: "default", container: "app" });
    expect(failed?.count).toBe(unhealthy?.count);
  });

  it("kills a container whose postStart hook fails, and restarts it by policy", async () => {
    fake.exec = (_id, cmd) => ({ exitCode: cmd[0] === "setup" ? 2 : 0, stdout: "no config" });
    const manager = await startManager();
    await manager.apply(
      podSpec("hooked", {
        containers: [container("app", { lifecycle: { postStart: { exec: { command: ["setup"] } } } })],
      }),
      { kind: "api" },
    );
    await settle();
    const event = manager.events({ name: "hooked" }).find((e) => e.reason === "FailedPostStartHook");
    expect(event?.type).toBe("Warning");
    expect(event?.message).toMatch(
      /^Exec lifecycle hook \(\["setup"\]\) for Container "app" in Pod "hooked_default\(uid-hooked\)" failed - error: command 'setup' exited with 2: no config/,
    );
    expect(fake.callsOf("stopContainer")).toHaveLength(1);
    expect(app(manager.get("default", "hooked"))?.state).toMatchObject({
      waiting: { reason: "PostStartHookError" },
    });
    fake.exec = () => ({ exitCode: 0 });
    await cycle(manager);
    const pod = manager.get("default", "hooked")!;
    expect(app(pod)?.restartCount).toBe(1);
    expect("running" in app(pod)!.state).toBe(true);
  });

  it("fails a pod that outlives its activeDeadlineSeconds", async () => {
    const manager = await startManager();
    await manager.apply(podSpec("deadline", { activeDeadlineSeconds: 30 }), { kind: "api" });
    await settle();
    expect(manager.get("default", "deadline")?.status.phase).toBe("Running");
    await time.advance(30_000);
    await settle();
    const pod = manager.get("default", "deadline")!;
    expect(pod.status).toMatchObject({
      phase: "Failed",
      reason: "DeadlineExceeded",
      message: "Pod was active on the node longer than the specified deadline",
    });
    expect(fake.running("app")).toHaveLength(0);
    expect([...fake.sandboxes.values()].every((s) => !s.ready)).toBe(true);
    await cycle(manager);
    expect(fake.callsOf("createContainer")).toHaveLength(1);
  });

  it("evicts a pod: Failed with reason Evicted, an Evicted event, containers stopped and not restarted", async () => {
    const manager = await startManager();
    await manager.apply(podSpec("hog"), { kind: "api" });
    await settle();
    const message = "The node was low on resource: memory. Threshold quantity: 100Mi, available: 80Mi.";
    await manager.evict(manager.get("default", "hog")!, message, "memory.available", 0);
    await settle();
    expect(manager.get("default", "hog")?.status).toMatchObject({
      phase: "Failed",
      reason: "Evicted",
      message,
    });
    expect(manager.events({ name: "hog" }).some((e) => e.reason === "Evicted" && e.type === "Warning")).toBe(
      true,
    );
    expect(fake.running("app")).toHaveLength(0);
    await cycle(manager);
    expect(fake.callsOf("createContainer")).toHaveLength(1);
  });

  it("records the runtime's OOM and throttling events on the container's pod", async () => {
    const manager = await startManager();
    await manager.apply(podSpec("oomy"), { kind: "api" });
    await settle();
    const id = fake.running("app")[0]!.id;
    manager.containerEvent(id, "Warning", "OOMKilling", "a process in container app was OOM-killed");
    const event = manager.events({ name: "oomy" }).find((e) => e.reason === "OOMKilling");
    expect(event).toMatchObject({ type: "Warning", fieldPath: "spec.containers{app}" });
  });

  it("refuses to apply over a pod that is being deleted, and replaces a pod whose uid changed", async () => {
    const manager = await startManager();
    await manager.apply(podSpec("same"), { kind: "api" });
    await settle();
    await manager.apply(podSpec("same", {}, { uid: "uid-other" }), { kind: "api" });
    await settle();
    expect(manager.get("default", "same")?.metadata.uid).toBe("uid-other");
    const uids = [...fake.sandboxes.values()].map((s) => s.config.metadata?.uid);
    expect(uids).toEqual(["uid-other"]);
  });
});
