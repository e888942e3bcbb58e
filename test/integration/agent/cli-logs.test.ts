// `berth logs`, `inspect` and `stats` with the real binary against a running agent:
// containers write real CRI log files through conmon; the CLI reads them on this node.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { ContainerState, type PodSandboxConfig } from "../../../cri/api/generated/api.js";
import { buildBusyboxImage } from "../../../harness/oci-image.js";
import {
  agentTestDirs,
  BERTH_BIN,
  startAgentProcess,
  type AgentDirs,
  type AgentProcess,
} from "../../../harness/agent-process.js";
import { forceCleanup } from "../../../harness/force-cleanup.js";
import { sandboxConfig } from "../../../harness/runtime-harness.js";
import { containerConfig, waitFor } from "../../../harness/cri-fixtures.js";

const IMAGE = "berth.test/cli-logs:1";

describe("berth logs, inspect and stats", () => {
  let root: string;
  let dirs: AgentDirs;
  let agent: AgentProcess;
  let podSandboxId: string;
  let podConfig: PodSandboxConfig;
  const berth = (...args: string[]) =>
    execa(process.execPath, [BERTH_BIN, "--endpoint", dirs.socket, ...args], { reject: false });

  async function startContainer(name: string, script: string, attempt = 0): Promise<string> {
    const { containerId } = await agent.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig(name, IMAGE, ["sh", "-c", script], {
        metadata: { name, attempt },
        logPath: `${name}/${attempt}.log`,
      }),
      sandboxConfig: podConfig,
    });
    await agent.cri.runtime.startContainer({ containerId });
    return containerId;
  }

  async function state(containerId: string): Promise<ContainerState | undefined> {
    return (await agent.cri.runtime.containerStatus({ containerId, verbose: false })).status?.state;
  }

  async function waitExited(containerId: string): Promise<void> {
    await waitFor(async () => (await state(containerId)) === ContainerState.CONTAINER_EXITED, 20_000, "exit");
  }

  beforeAll(async () => {
    ({ root, dirs } = await agentTestDirs("bclilogs-"));
    agent = await startAgentProcess(dirs);
    await buildBusyboxImage(join(root, "layout"), { name: IMAGE });
    const imported = await berth("image", "import", join(root, "layout"));
    expect(imported.exitCode, imported.stderr).toBe(0);
    podConfig = sandboxConfig("logpod", { logDirectory: join(root, "pods", "logpod") });
    ({ podSandboxId } = await agent.cri.runtime.runPodSandbox({ config: podConfig, runtimeHandler: "" }));
  }, 120_000);

  afterAll(async () => {
    if (podSandboxId) {
      await agent.cri.runtime.stopPodSandbox({ podSandboxId }).catch(() => undefined);
      await agent.cri.runtime.removePodSandbox({ podSandboxId }).catch(() => undefined);
    }
    await agent?.stop().catch(() => undefined);
    await forceCleanup(root, join(dirs.runDir, "runc"), dirs.cgroupRoot);
  });

  it("prints stdout lines to stdout and stderr lines to stderr; --tail, --timestamps, long lines joined", async () => {
    const id = await startContainer(
      "streams",
      // The long line is longer than conmon's buffer: it is written as P fragments.
      // conmon reads stdout and stderr separately: the pauses fix the order lines are logged in.
      "echo out1; echo err1 >&2; echo out2; sleep 0.3; head -c 20000 /dev/zero | tr '\\0' x; echo; sleep 0.3; echo err2 >&2",
    );
    await waitExited(id);

    const all = await berth("logs", "streams");
    expect(all.exitCode, all.stderr).toBe(0);
    // Compared as a boolean: a failure should not print 20 kB of x.
    expect(all.stdout === `out1\nout2\n${"x".repeat(20000)}`, all.stdout.slice(0, 40)).toBe(true);
    expect(all.stderr).toBe("err1\nerr2");

    const tail = await berth("logs", "--tail", "2", id.slice(0, 8));
    expect(tail.exitCode).toBe(0);
    expect(tail.stdout === "x".repeat(20000), `${tail.stdout.length} bytes`).toBe(true);
    expect(tail.stderr).toBe("err2");

    const stamped = await berth("logs", "--timestamps", "--tail", "1", id);
    expect(stamped.stderr).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+(Z|[+-]\d{2}:\d{2}) err2$/);

    const future = await berth("logs", "--since", "2999-01-01T00:00:00Z", id);
    expect(future.exitCode).toBe(0);
    expect(future.stdout + future.stderr).toBe("");
    const recent = await berth("logs", "--since", "10m", id);
    expect(recent.stdout).toContain("out1");
  });

  it("follows new lines with -f and ends when the container exits", async () => {
    const id = await startContainer("follow", "for i in 1 2 3 4; do echo line$i; sleep 1; done");
    const follower = berth("logs", "-f", "follow");
    let seen = "";
    follower.stdout?.on("data", (d: Buffer) => (seen += d.toString()));
    // The first line arrives while the container still runs.
    await waitFor(async () => seen.includes("line1"), 10_000, "first line");
    expect(await state(id)).toBe(ContainerState.CONTAINER_RUNNING);
    const done = await follower;
    expect(done.exitCode, done.stderr).toBe(0);
    expect(done.stdout).toBe("line1\nline2\nline3\nline4");
    expect(await state(id)).toBe(ContainerState.CONTAINER_EXITED);
  });

  it("ends -f cleanly on Ctrl-C while the container keeps running, and stops quietly at a closed pipe", async () => {
    const id = await startContainer(
      "forever",
      "i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.1; done",
    );
    const follower = berth("logs", "-f", "forever");
    let seen = "";
    follower.stdout?.on("data", (d: Buffer) => (seen += d.toString()));
    await waitFor(async () => seen.includes("tick2\n"), 10_000, "ticks");
    follower.kill("SIGINT");
    const done = await follower;
    expect(done.exitCode, done.stderr).toBe(0);
    expect(done.stderr).toBe("");
    expect(await state(id)).toBe(ContainerState.CONTAINER_RUNNING);

    const piped = await execa(
      "sh",
      ["-c", `node ${BERTH_BIN} --endpoint ${dirs.socket} logs -f forever | head -n 3`],
      {
        reject: false,
        timeout: 20_000,
      },
    );
    expect(piped.exitCode).toBe(0);
    expect(piped.stdout).toBe("tick0\ntick1\ntick2");
    expect(piped.stderr).toBe("");
    await agent.cri.runtime.stopContainer({ containerId: id, timeout: 0n });
  });

  it("follows across a ReopenContainerLog rotation", async () => {
    const id = await startContainer(
      "rotate",
      "i=0; while [ $i -lt 25 ]; do echo n$i; i=$((i+1)); sleep 0.2; done",
    );
    const logPath = (await agent.cri.runtime.containerStatus({ containerId: id, verbose: false })).status!
      .logPath;
    const follower = berth("logs", "-f", id);
    let seen = "";
    follower.stdout?.on("data", (d: Buffer) => (seen += d.toString()));
    await waitFor(async () => seen.includes("n3\n"), 10_000, "lines before rotation");
    await rename(logPath, `${logPath}.1`);
    await agent.cri.runtime.reopenContainerLog({ containerId: id });
    const done = await follower;
    expect(done.exitCode, done.stderr).toBe(0);
    const expected = Array.from({ length: 25 }, (_, i) => `n${i}`).join("\n");
    expect(done.stdout).toBe(expected);
    // The rotation really happened: both files hold part of the output.
    const { stdout: before } = await execa("cat", [`${logPath}.1`]);
    const { stdout: after } = await execa("cat", [logPath]);
    expect(before).toContain(" n0");
    expect(after).toContain(" n24");
    expect(after).not.toContain(" n0\n");
  });

  it("--previous prints the previous attempt, from its container or its file", async () => {
    const first = await startContainer("prev", "echo first attempt", 0);
    await waitExited(first);
    const second = await startContainer("prev", "echo second attempt", 1);
    await waitExited(second);

    const current = await berth("logs", "prev");
    expect(current.stdout).toBe("second attempt");
    expect(current.stderr).toMatch(/2 containers are named "prev"; using the newest/);
    const previous = await berth("logs", "--previous", second);
    expect(previous.exitCode, previous.stderr).toBe(0);
    expect(previous.stdout).toBe("first attempt");

    // Once the first container is removed, its log file beside the current one remains.
    await agent.cri.runtime.removeContainer({ containerId: first });
    const fromFile = await berth("logs", "-p", "prev");
    expect(fromFile.exitCode, fromFile.stderr).toBe(0);
    expect(fromFile.stdout).toBe("first attempt");

    const none = await berth("logs", "--previous", "streams");
    expect(none.exitCode).toBe(1);
    expect(none.stderr).toMatch(/attempt 0: there is no previous attempt/);
  });

  it("exits 1 with a clear message for an unknown container, 2 when the agent is unreachable", async () => {
    const missing = await berth("logs", "no-such-container");
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/^berth: no container "no-such-container"/);
    const unreachable = await execa(
      process.execPath,
      [BERTH_BIN, "--endpoint", join(root, "nothing.sock"), "logs", "x"],
      { reject: false },
    );
    expect(unreachable.exitCode).toBe(2);
  });

  it("inspects a container, a pod sandbox and an image", async () => {
    const id = await startContainer("inspected", "sleep 60");
    const res = await berth("inspect", id.slice(0, 10));
    expect(res.exitCode, res.stderr).toBe(0);
    const c = JSON.parse(res.stdout) as {
      status: { id: string; state: string; createdAt: number | string; logPath: string };
      info: { pid: number; sandboxID: string; bundle: string };
    };
    expect(c.status.id).toBe(id);
    expect(c.status.state).toBe("CONTAINER_RUNNING");
    // Nanoseconds since the epoch exceed 2^53: printed as a decimal string.
    expect(String(c.status.createdAt)).toMatch(/^\d{19}$/);
    expect(c.status.logPath).toBe(join(root, "pods", "logpod", "inspected", "0.log"));
    expect(c.info.pid).toBeGreaterThan(0);
    expect(c.info.sandboxID).toBe(podSandboxId);

    const pod = JSON.parse((await berth("inspect", "--type", "pod", podSandboxId)).stdout) as {
      status: { id: string; state: string };
      info: { pid: number };
    };
    expect(pod.status).toMatchObject({ id: podSandboxId, state: "SANDBOX_READY" });
    expect(pod.info.pid).toBeGreaterThan(0);

    const image = await berth("inspect", "-o", "yaml", IMAGE);
    expect(image.exitCode, image.stderr).toBe(0);
    expect(image.stdout).toMatch(/^status:\n {2}id: sha256:[0-9a-f]{64}\n/);
    expect(image.stdout).toMatch(/\ninfo:\n {2}id: sha256:/);
    expect(image.stdout).toContain(`- ${IMAGE}`);

    const nothing = await berth("inspect", "zzz-nothing");
    expect(nothing.exitCode).toBe(1);
    expect(nothing.stderr).toMatch(/no container, pod sandbox, image "zzz-nothing"/);
    await agent.cri.runtime.stopContainer({ containerId: id, timeout: 0n });
  });

  it("lists a running container in berth stats", async () => {
    const id = await startContainer("busy", "sleep 60");
    const res = await berth("stats", "-o", "json");
    expect(res.exitCode, res.stderr).toBe(0);
    const stats = JSON.parse(res.stdout) as { attributes: { id: string; metadata: { name: string } } }[];
    expect(stats.map((s) => s.attributes.id)).toContain(id);

    const tableOut = await berth("stats", "busy");
    expect(tableOut.exitCode, tableOut.stderr).toBe(0);
    expect(tableOut.stdout.split("\n")[0]).toMatch(/^CONTAINER\s+NAME\s+POD\s+CPU %\s+MEM/);
    expect(tableOut.stdout).toMatch(new RegExp(`${id.slice(0, 13)}\\s+busy\\s+logpod\\s`));
    expect(tableOut.stdout.trim().split("\n")).toHaveLength(2);
    // Into a pipe, --watch (and top) print one table per refresh until interrupted.
    const watcher = berth("top", "--interval", "0.3");
    let shown = "";
    watcher.stdout?.on("data", (d: Buffer) => (shown += d.toString()));
    await waitFor(async () => shown.split("CONTAINER").length > 2, 10_000, "two refreshes");
    watcher.kill("SIGINT");
    const watched = await watcher;
    expect(watched.exitCode, watched.stderr).toBe(0);
    expect(watched.stdout).not.toContain("\x1b[2J");
    expect(watched.stdout).toMatch(new RegExp(`${id.slice(0, 13)}\\s+busy\\s+logpod`));
    await agent.cri.runtime.stopContainer({ containerId: id, timeout: 0n });
  });
});
