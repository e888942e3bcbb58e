// ExecSync timeouts kill everything the command started inside the container, as containerd
// does: probes that time out would otherwise leave one process behind per period.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile, readdir, readlink } from "node:fs/promises";
import { status } from "@grpc/grpc-js";
import {
  ContainerState,
  LinuxContainerConfig,
  NamespaceMode,
  type PodSandboxConfig,
} from "../../../../cri/api/generated/api.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { criExec } from "../../../../agent/pods/pod-manager.js";
import { runExecProbe } from "../../../../probes/handlers/exec.js";
import { containerConfig, grpcError, waitFor } from "../../../../harness/cri-fixtures.js";

describe("exec sync timeout", () => {
  let h: Harness;
  let image: string;
  let podSandboxId: string;
  let config: PodSandboxConfig;

  beforeAll(async () => {
    h = await startHarness();
    image = await h.importBusybox();
    config = sandboxConfig("exec-timeout");
    podSandboxId = (await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" })).podSandboxId;
  });
  afterAll(async () => {
    await h.cleanup();
  });

  async function run(name: string): Promise<string> {
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      // Its own PID namespace (the pod's infra process also sleeps 3600), with an init that reaps
      // orphans as a shell does: what is left after the timeout is then only what was not killed.
      config: containerConfig(name, image, ["sh", "-c", "while :; do sleep 1; done"], {
        linux: LinuxContainerConfig.fromPartial({
          securityContext: { namespaceOptions: { pid: NamespaceMode.CONTAINER } },
        }),
      }),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    return containerId;
  }

  /** Pids, inside the container, of what the timed-out command started. */
  async function leftInContainer(containerId: string): Promise<string[]> {
    const res = await h.cri.runtime.execSync({
      containerId,
      cmd: [
        "sh",
        "-c",
        // Every process whose command line names 3600, except this scan (which names "cmdline").
        "for p in /proc/[0-9]*; do c=$(tr '\\0' ' ' < $p/cmdline 2>/dev/null); " +
          'case "$c" in *cmdline*) ;; *3600*) echo "${p#/proc/} $c";; esac; done; true',
      ],
      timeout: 10n,
    });
    return Buffer.from(res.stdout)
      .toString()
      .split("\n")
      .filter((l) => l !== "");
  }

  /** Host processes of the command left in the container's PID namespace (alive or zombie),
   * and zombies left to the agent itself. */
  async function leftOnHost(containerId: string): Promise<string[]> {
    const { info } = await h.cri.runtime.containerStatus({ containerId, verbose: true });
    const initPid = (JSON.parse(info.info ?? "{}") as { pid?: number }).pid;
    if (!initPid) throw new Error("ContainerStatus gave no pid for the container");
    const pidNs = await readlink(`/proc/${initPid}/ns/pid`);
    const found: string[] = [];
    for (const pid of await readdir("/proc")) {
      if (!/^\d+$/.test(pid) || Number(pid) === initPid) continue;
      const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (state === "Z" && Number(ppid) === process.pid) found.push(`agent's zombie ${stat}`);
      if ((await readlink(`/proc/${pid}/ns/pid`).catch(() => "")) !== pidNs) continue;
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).replaceAll("\0", " ");
      if (state === "Z" || cmdline.includes("3600")) found.push(`${stat.trim()} ${cmdline}`);
    }
    return found;
  }

  for (const [what, cmd] of [
    ["a single process", ["sleep", "3600"]],
    ["a shell and its children", ["sh", "-c", "sleep 3600 & sleep 3600"]],
  ] as const) {
    it(`kills ${what} on timeout, leaving nothing running or unreaped`, async () => {
      const id = await run(`t-${cmd.length}`);
      const err = await grpcError(h.cri.runtime.execSync({ containerId: id, cmd: [...cmd], timeout: 1n }));
      expect(err.code).toBe(status.DEADLINE_EXCEEDED);
      // The container's init reaps what the kill left as zombies: give it the moment that takes.
      let left: string[] = [];
      await waitFor(async () => (left = await leftOnHost(id)).length === 0, 10_000).catch(() => undefined);
      expect(left).toEqual([]);
      expect(await leftInContainer(id)).toEqual([]);
      // The container itself keeps running.
      const s = await h.cri.runtime.containerStatus({ containerId: id, verbose: false });
      expect(s.status?.state).toBe(ContainerState.CONTAINER_RUNNING);
      await h.cri.runtime.stopContainer({ containerId: id, timeout: 0n });
      await h.cri.runtime.removeContainer({ containerId: id });
    });
  }

  it("exec probes that time out, period after period, leave no process behind", async () => {
    const id = await run("probed");
    const exec = criExec(h.cri.runtime);
    for (let period = 0; period < 3; period++) {
      const outcome = await runExecProbe(exec, id, { command: ["sh", "-c", "sleep 3600 & sleep 3600"] }, 1);
      expect(outcome.result).toBe("failure");
      expect(outcome.output).toMatch(/timed out/);
    }
    let left: string[] = [];
    await waitFor(async () => (left = await leftOnHost(id)).length === 0, 10_000).catch(() => undefined);
    expect(left).toEqual([]);
    await h.cri.runtime.stopContainer({ containerId: id, timeout: 0n });
    await h.cri.runtime.removeContainer({ containerId: id });
  });

  it("in the pod's shared PID namespace, nothing named sleep is left once `sleep 3600` timed out", async () => {
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("shared-pid", image, ["sh", "-c", "while :; do read -t 1 x; done"]),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    const err = await grpcError(h.cri.runtime.execSync({ containerId, cmd: ["sleep", "3600"], timeout: 1n }));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    // The pod's infra process is PID 1 here: its own sleep must not pass for the command's.
    const found = await h.cri.runtime.execSync({ containerId, cmd: ["pidof", "sleep"], timeout: 10n });
    expect(Buffer.from(found.stdout).toString()).toBe("");
    await h.cri.runtime.stopContainer({ containerId, timeout: 0n });
    await h.cri.runtime.removeContainer({ containerId });
  });
});
