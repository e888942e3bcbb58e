// berth as a systemd service, in a VM whose PID 1 is systemd (test/vm/systemd-service.sh):
// `berth install` gives an active (running) service once the agent is READY; a reload
// applies the log level; `systemctl restart berth` keeps containers running and the new
// agent re-adopts them; a hung agent (SIGSTOP) is killed by the watchdog and restarted.
// A plain node script, steps in order: the first failure prints the journal and exits 1.
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { execa } from "execa";
import { detectHostLayout } from "../../../cgroups/detect.js";
import { ContainerConfig, ContainerState, PodSandboxConfig } from "../../../cri/api/generated/api.js";
import { connectCri, type CriClients } from "../../../cri/grpc-client.js";
import { BERTH_BIN } from "../../../harness/agent-process.js";
import { buildBusyboxImage } from "../../../harness/oci-image.js";

const SOCKET = "/run/berth/berth.sock";
const WATCHDOG_SEC = 10;
const started = performance.now();
const figures: string[] = [];

function elapsed(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

function log(line: string): void {
  console.log(`# [${elapsed(started)}] ${line}`);
}

async function run(command: string, args: string[]): Promise<string> {
  const result = await execa(command, args, { reject: false });
  if (result.exitCode !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} exited ${result.exitCode}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

async function berth(...args: string[]): Promise<string> {
  return run(process.execPath, [BERTH_BIN, ...args]);
}

async function unitProperty(name: string): Promise<string> {
  return (await run("systemctl", ["show", "berth.service", "-p", name, "--value"])).trim();
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function cgroupOf(pid: number): Promise<string> {
  const text = await readFile(`/proc/${pid}/cgroup`, "utf8");
  return text.trim().replace(/^0::/, "");
}

async function withCri<T>(work: (cri: CriClients) => Promise<T>): Promise<T> {
  const cri = connectCri(SOCKET, 120_000);
  try {
    return await work(cri);
  } finally {
    cri.close();
  }
}

async function step(name: string, body: () => Promise<void>): Promise<void> {
  const at = performance.now();
  log(`${name} ...`);
  await body();
  log(`ok: ${name} (${elapsed(at)})`);
}

async function main(): Promise<void> {
  let containerId = "";
  let containerPid = 0;
  let podId = "";

  await step("preflight: systemd is PID 1 on a pure cgroup v2 hierarchy", async () => {
    assert.equal((await readFile("/proc/1/comm", "utf8")).trim(), "systemd");
    assert.equal((await detectHostLayout()).mode, "unified");
    log((await run("systemctl", ["--version"])).split("\n")[0] ?? "");
  });

  await step("how long node takes to load the berth CLI here (every figure below includes it)", async () => {
    const at = performance.now();
    await berth("--version");
    figures.push(`berth --version: ${elapsed(at)}`);
  });

  await step("prepare: state on tmpfs, no CNI, a short watchdog in a drop-in", async () => {
    // The guest's root is an overlay; overlayfs cannot use an overlay as its upper layer.
    await mkdir("/var/lib/berth", { recursive: true });
    await run("mount", ["-t", "tmpfs", "-o", "mode=0711", "tmpfs", "/var/lib/berth"]);
    await mkdir("/etc/berth", { recursive: true });
    // The tmpfs holds half the VM's memory, about 1 GiB: less than the 1 GiB of free space berth
    // keeps by default on the image filesystem, so this config keeps 64 MiB instead.
    await writeFile(
      "/etc/berth/config.yaml",
      `cni:\n  enabled: false\nimages:\n  reservedFreeBytes: ${64 * 1024 * 1024}\n`,
    );
    await mkdir("/etc/systemd/system/berth.service.d", { recursive: true });
    // TimeoutAbortSec: after the watchdog's SIGABRT, how long before SIGKILL (the default is 90 s).
    await writeFile(
      "/etc/systemd/system/berth.service.d/vm-test.conf",
      `[Service]\nWatchdogSec=${WATCHDOG_SEC}\nTimeoutAbortSec=5\n`,
    );
  });

  await step("berth install: active (running) as soon as it returns, i.e. after READY=1", async () => {
    const at = performance.now();
    const output = await berth("install");
    figures.push(`install until active: ${elapsed(at)}`);
    assert.match(output, /ran systemctl enable --now berth.service/);
    assert.equal(await unitProperty("ActiveState"), "active");
    assert.equal(await unitProperty("SubState"), "running");
    assert.match(await unitProperty("StatusText"), /^serving 0 pods, 0 containers running$/);
    assert.equal(await unitProperty("WatchdogUSec"), `${WATCHDOG_SEC}s`);
    const version = await withCri((cri) => cri.runtime.version({ version: "v1" }));
    assert.equal(version.runtimeName, "berth");
    const mainPid = Number(await unitProperty("MainPID"));
    // systemd 252 starts the agent in the unit cgroup; pods stay at the configured root.
    assert.equal(await cgroupOf(mainPid), "/system.slice/berth.service");
  });

  await step("a pod with a running container", async () => {
    await buildBusyboxImage("/tmp/busybox-layout", { name: "berth.test/busybox:vm" });
    await berth("image", "import", "/tmp/busybox-layout");
    await withCri(async (cri) => {
      const config = PodSandboxConfig.fromPartial({
        metadata: { name: "keeper", namespace: "vm", uid: "uid-keeper", attempt: 0 },
        hostname: "keeper",
        logDirectory: "/var/log/pods/vm_keeper_uid-keeper",
      });
      podId = (await cri.runtime.runPodSandbox({ config, runtimeHandler: "" })).podSandboxId;
      containerId = (
        await cri.runtime.createContainer({
          podSandboxId: podId,
          config: ContainerConfig.fromPartial({
            metadata: { name: "sleeper", attempt: 0 },
            image: { image: "berth.test/busybox:vm" },
            command: ["sleep", "100000"],
            logPath: "sleeper/0.log",
          }),
          sandboxConfig: config,
        })
      ).containerId;
      await cri.runtime.startContainer({ containerId });
    });
    const state = JSON.parse(await run("runc", ["--root", "/run/berth/runc", "state", containerId])) as {
      pid: number;
    };
    containerPid = state.pid;
    assert.ok(alive(containerPid));
    assert.match(await cgroupOf(containerPid), /^\/berth\//);
    // conmon (the container's parent) did not inherit NOTIFY_SOCKET: runc would pass it on and
    // wait for READY=1 from the container.
    const stat = await readFile(`/proc/${containerPid}/stat`, "utf8");
    const conmon = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    assert.equal((await readFile(`/proc/${conmon}/comm`, "utf8")).trim(), "conmon");
    assert.doesNotMatch(await readFile(`/proc/${conmon}/environ`, "utf8"), /NOTIFY_SOCKET=/);
  });

  await step("systemctl reload berth: the log level applies and the status says so", async () => {
    await writeFile("/etc/berth/config.yaml", "cni:\n  enabled: false\nlogLevel: debug\n");
    await run("systemctl", ["reload", "berth"]);
    await waitUntil("the reload's status line", async () =>
      /config reloaded: applied logLevel/.test(await unitProperty("StatusText")),
    );
    assert.match(await unitProperty("StatusText"), /^serving 1 pod, 1 container running; config reloaded/);
    assert.equal(await unitProperty("ActiveState"), "active");
  });

  await step("berth doctor on a systemd, cgroup v2 host with the service running: no FAIL", async () => {
    const result = await execa(process.execPath, [BERTH_BIN, "doctor", "-o", "json"], { reject: false });
    const report = JSON.parse(result.stdout) as {
      checks: Array<{ name: string; status: string; detail: string }>;
    };
    const problems = report.checks.filter((check) => check.status !== "OK");
    log(`doctor: ${problems.map((c) => `${c.name} ${c.status} (${c.detail})`).join("; ") || "all OK"}`);
    assert.equal(result.exitCode, 0, result.stdout);
    for (const name of ["cgroup v2", "cgroup controllers", "systemd", "agent", "socket permissions", "PSI"]) {
      assert.equal(report.checks.find((check) => check.name === name)?.status, "OK", name);
    }
  });

  await step("systemctl restart berth: containers keep running, the new agent re-adopts them", async () => {
    const before = Number(await unitProperty("MainPID"));
    const at = performance.now();
    await run("systemctl", ["restart", "berth"]);
    figures.push(`systemctl restart until active: ${elapsed(at)}`);
    assert.equal(await unitProperty("ActiveState"), "active");
    const after = Number(await unitProperty("MainPID"));
    assert.notEqual(after, before);
    assert.ok(alive(containerPid), "the container survived the restart");
    assert.match(await unitProperty("StatusText"), /^serving 1 pod, 1 container running$/);
    const containers = await withCri((cri) => cri.runtime.listContainers({}));
    const adopted = containers.containers.find((c) => c.id === containerId);
    assert.equal(adopted?.state, ContainerState.CONTAINER_RUNNING);
  });

  await step("a hung agent (SIGSTOP) is killed by the watchdog and restarted", async () => {
    const hung = Number(await unitProperty("MainPID"));
    const restarts = Number(await unitProperty("NRestarts"));
    const at = performance.now();
    process.kill(hung, "SIGSTOP");
    await waitUntil("a new agent after the watchdog fired", async () => {
      const pid = Number(await unitProperty("MainPID"));
      return pid !== hung && pid !== 0 && (await unitProperty("ActiveState")) === "active";
    });
    figures.push(`SIGSTOP until a new agent is active (WatchdogSec=${WATCHDOG_SEC}): ${elapsed(at)}`);
    assert.equal(Number(await unitProperty("NRestarts")), restarts + 1);
    assert.ok(!alive(hung), "the hung agent is gone");
    const journal = await run("journalctl", ["-u", "berth.service", "--no-pager", "-o", "cat"]);
    assert.match(journal, /Watchdog timeout/);
    assert.ok(alive(containerPid), "the container survived the watchdog restart");
    const containers = await withCri((cri) => cri.runtime.listContainers({}));
    assert.equal(
      containers.containers.find((c) => c.id === containerId)?.state,
      ContainerState.CONTAINER_RUNNING,
    );
  });

  await step("berth uninstall --purge after the pod is gone", async () => {
    await withCri(async (cri) => {
      await cri.runtime.stopPodSandbox({ podSandboxId: podId });
      await cri.runtime.removePodSandbox({ podSandboxId: podId });
    });
    assert.ok(!alive(containerPid));
    const output = await berth("uninstall", "--purge");
    assert.match(output, /ran systemctl disable --now berth.service/);
    assert.equal(await unitProperty("LoadState"), "not-found");
    await assert.rejects(readFile(join("/etc/berth", "config.yaml")));
  });
}

/** The unit's life from systemd's and the agent's own lines, with boot-relative timestamps. */
async function printTimeline(): Promise<void> {
  const journal = await execa("journalctl", ["-u", "berth.service", "--no-pager", "-o", "short-monotonic"], {
    reject: false,
  });
  const wanted = /systemd\[1\]|berth agent serving|moved process|pod cgroup root|config reload|shutting down/;
  const lines = journal.stdout.split("\n").filter((line) => wanted.test(line));
  console.log(
    `# --- berth.service timeline ---\n${lines.map((line) => `# ${line.slice(0, 200)}`).join("\n")}`,
  );
}

main().then(
  async () => {
    await printTimeline();
    log(`all steps passed; ${figures.join("; ")}`);
    process.exit(0);
  },
  async (err: unknown) => {
    console.error(err);
    const journal = await execa("journalctl", ["-u", "berth.service", "--no-pager", "-n", "80"], {
      reject: false,
    });
    console.error(`--- journalctl -u berth (last 80 lines) ---\n${journal.stdout}`);
    const status = await execa("systemctl", ["status", "berth", "--no-pager"], { reject: false });
    console.error(`--- systemctl status berth ---\n${status.stdout}`);
    process.exit(1);
  },
);
