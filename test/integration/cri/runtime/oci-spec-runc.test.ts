// The specs berth builds, run by the host's real runc (1.1, OCI 1.0.2): a container alone,
// then an infra process with a container joining its PID and IPC namespaces. The rootfs is
// the host's static busybox. Cgroup paths are relative, so runc nests them under this test
// process's own cgroups; the test removes exactly the directories it caused and no other.
import { randomBytes } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rm, rmdir, symlink, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ContainerConfig,
  NamespaceMode,
  PodSandboxConfig,
  SecurityProfile_ProfileType,
} from "../../../../cri/api/generated/api.js";
import { CAPABILITY_NAMES, readHostLimits, type HostLimits } from "../../../../cri/runtime/host-limits.js";
import {
  buildContainerSpec,
  buildInfraSpec,
  infraSeccomp,
  type SandboxContext,
} from "../../../../cri/runtime/oci-spec.js";
import type { Spec } from "../../../../cri/runtime/oci-types.js";

const PROBE_SCRIPT = [
  "echo ok",
  "/bin/busybox grep -E '^(CapBnd|NoNewPrivs|Seccomp):' /proc/self/status",
  "/bin/busybox linux32 /bin/sh -c 'echo linux32-ok'",
  "/bin/busybox adjtimex >/dev/null 2>&1 || echo adjtimex-denied",
].join("; ");

const cgroupParent = `berth-test-${randomBytes(6).toString("hex")}`;
let work: string;
let runcRoot: string;
let host: HostLimits;
const started: string[] = [];

async function makeBundle(name: string, spec: Spec): Promise<string> {
  const bundle = join(work, name);
  await writeFile(join(bundle, "config.json"), JSON.stringify(spec, null, 2));
  return bundle;
}

async function makeRootfs(name: string): Promise<string> {
  const rootfs = join(work, name, "rootfs");
  await mkdir(join(rootfs, "bin"), { recursive: true });
  await copyFile("/bin/busybox", join(rootfs, "bin", "busybox"));
  await symlink("busybox", join(rootfs, "bin", "sh"));
  return rootfs;
}

function runc(...args: string[]) {
  return execa("runc", ["--root", runcRoot, ...args], { stdin: "ignore", reject: false, timeout: 60_000 });
}

/** A detached container keeps runc's stdio; pipes would keep the call waiting until it exits. */
function runcDetached(...args: string[]) {
  return execa("runc", ["--root", runcRoot, ...args], { stdio: "ignore", reject: false, timeout: 60_000 });
}

/** The directory of each hierarchy this process sits in, e.g. /sys/fs/cgroup/memory/<own path>. */
async function ownCgroupDirs(): Promise<string[]> {
  const lines = (await readFile("/proc/self/cgroup", "utf8")).trim().split("\n");
  return lines.map((line) => {
    const [, controllers = "", path = "/"] = line.split(":");
    const mountDir = controllers === "" ? "unified" : controllers.replace(/^name=/, "");
    return join("/sys/fs/cgroup", mountDir, path);
  });
}

/** Removes the test's cgroup directories, deepest first; rmdir only ever removes empty cgroups. */
async function removeTestCgroups(): Promise<string[]> {
  const left: string[] = [];
  for (const dir of await ownCgroupDirs()) {
    const parent = join(dir, cgroupParent);
    if (!existsSync(parent)) continue;
    for (const child of ["c1", "c2", "infra"]) {
      if (existsSync(join(parent, child))) await rmdir(join(parent, child));
    }
    await rmdir(parent);
    if (existsSync(parent)) left.push(parent);
  }
  return left;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-oci-runc-"));
  runcRoot = join(work, "runc-state");
  await mkdir(runcRoot);
  host = await readHostLimits();
  for (const file of ["hostname", "hosts", "resolv.conf"]) await writeFile(join(work, file), `# ${file}\n`);
});

afterAll(async () => {
  for (const id of started) await runc("delete", "--force", id);
  const left = await removeTestCgroups();
  await rm(work, { recursive: true, force: true });
  expect(left).toEqual([]);
});

function sandboxContext(config: PodSandboxConfig, infraPid: number): SandboxContext {
  return {
    id: "sandbox-1",
    config,
    infraPid,
    hostnamePath: join(work, "hostname"),
    hostsPath: join(work, "hosts"),
    resolvConfPath: join(work, "resolv.conf"),
  };
}

describe("specs run by runc", () => {
  it("runs a container with host network and IPC, a private PID namespace and the default seccomp profile", async () => {
    const sandboxConfig = PodSandboxConfig.fromPartial({
      metadata: { name: "pod", namespace: "default", uid: "uid-1" },
      linux: {
        securityContext: {
          namespaceOptions: {
            network: NamespaceMode.NODE,
            ipc: NamespaceMode.NODE,
            pid: NamespaceMode.CONTAINER,
          },
        },
      },
    });
    const rootfs = await makeRootfs("c1");
    const spec = await buildContainerSpec({
      containerId: "c1",
      config: ContainerConfig.fromPartial({
        metadata: { name: "c1" },
        image: { image: "busybox" },
        command: ["/bin/sh", "-c", PROBE_SCRIPT],
        linux: {
          resources: { cpuShares: 512n, oomScoreAdj: 500n },
          securityContext: {
            namespaceOptions: { pid: NamespaceMode.CONTAINER },
            seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault },
            readonlyRootfs: true,
          },
        },
      }),
      sandbox: sandboxContext(sandboxConfig, process.pid),
      image: {},
      rootfsPath: rootfs,
      cgroupsPath: `${cgroupParent}/c1`,
      host,
      defaultNoNewPrivileges: true,
    });
    expect(spec.linux?.namespaces?.some((ns) => ns.type === "network")).toBe(false);
    expect(spec.linux?.seccomp).toBeDefined();
    const bundle = await makeBundle("c1", spec);

    started.push("c1");
    const run = await runc("run", "--keep", "--bundle", bundle, "c1");
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const expectedBounding = (spec.process?.capabilities?.bounding ?? []).reduce(
      (mask, name) => mask | (1n << BigInt(CAPABILITY_NAMES.indexOf(name))),
      0n,
    );
    expect(run.stdout.trim().split("\n")).toEqual([
      "ok",
      `CapBnd:\t${expectedBounding.toString(16).padStart(16, "0")}`,
      "NoNewPrivs:\t1",
      "Seccomp:\t2",
      // personality(PER_LINUX32) is one of the allowed values; adjtimex needs CAP_SYS_TIME.
      "linux32-ok",
      "adjtimex-denied",
    ]);

    const deleted = await runc("delete", "c1");
    expect(deleted.exitCode).toBe(0);
    expect((await runc("list", "-q")).stdout.trim()).toBe("");
  });

  it("runs an infra process and a container that shares its PID and IPC namespaces", async () => {
    const sandboxConfig = PodSandboxConfig.fromPartial({
      metadata: { name: "pod", namespace: "default", uid: "uid-2" },
      hostname: "pod-two",
      linux: {
        sysctls: { "kernel.shm_rmid_forced": "1" },
        securityContext: {
          namespaceOptions: { network: NamespaceMode.NODE, ipc: NamespaceMode.POD, pid: NamespaceMode.POD },
          seccomp: { profileType: SecurityProfile_ProfileType.RuntimeDefault },
        },
      },
    });
    const infraRootfs = await makeRootfs("infra");
    const infraSpec = buildInfraSpec({
      sandboxId: "sandbox-2",
      config: sandboxConfig,
      rootfsPath: infraRootfs,
      cgroupsPath: `${cgroupParent}/infra`,
      host,
      args: ["/bin/busybox", "sleep", "600"],
      seccomp: await infraSeccomp(sandboxConfig, host),
    });
    const infraBundle = await makeBundle("infra", infraSpec);
    started.push("infra");
    const infraRun = await runcDetached("run", "--detach", "--bundle", infraBundle, "infra");
    expect(infraRun.exitCode).toBe(0);
    const state = JSON.parse((await runc("state", "infra")).stdout) as { pid: number; status: string };
    expect(state.status).toBe("running");

    const rootfs = await makeRootfs("c2");
    const spec = await buildContainerSpec({
      containerId: "c2",
      config: ContainerConfig.fromPartial({
        metadata: { name: "c2" },
        image: { image: "busybox" },
        args: ["-c", "echo ok; tr '\\0' ' ' < /proc/1/cmdline; echo; cat /proc/sys/kernel/shm_rmid_forced"],
        linux: { securityContext: { namespaceOptions: { pid: NamespaceMode.POD } } },
      }),
      sandbox: { ...sandboxContext(sandboxConfig, state.pid), id: "sandbox-2" },
      image: { entrypoint: ["/bin/sh"], cmd: ["-c", "exit 3"] },
      rootfsPath: rootfs,
      cgroupsPath: `${cgroupParent}/c2`,
      host,
      defaultNoNewPrivileges: false,
    });
    const bundle = await makeBundle("c2", spec);
    started.push("c2");
    const run = await runc("run", "--keep", "--bundle", bundle, "c2");
    expect(run.stderr).toBe("");
    expect(run.stdout.split("\n").map((line) => line.trim())).toEqual(["ok", "/bin/busybox sleep 600", "1"]);
    expect((await runc("delete", "c2")).exitCode).toBe(0);

    expect((await runc("kill", "infra", "KILL")).exitCode).toBe(0);
    await waitForStopped("infra");
    expect((await runc("delete", "infra")).exitCode).toBe(0);
  });
});

async function waitForStopped(id: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const state = await runc("state", id);
    if (state.exitCode !== 0 || (JSON.parse(state.stdout) as { status: string }).status === "stopped") return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${id} did not stop`);
}
