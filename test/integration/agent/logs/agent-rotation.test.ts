// The agent rotates its pods' container logs by itself, with the config's size, file count and
// interval: the real agent process runs a pod whose container writes as fast as it can, and
// within a few checks its log folder holds at most containerLogMaxFiles files, the older
// rotated ones gzipped; the agent logs each rotation with the container's id, and `berth logs`
// reads across the files.
import { readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNode, type NodeApi } from "../../../../agent/node-api/node-client.js";
import { podFromJson } from "../../../../agent/node-api/pod-json.js";
import {
  agentTestDirs,
  BERTH_BIN,
  startAgentProcess,
  type AgentDirs,
  type AgentProcess,
} from "../../../../harness/agent-process.js";
import { waitFor } from "../../../../harness/cri-fixtures.js";
import { forceCleanup } from "../../../../harness/force-cleanup.js";
import { buildBusyboxImage } from "../../../../harness/oci-image.js";

const IMAGE = "berth.test/log-rotation:1";
const POD_LOGS = "/var/log/pods";

const MANIFEST = `apiVersion: v1
kind: Pod
metadata:
  name: chatty
spec:
  terminationGracePeriodSeconds: 0
  containers:
    - name: writer
      image: ${IMAGE}
      imagePullPolicy: Never
      command: ["sh", "-c", "i=0; while :; do echo \\"line $i ${"x".repeat(60)}\\"; i=$((i+1)); done"]
`;

describe("the agent's container log rotation", () => {
  let root: string;
  let dirs: AgentDirs;
  let agent: AgentProcess;
  let api: NodeApi;
  let uid = "";
  const berth = (...args: string[]) =>
    execa(process.execPath, [BERTH_BIN, "--endpoint", dirs.socket, ...args], { reject: false });

  beforeAll(async () => {
    ({ root, dirs } = await agentTestDirs("blogrotate-"));
    const config = join(root, "config.yaml");
    await writeFile(
      config,
      [
        `manifestsDir: ${join(root, "manifests")}`,
        "http:",
        "  enabled: false",
        "containerLogMaxSize: 64Ki",
        "containerLogMaxFiles: 3",
        "containerLogMonitorInterval: 3s",
        "",
      ].join("\n"),
    );
    agent = await startAgentProcess(dirs, ["--no-cni", "--config", config]);
    api = connectNode(dirs.socket, 30_000);
    await buildBusyboxImage(join(root, "layout"), { name: IMAGE });
    const imported = await berth("image", "import", join(root, "layout"));
    expect(imported.exitCode, imported.stderr).toBe(0);
    await writeFile(join(root, "chatty.yaml"), MANIFEST);
    const applied = await berth("apply", "-f", join(root, "chatty.yaml"));
    expect(applied.exitCode, applied.stderr).toBe(0);
  }, 60_000);

  afterAll(async () => {
    const failures: string[] = [];
    await api
      ?.deletePod({ namespace: "default", name: "chatty", gracePeriodSeconds: 0n }, 30_000)
      .catch((err: unknown) => failures.push(String(err)));
    api?.close();
    await agent?.stop().catch(() => undefined);
    if (dirs) await forceCleanup(root, join(dirs.runDir, "runc"), dirs.cgroupRoot);
    if (uid) await rm(join(POD_LOGS, `default_chatty_${uid}`), { recursive: true, force: true });
    expect(failures).toEqual([]);
  }, 60_000);

  it("rotates a fast writer's log on its own, keeping 3 files with the older ones gzipped", async () => {
    uid = podFromJson((await api.getPod({ namespace: "default", name: "chatty" })).podJson).metadata.uid;
    const logDir = join(POD_LOGS, `default_chatty_${uid}`, "writer");
    const files = () => readdir(logDir).catch(() => [] as string[]);
    // Three checks at 3s fill the 3 places: the current file, one plain, one gzipped.
    // A listing taken mid-rotation (between the rename and the reopen) has no current file yet.
    let names: string[] = [];
    await waitFor(
      async () => {
        names = (await files()).sort();
        return names.some((f) => f.endsWith(".gz")) && names.includes("0.log");
      },
      30_000,
      "a gzipped rotation with the current file reopened",
    );
    expect(names.length, names.join(" ")).toBeLessThanOrEqual(3);
    expect(names[0]).toBe("0.log");
    for (const name of names.slice(1)) expect(name).toMatch(/^0\.log\.\d{8}-\d{6}(\.gz)?$/);
    // Only the most recent rotated file is plain.
    const rotated = names.slice(1);
    expect(rotated.filter((n) => !n.endsWith(".gz")).length).toBeLessThanOrEqual(1);
    if (rotated.length === 2) expect(rotated[0]!.endsWith(".gz") && !rotated[1]!.endsWith(".gz")).toBe(true);

    const pod = podFromJson((await api.getPod({ namespace: "default", name: "chatty" })).podJson);
    const containerId = (pod.status.containerStatuses[0]?.containerID ?? "").replace(/^berth:\/\//, "");
    expect(agent.output()).toMatch(
      new RegExp(`"container":"${containerId}"[^\\n]*"msg":"rotated container log"`),
    );

    const logs = await berth("logs", "--tail", "3", "writer");
    expect(logs.exitCode, logs.stderr).toBe(0);
    // The last 3 lines, then whatever the writer added while they were read: one run, no gap.
    const numbers = logs.stdout.split("\n").map((l) => Number(/^line (\d+) x+$/.exec(l)?.[1]));
    expect(numbers.length).toBeGreaterThanOrEqual(3);
    expect(numbers.findIndex((n, i) => n !== numbers[0]! + i)).toBe(-1);
  }, 60_000);
});
