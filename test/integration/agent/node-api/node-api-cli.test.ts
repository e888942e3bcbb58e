// The Node API end to end: the real agent process (its PodManager on runc and conmon), the
// real `berth` binary for apply/pods/describe/events/delete, and the static manifests folder.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNode, type NodeApi } from "../../../../agent/node-api/node-client.js";
import type { PodJson } from "../../../../agent/node-api/pod-json.js";
import {
  BERTH_BIN,
  startAgentProcess,
  type AgentDirs,
  type AgentProcess,
} from "../../../../harness/agent-process.js";
import { forceCleanup } from "../../../../harness/force-cleanup.js";
import { buildBusyboxImage } from "../../../../harness/oci-image.js";

const IMAGE = "berth.test/node-api:1";

const podManifest = (name: string, extra = "") => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: { app: ${name} }
spec:
  terminationGracePeriodSeconds: 1
  containers:
    - name: app
      image: ${IMAGE}
      imagePullPolicy: Never
      command: ["sleep", "3600"]
      readinessProbe:
        exec: { command: ["true"] }
        periodSeconds: 1
${extra}`;

describe("berth.v1 Node API and the pod CLI", () => {
  let root: string;
  let dirs: AgentDirs;
  let manifests: string;
  let agent: AgentProcess;
  let api: NodeApi;
  const berth = (...args: string[]) =>
    execa(process.execPath, [BERTH_BIN, "--endpoint", dirs.socket, ...args], { reject: false });

  async function podsJson(...args: string[]): Promise<PodJson[]> {
    const out = await berth("pods", "-o", "json", ...args);
    expect(out.exitCode, out.stderr).toBe(0);
    return JSON.parse(out.stdout) as PodJson[];
  }

  async function waitFor<T>(
    what: string,
    probe: () => Promise<T | undefined>,
    timeoutMs = 60_000,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}\n${agent.output().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  const runningPod = (name: string) =>
    waitFor(`${name} to be Running and Ready`, async () => {
      const pod = (await podsJson()).find((p) => p.metadata.name === name);
      const ready = pod?.status.conditions.some((c) => c.type === "Ready" && c.status === "True");
      return pod?.status.phase === "Running" && ready ? pod : undefined;
    });

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "bnode-"));
    manifests = join(root, "manifests");
    await mkdir(manifests);
    dirs = {
      socket: join(root, "berth.sock"),
      stateDir: join(root, "state"),
      runDir: join(root, "run"),
      cgroupRoot: `berth-it-${randomBytes(4).toString("hex")}`,
    };
    const config = join(root, "config.yaml");
    await writeFile(config, `manifestsDir: ${manifests}\nhttp:\n  enabled: false\n`);
    agent = await startAgentProcess(dirs, ["--no-cni", "--config", config]);
    api = connectNode(dirs.socket, 30_000);
    await buildBusyboxImage(join(root, "layout"), { name: IMAGE });
    const imported = await berth("image", "import", join(root, "layout"));
    expect(imported.exitCode, imported.stderr).toBe(0);
  });

  afterAll(async () => {
    api?.close();
    await agent?.stop().catch(() => undefined);
    if (dirs) await forceCleanup(root, join(dirs.runDir, "runc"), dirs.cgroupRoot);
  });

  it("applies a manifest, lists the pod as kubectl does and describes it", async () => {
    await writeFile(join(root, "web.yaml"), podManifest("web"));
    const applied = await berth("apply", "-f", join(root, "web.yaml"));
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toBe("pod/web created");

    const pod = await runningPod("web");
    expect(pod.source).toEqual({ kind: "api" });
    expect(pod.status.containerStatuses[0]).toMatchObject({ name: "app", ready: true, restartCount: 0 });

    const again = await berth("apply", "-f", join(root, "web.yaml"));
    expect(again.stdout).toBe("pod/web unchanged");

    const table = await berth("pods");
    expect(table.exitCode).toBe(0);
    expect(table.stdout.split("\n")[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    expect(table.stdout).toMatch(/\nweb\s+1\/1\s+Running\s+0\s+\d+s$/m);
    const wide = await berth("pods", "-o", "wide");
    expect(wide.stdout.split("\n")[0]).toMatch(/AGE\s+IP\s+NODE$/);
    expect((await berth("pods", "-n", "elsewhere")).stderr).toContain(
      "No resources found in elsewhere namespace.",
    );

    const described = await berth("describe", "web");
    expect(described.exitCode, described.stderr).toBe(0);
    expect(described.stdout).toMatch(/^Name:\s+web\nNamespace:\s+default\n/);
    expect(described.stdout).toMatch(/\n {4}State:\s+Running\n {6}Started:\s+\w{3}, \d{2} \w{3} \d{4}/);
    expect(described.stdout).toMatch(
      /\n {4}Readiness:\s+exec \[true\] delay=0s timeout=1s period=1s #success=1 #failure=3\n/,
    );
    expect(described.stdout).toMatch(/\nConditions:\n {2}Type\s+Status\n/);
    expect(described.stdout).toMatch(/\nQoS Class:\s+BestEffort\n/);
    expect(described.stdout).toMatch(/\nEvents:\n {2}Type\s+Reason\s+Age\s+From\s+Message\n/);
    expect(described.stdout).toMatch(/\n {2}Normal\s+Started\s+/);

    const events = await berth("events", "--for", "web");
    expect(events.exitCode).toBe(0);
    expect(events.stdout).toMatch(/^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n/);
    expect(events.stdout).toMatch(/Normal\s+Started\s+pod\/web/);
  });

  it("reports the node", async () => {
    const node = await api.getNode();
    expect(node.podCount).toBeGreaterThanOrEqual(1);
    expect(node.conditions.find((c) => c.type === "RuntimeReady")?.status).toBe("True");
    expect(node.capacity.memory).toMatch(/^\d+Ki$/);
  });

  it("streams pod changes and events to a watcher", async () => {
    const abort = new AbortController();
    const seen: string[] = [];
    const watching = (async () => {
      for await (const change of api.watchPods(
        { namespace: "default", includeEvents: true, replayEvents: false },
        abort.signal,
      )) {
        seen.push(
          change.type === "EVENT"
            ? `EVENT ${change.event?.reason}`
            : `${change.type} ${change.pod?.metadata?.name}`,
        );
        if (seen.includes("DELETED watched")) abort.abort();
      }
    })();
    await writeFile(join(root, "watched.yaml"), podManifest("watched"));
    expect((await berth("apply", "-f", join(root, "watched.yaml"))).exitCode).toBe(0);
    await runningPod("watched");
    const deleted = await berth("delete", "watched", "--grace-period", "0");
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    await watching;
    expect(seen[0]).toBe("ADDED web");
    expect(seen).toContain("ADDED watched");
    expect(seen).toContain("EVENT Started");
    expect(seen.indexOf("ADDED watched")).toBeLessThan(seen.indexOf("DELETED watched"));
  });

  it("runs static pods from the manifests folder and refuses to change them through the API", async () => {
    await writeFile(join(manifests, "static-web.yaml"), podManifest("static-web"));
    const pod = await runningPod("static-web");
    expect(pod.source).toEqual({ kind: "file", path: join(manifests, "static-web.yaml") });

    await writeFile(join(root, "static-web.yaml"), podManifest("static-web"));
    const refused = await berth("apply", "-f", join(root, "static-web.yaml"));
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(
      `pod default/static-web is managed by file ${join(manifests, "static-web.yaml")}; edit that file`,
    );
    expect((await berth("delete", "static-web")).exitCode).toBe(1);

    await rm(join(manifests, "static-web.yaml"));
    await waitFor("the static pod to go with its file", async () =>
      (await podsJson()).some((p) => p.metadata.name === "static-web") ? undefined : true,
    );
  });

  it("deletes a pod", async () => {
    const deleted = await berth("delete", "pod/web");
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    expect(deleted.stdout).toBe('pod "web" deleted');
    expect((await podsJson("-A")).map((p) => p.metadata.name)).not.toContain("web");
    const again = await berth("delete", "web");
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('pod "default/web" not found');
  });

  it("exits 1 naming the field for a bad manifest, and 2 when the agent is unreachable", async () => {
    await writeFile(join(root, "bad.yaml"), podManifest("bad").replace(`image: ${IMAGE}`, "image: ''"));
    const bad = await berth("apply", "-f", join(root, "bad.yaml"));
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("spec.containers[0].image: Required value");
    expect(bad.stderr).toContain(join(root, "bad.yaml"));
    expect((await podsJson("-A")).map((p) => p.metadata.name)).not.toContain("bad");

    for (const args of [["pods"], ["apply", "-f", join(root, "web.yaml")], ["describe", "web"], ["events"]]) {
      const out = await execa(
        process.execPath,
        [BERTH_BIN, "--endpoint", join(root, "nothing.sock"), ...args],
        {
          reject: false,
        },
      );
      expect(out.exitCode, `${args.join(" ")}: ${out.stderr}`).toBe(2);
      expect(out.stderr).toContain("cannot reach the berth agent");
    }
  });

  it("has --help on the pod commands", async () => {
    for (const [command, text] of [
      ["apply", "Exit status: 0 applied"],
      ["delete", "--grace-period <seconds>"],
      ["pods", "Init:0/2, CrashLoopBackOff"],
      ["describe", "berth describe pod/web"],
      ["events", "--watch"],
    ] as const) {
      const help = await berth(command, "--help");
      expect(help.exitCode).toBe(0);
      expect(help.stdout).toContain(text);
    }
  });
});
