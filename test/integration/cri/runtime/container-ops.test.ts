import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import {
  ContainerState,
  LinuxContainerConfig,
  LinuxContainerResources,
  Signal,
  type PodSandboxConfig,
} from "../../../../cri/api/generated/api.js";
import { detectHostLayout } from "../../../../cgroups/detect.js";
import { resolveCgroupDirs } from "../../../../cgroups/paths.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig, grpcError, waitFor } from "../../../../harness/cri-fixtures.js";
import { EXEC_RESPONSE_OUTPUT_LIMIT } from "../../../../cri/runtime/exec-sync.js";

describe("container operations", () => {
  let h: Harness;
  let image: string;
  let podSandboxId: string;
  let config: PodSandboxConfig;
  let logDir: string;

  beforeAll(async () => {
    h = await startHarness();
    image = await h.importBusybox();
    logDir = join(h.root, "logs");
    config = sandboxConfig("ops", { logDirectory: logDir });
    podSandboxId = (await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" })).podSandboxId;
  });
  afterAll(async () => {
    await h.cleanup();
  });

  async function run(name: string, command: string[], extra = {}): Promise<string> {
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig(name, image, command, extra),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    return containerId;
  }

  async function statusOf(containerId: string) {
    return await h.cri.runtime.containerStatus({ containerId, verbose: true });
  }

  it("stop: a container that ignores SIGTERM is SIGKILLed after the timeout", async () => {
    const id = await run("stubborn", ["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"]);
    await waitFor(async () =>
      (await readFile(join(logDir, "stubborn/0.log"), "utf8").catch(() => "")).includes("ready"),
    );
    await h.cri.runtime.stopContainer({ containerId: id, timeout: 1n });
    const s = (await statusOf(id)).status!;
    expect(s.state).toBe(ContainerState.CONTAINER_EXITED);
    expect(s.exitCode).toBe(137);
    // Idempotent.
    await h.cri.runtime.stopContainer({ containerId: id, timeout: 1n });
  });

  it("stop: a real-time stop signal (SIGRTMAX) reaches the container", async () => {
    const id = await run("rt-stop", ["sh", "-c", "echo ready; while :; do sleep 1; done"], {
      stopSignal: Signal.SIGRTMAX,
    });
    await waitFor(async () =>
      (await readFile(join(logDir, "rt-stop/0.log"), "utf8").catch(() => "")).includes("ready"),
    );
    await h.cri.runtime.stopContainer({ containerId: id, timeout: 10n });
    const s = (await statusOf(id)).status!;
    expect(s.state).toBe(ContainerState.CONTAINER_EXITED);
    // Killed by signal 64 itself, not by the SIGKILL that follows a signal that never arrived.
    expect(s.exitCode).toBe(128 + 64);
  });

  it("stop: a container that handles SIGTERM exits on its own code", async () => {
    const id = await run("polite", [
      "sh",
      "-c",
      "trap 'exit 42' TERM; echo ready; while :; do sleep 0.1; done",
    ]);
    await waitFor(async () =>
      (await readFile(join(logDir, "polite/0.log"), "utf8").catch(() => "")).includes("ready"),
    );
    await h.cri.runtime.stopContainer({ containerId: id, timeout: 30n });
    const s = (await statusOf(id)).status!;
    expect(s.exitCode).toBe(42);
    expect(s.reason).toBe("Error");
  });

  it("exec sync: the timeout is enforced and kills the exec'd process", async () => {
    const id = await run("exec-target", ["sleep", "1000"]);
    const err = await grpcError(
      h.cri.runtime.execSync({
        containerId: id,
        cmd: ["sh", "-c", "echo $$ > /tmp/exec.pid; exec sleep 60"],
        timeout: 1n,
      }),
    );
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    const check = await h.cri.runtime.execSync({
      containerId: id,
      cmd: ["sh", "-c", "[ -e /proc/$(cat /tmp/exec.pid) ] && echo alive || echo gone"],
      timeout: 5n,
    });
    expect(Buffer.from(check.stdout).toString().trim()).toBe("gone");
    await h.cri.runtime.removeContainer({ containerId: id });
  });

  it("exec sync: output past the limit is cut so the response still fits in one gRPC message", async () => {
    const id = await run("exec-flood", ["sleep", "1000"]);
    // 24 MiB on stdout and 1 MiB on stderr: more than one 16 MiB message holds.
    const res = await h.cri.runtime.execSync({
      containerId: id,
      cmd: ["sh", "-c", "head -c 1048576 /dev/zero >&2; head -c 25165824 /dev/zero; echo done >&2"],
      timeout: 60n,
    });
    expect(res.stdout.length + res.stderr.length).toBeLessThanOrEqual(EXEC_RESPONSE_OUTPUT_LIMIT);
    expect(res.stdout.length).toBeGreaterThan(0);
    await h.cri.runtime.removeContainer({ containerId: id });
  });

  it("security defaults: no-new-privileges as asked, default capabilities, masked and read-only kernel paths", async () => {
    const id = await run("secure", ["sleep", "1000"], {
      linux: LinuxContainerConfig.fromPartial({ securityContext: { noNewPrivs: true } }),
    });
    const out = async (cmd: string) =>
      Buffer.from(
        (await h.cri.runtime.execSync({ containerId: id, cmd: ["sh", "-c", cmd], timeout: 5n })).stdout,
      ).toString();
    expect(await out("grep NoNewPrivs /proc/self/status")).toMatch(/NoNewPrivs:\s+1/);
    // The default set: 14 capabilities, no CAP_SYS_ADMIN (bit 21).
    const capEff = BigInt("0x" + (await out("grep CapEff /proc/self/status")).split(/\s+/)[1]);
    expect(capEff & (1n << 21n)).toBe(0n);
    expect(
      capEff
        .toString(2)
        .split("")
        .filter((b) => b === "1").length,
    ).toBe(14);
    // Masked paths that exist on this kernel read as empty (they are /dev/null underneath).
    const masked = await out(
      'for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug /proc/latency_stats; do [ -e $p ] && echo "$p $(wc -c < $p)"; done',
    );
    expect(masked.trim().split("\n").length).toBeGreaterThan(0);
    for (const line of masked.trim().split("\n")) expect(line).toMatch(/ 0$/);
    expect(await out("echo 1 > /proc/sys/kernel/domainname 2>&1 && echo writable || echo readonly")).toMatch(
      /readonly/,
    );
    await h.cri.runtime.removeContainer({ containerId: id });
  });

  it("update resources changes the container's cgroup limits", async () => {
    const id = await run("resize", ["sleep", "1000"]);
    await h.cri.runtime.updateContainerResources({
      containerId: id,
      linux: LinuxContainerResources.fromPartial({
        memoryLimitInBytes: 64n * 1024n * 1024n,
        cpuPeriod: 100000n,
        cpuQuota: 50000n,
      }),
      annotations: {},
    });
    const info = JSON.parse((await statusOf(id)).info.info!) as { cgroupsPath: string };
    const dirs = resolveCgroupDirs(await detectHostLayout(), info.cgroupsPath);
    if (dirs.v1.memory) {
      expect((await readFile(join(dirs.v1.memory, "memory.limit_in_bytes"), "utf8")).trim()).toBe(
        String(64 * 1024 * 1024),
      );
      expect((await readFile(join(dirs.v1.cpu!, "cpu.cfs_quota_us"), "utf8")).trim()).toBe("50000");
    } else {
      expect((await readFile(join(dirs.unified!, "memory.max"), "utf8")).trim()).toBe(
        String(64 * 1024 * 1024),
      );
    }
    const s = (await statusOf(id)).status!;
    expect(s.resources?.linux?.memoryLimitInBytes).toBe(64n * 1024n * 1024n);
    await h.cri.runtime.removeContainer({ containerId: id });
  });

  it("reopen log: after rotation the container writes to a new file", async () => {
    const id = await run("rotating", [
      "sh",
      "-c",
      "i=0; while :; do i=$((i+1)); echo line-$i; sleep 0.1; done",
    ]);
    const log = join(logDir, "rotating/0.log");
    await waitFor(async () => (await readFile(log, "utf8").catch(() => "")).includes("line-3"));
    await rename(log, `${log}.1`);
    await h.cri.runtime.reopenContainerLog({ containerId: id });
    await waitFor(async () => /line-\d+/.test(await readFile(log, "utf8").catch(() => "")));
    expect(await readFile(log, "utf8")).not.toMatch(/ line-1\n/);
    await h.cri.runtime.removeContainer({ containerId: id });
    const gone = await grpcError(h.cri.runtime.reopenContainerLog({ containerId: id }));
    expect(gone.code).toBe(status.NOT_FOUND);
  });
});
