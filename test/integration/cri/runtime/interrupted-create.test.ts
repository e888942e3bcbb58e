// What a kill -9 of the agent in the middle of RunPodSandbox leaves, and what removal and
// start-up leave in the run dir. The agent runs as its own process; a slowed `unshare` first on
// its PATH holds RunPodSandbox inside the network namespace step (after the pod's /dev/shm is
// mounted) long enough to kill it there every time.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmod, mkdir, readdir, readFile, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { existsSync } from "node:fs";
import { execa } from "execa";
import { detectHostLayout } from "../../../../cgroups/detect.js";
import { CgroupManager } from "../../../../cgroups/manager.js";
import { distinctDirs } from "../../../../cgroups/paths.js";
import { ContainerConfig } from "../../../../cri/api/generated/api.js";
import { sandboxConfig } from "../../../../harness/runtime-harness.js";
import {
  agentTestDirs,
  importBusyboxBeforeStart,
  startAgentProcess,
  type AgentDirs,
  type AgentProcess,
} from "../../../../harness/agent-process.js";
import { forceCleanup } from "../../../../harness/force-cleanup.js";

const IMAGE = "berth.test/interrupted:1";

async function mountsUnder(root: string): Promise<string[]> {
  return (await readFile("/proc/self/mountinfo", "utf8"))
    .split("\n")
    .map((l) => l.split(" "))
    .filter((f) => (f[4] ?? "").startsWith(root + "/"))
    .map((f) => `${f[4]} (${f[f.indexOf("-") + 1]})`);
}

/** Pids whose command line mentions `needle`. */
async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, "utf8").catch(() => "");
    if (cmdline.replaceAll("\0", " ").includes(needle)) pids.push(Number(name));
  }
  return pids;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith("."));
}

describe("interrupted creations and removals leave nothing in the run dir", () => {
  let root: string;
  let dirs: AgentDirs;
  let slowBin: string;
  let agent: AgentProcess | undefined;

  beforeAll(async () => {
    ({ root, dirs } = await agentTestDirs("bic-"));
    await importBusyboxBeforeStart(root, dirs, IMAGE);
    slowBin = join(root, "slow-bin");
    await mkdir(slowBin);
    await writeFile(join(slowBin, "unshare"), '#!/bin/sh\nsleep 3\nexec /usr/bin/unshare "$@"\n');
    await chmod(join(slowBin, "unshare"), 0o755);
  });

  afterAll(async () => {
    await agent?.stop().catch(() => undefined);
    await forceCleanup(root, join(dirs.runDir, "runc"), dirs.cgroupRoot);
  });

  it("undoes the /dev/shm and network namespace of a RunPodSandbox killed mid-way", async () => {
    agent = await startAgentProcess(dirs, ["--no-cni"], {
      env: { PATH: `${slowBin}:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}` },
    });
    const netnsDir = join(dirs.runDir, "netns");
    const pending = agent.cri.runtime
      .runPodSandbox({ config: sandboxConfig("interrupted"), runtimeHandler: "" })
      .catch(() => undefined);
    // The slowed unshare is running: /dev/shm is mounted and the namespace file exists.
    await until("the network namespace step", async () => (await processesMentioning(netnsDir)).length > 0);
    expect((await mountsUnder(root)).some((m) => m.includes("/shm/"))).toBe(true);
    // The record on disk names both before the namespace exists, so the undo knows them.
    const recordsDir = join(dirs.stateDir, "state", "sandboxes");
    const [recordFile] = await entries(recordsDir);
    const record = JSON.parse(await readFile(join(recordsDir, recordFile!), "utf8")) as Record<
      string,
      unknown
    >;
    expect(record).toMatchObject({
      state: "creating",
      shmPath: expect.any(String),
      netnsPath: expect.any(String),
    });
    await agent.kill9();
    await pending;
    // Whatever the agent had started finishes or dies before the next agent looks.
    await until(
      "the interrupted unshare to end",
      async () => (await processesMentioning(netnsDir)).length === 0,
    );

    agent = await startAgentProcess(dirs);
    expect((await agent.cri.runtime.listPodSandbox({})).items).toEqual([]);
    expect(await mountsUnder(root)).toEqual([]);
    expect(await entries(netnsDir)).toEqual([]);
    expect(await entries(join(dirs.runDir, "shm"))).toEqual([]);
    expect(await entries(join(dirs.stateDir, "state", "sandboxes"))).toEqual([]);
    expect(await entries(join(dirs.stateDir, "sandboxes"))).toEqual([]);
  });

  it("leaves no exit file or attach link of a removed sandbox or container", async () => {
    agent ??= await startAgentProcess(dirs);
    const config = sandboxConfig("removed", { logDirectory: join(root, "logs") });
    const { podSandboxId } = await agent.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    const { containerId } = await agent.cri.runtime.createContainer({
      podSandboxId,
      config: ContainerConfig.fromPartial({
        metadata: { name: "app" },
        image: { image: IMAGE },
        command: ["sleep", "1000"],
        logPath: "app.log",
      }),
      sandboxConfig: config,
    });
    await agent.cri.runtime.startContainer({ containerId });
    const attach = join(dirs.runDir, "attach");
    expect(await entries(attach)).toEqual(expect.arrayContaining([podSandboxId, containerId]));

    await agent.cri.runtime.stopPodSandbox({ podSandboxId });
    await agent.cri.runtime.removePodSandbox({ podSandboxId });
    expect(await entries(join(dirs.runDir, "exits"))).toEqual([]);
    expect(await entries(attach)).toEqual([]);
  });

  it("sweeps run and state files that no record owns when it starts", async () => {
    await agent?.stop();
    const orphan = "0123456789abcdef".repeat(4);
    const exits = join(dirs.runDir, "exits");
    const attach = join(dirs.runDir, "attach");
    const shm = join(dirs.runDir, "shm", orphan);
    const netnsFile = join(dirs.runDir, "netns", orphan);
    const bundle = join(dirs.stateDir, "containers", orphan);
    const sandboxDir = join(dirs.stateDir, "sandboxes", orphan);
    const snapshot = join(dirs.stateDir, "snapshots", orphan, "merged");
    for (const d of [exits, attach, shm, bundle, sandboxDir, snapshot, join(dirs.runDir, "netns")])
      await mkdir(d, { recursive: true });
    await writeFile(join(exits, orphan), "0");
    await symlink(bundle, join(attach, orphan));
    await writeFile(netnsFile, "");
    await execa("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", shm]);
    await execa("unshare", [`--net=${netnsFile}`, "true"]);
    await execa("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", snapshot]);
    expect((await mountsUnder(root)).filter((m) => m.includes(orphan)).length).toBe(3);
    expect(await readlink(join(attach, orphan))).toBe(bundle);
    const cgroups = new CgroupManager({ layout: await detectHostLayout() });
    const podCgroup = `${dirs.cgroupRoot}/cri/pod-${orphan.slice(0, 16)}`;
    const podCgroupDirs = distinctDirs(await cgroups.ensure(podCgroup));
    expect(podCgroupDirs.length).toBeGreaterThan(0);

    agent = await startAgentProcess(dirs);
    expect(await mountsUnder(root)).toEqual([]);
    expect(await entries(exits)).toEqual([]);
    expect(await entries(attach)).toEqual([]);
    expect(await entries(join(dirs.runDir, "shm"))).toEqual([]);
    expect(await entries(join(dirs.runDir, "netns"))).toEqual([]);
    expect(await entries(join(dirs.stateDir, "containers"))).toEqual([]);
    expect(await entries(join(dirs.stateDir, "sandboxes"))).toEqual([]);
    expect(await entries(join(dirs.stateDir, "snapshots"))).toEqual([]);
    for (const dir of podCgroupDirs) expect(existsSync(dir), dir).toBe(false);
    await agent.stop();
    agent = undefined;
  });
});
