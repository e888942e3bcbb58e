// `berth explain` end to end: the real agent process runs a pod whose liveness probe always
// fails, one whose container exits 1 again and again, and a healthy one; the real `berth`
// binary must name the liveness failure and the crash loop (with its exit code and last log
// lines) and exit 3, print the crash loop's timeline, and exit 0 for the healthy pod.
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Explanation } from "../../../agent/cli/explain/types.js";
import { connectNode, type NodeApi } from "../../../agent/node-api/node-client.js";
import { podFromJson, type PodJson } from "../../../agent/node-api/pod-json.js";
import {
  agentTestDirs,
  BERTH_BIN,
  startAgentProcess,
  type AgentDirs,
  type AgentProcess,
} from "../../../harness/agent-process.js";
import { forceCleanup } from "../../../harness/force-cleanup.js";
import { buildBusyboxImage } from "../../../harness/oci-image.js";

const IMAGE = "berth.test/explain:1";
const POD_LOGS = "/var/log/pods";

const manifest = (name: string, container: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  terminationGracePeriodSeconds: 1
  containers:
${container}`;

const LIVENESS = manifest(
  "liveness",
  `    - name: web
      image: ${IMAGE}
      imagePullPolicy: Never
      command: ["sleep", "3600"]
      livenessProbe:
        exec: { command: ["false"] }
        periodSeconds: 1
        failureThreshold: 1
`,
);

const CRASHER = manifest(
  "crasher",
  `    - name: app
      image: ${IMAGE}
      imagePullPolicy: Never
      command: ["sh", "-c", "echo starting up; echo missing config file >&2; exit 1"]
`,
);

const CALM = manifest(
  "calm",
  `    - name: app
      image: ${IMAGE}
      imagePullPolicy: Never
      command: ["sleep", "3600"]
      readinessProbe:
        exec: { command: ["true"] }
        periodSeconds: 1
`,
);

describe("berth explain", () => {
  let root: string;
  let dirs: AgentDirs;
  let agent: AgentProcess;
  let api: NodeApi;
  const uids = new Map<string, string>();
  const berth = (...args: string[]) =>
    execa(process.execPath, [BERTH_BIN, "--endpoint", dirs.socket, ...args], { reject: false });

  async function waitForPod(name: string, what: string, ok: (pod: PodJson) => boolean): Promise<PodJson> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const pod = await api.getPod({ namespace: "default", name }).then(
        (p) => podFromJson(p.podJson),
        () => undefined,
      );
      if (pod !== undefined) uids.set(name, pod.metadata.uid);
      if (pod !== undefined && ok(pod)) return pod;
      if (Date.now() > deadline)
        throw new Error(
          `timed out waiting for ${name}: ${what}\n${JSON.stringify(pod?.status)}\n${agent.output().slice(-3000)}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  beforeAll(async () => {
    ({ root, dirs } = await agentTestDirs("bexplain-"));
    const config = join(root, "config.yaml");
    await writeFile(config, `manifestsDir: ${join(root, "manifests")}\nhttp:\n  enabled: false\n`);
    agent = await startAgentProcess(dirs, ["--no-cni", "--config", config]);
    api = connectNode(dirs.socket, 30_000);
    await buildBusyboxImage(join(root, "layout"), { name: IMAGE });
    const imported = await berth("image", "import", join(root, "layout"));
    expect(imported.exitCode, imported.stderr).toBe(0);
    for (const [name, text] of [
      ["liveness", LIVENESS],
      ["crasher", CRASHER],
      ["calm", CALM],
    ] as const) {
      await writeFile(join(root, `${name}.yaml`), text);
      const applied = await berth("apply", "-f", join(root, `${name}.yaml`));
      expect(applied.exitCode, applied.stderr).toBe(0);
    }
  }, 60_000);

  afterAll(async () => {
    const failures: string[] = [];
    for (const name of ["liveness", "crasher", "calm"]) {
      await api
        ?.deletePod({ namespace: "default", name, gracePeriodSeconds: 0n }, 30_000)
        .catch((err: unknown) => failures.push(`${name}: ${String(err)}`));
    }
    api?.close();
    await agent?.stop().catch(() => undefined);
    if (dirs) await forceCleanup(root, join(dirs.runDir, "runc"), dirs.cgroupRoot);
    // The agent writes container logs under /var/log/pods; a failed deletion leaves them there.
    for (const [name, uid] of uids)
      await rm(join(POD_LOGS, `default_${name}_${uid}`), { recursive: true, force: true });
    expect(failures).toEqual([]);
  }, 60_000);

  it("names the liveness probe that keeps killing a container, and exits 3", async () => {
    await waitForPod(
      "liveness",
      "a restart after a liveness kill",
      (p) => (p.status.containerStatuses[0]?.restartCount ?? 0) >= 1,
    );
    const out = await berth("explain", "liveness");
    expect(out.exitCode, out.stderr).toBe(3);
    expect(out.stdout).toMatch(/^pod default\/liveness: \d+ problems? found/);
    expect(out.stdout).toMatch(
      /\[(critical|warning)\] container web restarted \d+ times? because its liveness probe failed: exec \[false\] exited non-zero/,
    );
    // A probe kill is not told again as a crash.
    expect(out.stdout).not.toContain("CrashLoopBackOff: container web");
    expect(out.stdout).not.toContain("[\u001b"); // no colour when not on a terminal

    const json = await berth("explain", "pod/liveness", "-o", "json");
    expect(json.exitCode).toBe(3);
    const explanation = JSON.parse(json.stdout) as Explanation;
    const finding = explanation.findings.find((f) => f.kind === "liveness-failed");
    expect(finding).toMatchObject({ container: "web" });
    expect(finding?.count).toBeGreaterThanOrEqual(1);
    expect(
      finding?.evidence.some((e) => e.text.startsWith("Killing: Container web failed liveness probe")),
    ).toBe(true);
  });

  it("names the crash loop with the exit code and the last log lines, and exits 3", async () => {
    await waitForPod("crasher", "CrashLoopBackOff", (p) => {
      const s = p.status.containerStatuses[0];
      return s !== undefined && "waiting" in s.state && s.state.waiting.reason === "CrashLoopBackOff";
    });
    const out = await berth("explain", "crasher");
    expect(out.exitCode, out.stderr).toBe(3);
    expect(out.stdout).toMatch(
      /\[critical\] CrashLoopBackOff: container app exits with code 1 \(Error\) after (~\d+s|<1s); last at \d\d:\d\d:\d\d/,
    );
    expect(out.stdout).toMatch(/next restart in ~\d+s \(back-off \d+s\)|restart due now/);
    expect(out.stdout).toContain("last log lines of app, previous run");
    expect(out.stdout).toContain("| starting up\n");
    // Both streams, in the order written (execa drops the output's final newline).
    expect(out.stdout).toMatch(/\| starting up\n\s+\| missing config file$/);
  });

  it("prints the timeline of a pod that restarted, oldest first, with ages, RFC 3339 times and the evidence", async () => {
    await waitForPod(
      "crasher",
      "two restarts",
      (p) => (p.status.containerStatuses[0]?.restartCount ?? 0) >= 2,
    );
    const out = await berth("explain", "crasher", "--timeline");
    expect(out.exitCode, out.stderr).toBe(3);
    const lines = out.stdout.split("\n");
    expect(lines[0]).toBe("pod default/crasher timeline:");
    expect(lines[1]).toMatch(/^AGE\s+CONTAINER\s+WHAT\s+DETAILS$/);
    const rows = lines.slice(2).map((l) => {
      const m = /^(\S+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(l);
      if (!m) throw new Error(`not a timeline row: ${l}`);
      return { age: m[1]!, container: m[2]!, what: m[3]!, details: m[4]! };
    });
    for (const r of rows) expect(r.age).toMatch(/^\d+(s|m\d*s?)$/);
    const whats = rows.map((r) => r.what);
    // What happened, in the order it happened: the events keep only the latest of repeated
    // starts, the statuses the last runs (restarts 1 and more here) with their exits.
    const order = ["Scheduled", "Restarted", "Exited"].map((w) => whats.indexOf(w));
    expect(
      order.every((i) => i >= 0),
      whats.join(" "),
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const exits = rows.filter((r) => r.what === "Exited");
    expect(exits.length).toBeGreaterThanOrEqual(1);
    for (const e of exits) {
      expect(e.container).toBe("app");
      expect(e.details).toMatch(/^exit code 1 \(Error\)/);
    }
    expect(rows.find((r) => r.what === "Restarted")?.details).toMatch(/^restart \d+$/);
    expect(rows.some((r) => r.what === "BackOff" && r.container === "app")).toBe(true);

    const wide = await berth("explain", "crasher", "--timeline", "-o", "wide");
    expect(wide.exitCode, wide.stderr).toBe(3);
    const times = wide.stdout
      .split("\n")
      .slice(2)
      .map((l) => l.split(/\s+/)[0]!);
    for (const t of times) expect(t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    // Oldest first, to the second (status times are whole seconds, event times finer).
    const seconds = times.map((t) => Math.floor(Date.parse(t) / 1000));
    expect(
      [...seconds].sort((a, b) => a - b),
      wide.stdout,
    ).toEqual(seconds);

    const json = await berth("explain", "crasher", "--timeline", "-o", "json");
    const timeline = JSON.parse(json.stdout) as {
      pod: { name: string };
      entries: { time: string; what: string; container?: string; details: string }[];
    };
    expect(timeline.pod.name).toBe("crasher");
    expect(timeline.entries.map((e) => e.what)).toEqual(whats);
    expect(timeline.entries.find((e) => e.what === "Exited")?.time).toMatch(/Z$/);
  });

  it("finds nothing wrong with a healthy pod, and exits 0", async () => {
    await waitForPod("calm", "Ready", (p) =>
      p.status.conditions.some((c) => c.type === "Ready" && c.status === "True"),
    );
    const out = await berth("explain", "calm");
    expect(out.exitCode, out.stderr).toBe(0);
    expect(out.stdout).toBe(
      "pod default/calm: no problems found: all containers running and ready, 0 restarts",
    );
  });

  it("exits 1 for an unknown pod and documents its exit codes", async () => {
    const missing = await berth("explain", "nothing-here");
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("not found");
    const help = await berth("explain", "--help");
    expect(help.stdout).toContain("Exit status: 0 no problems found, 3 problems found");
    const unreachable = await execa(
      process.execPath,
      [BERTH_BIN, "--endpoint", join(root, "none.sock"), "explain", "x"],
      {
        reject: false,
      },
    );
    expect(unreachable.exitCode).toBe(2);
  });
});
