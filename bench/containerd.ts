// containerd as the benchmark's baseline: Debian's package (1.6, CRI plugin built in),
// started by the benchmark with a config of its own (root, state, socket, CNI conf dir,
// registry hosts dir and sandbox image all under one temp dir), so it shares nothing with
// the host and leaves nothing behind. The benchmark installs nothing: without the binaries
// it reports containerd as absent.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { detectHostLayout } from "../cgroups/detect.js";
import { CgroupManager } from "../cgroups/manager.js";
import { connectCri, type CriClients } from "../cri/grpc-client.js";
import { removeAllSandboxes } from "./remove-sandboxes.js";

export const CONTAINERD_BINARY = "/usr/bin/containerd";
export const SHIM_BINARY = "/usr/bin/containerd-shim-runc-v2";

export interface ContainerdOptions {
  /** An empty dir the instance owns: root, state, socket and configs go below it. */
  dir: string;
  /** The pause image every sandbox runs (already pushed to the local registry). */
  sandboxImage: string;
  /** `hosts.toml` dir naming the local registry as plain HTTP. */
  registryHostsDir: string;
  /** The CNI network list to serve pods with (written into its own conf dir). */
  cniConfList: string;
  cniBinDir: string;
  /** Parent cgroup given to every sandbox; relative, so it nests under the benchmark's cgroup. */
  cgroupParent: string;
}

export interface RunningContainerd {
  pid: number;
  socket: string;
  cri: CriClients;
  /** Shims serving this instance (their command line names its socket). */
  shimPids(): Promise<number[]>;
  /** Removes every sandbox through CRI, stops containerd and removes everything it made. */
  stop(): Promise<string[]>;
}

/** Why containerd cannot be the baseline on this host, or undefined when it can. */
export function containerdAbsence(): string | undefined {
  for (const binary of [CONTAINERD_BINARY, SHIM_BINARY])
    if (!existsSync(binary)) return `${binary} is missing (Debian package containerd, see scripts/setup.sh)`;
  return undefined;
}

function configToml(opts: ContainerdOptions, socket: string): string {
  const q = JSON.stringify;
  const cri = `plugins."io.containerd.grpc.v1.cri"`;
  return `version = 2
root = ${q(join(opts.dir, "root"))}
state = ${q(join(opts.dir, "state"))}
# /opt/containerd is the host's: not this instance's business.
disabled_plugins = ["io.containerd.internal.v1.opt"]

[grpc]
  address = ${q(socket)}

[ttrpc]
  address = ${q(`${socket}.ttrpc`)}

[${cri}]
  sandbox_image = ${q(opts.sandboxImage)}
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  # No CAP_SYS_RESOURCE here: pause cannot get an oom_score_adj below containerd's own.
  restrict_oom_score_adj = true

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false

[${cri}.cni]
  bin_dir = ${q(opts.cniBinDir)}
  conf_dir = ${q(join(opts.dir, "cni"))}
  max_conf_num = 1

[${cri}.registry]
  config_path = ${q(opts.registryHostsDir)}
`;
}

export async function startContainerd(opts: ContainerdOptions): Promise<RunningContainerd> {
  const socket = join(opts.dir, "containerd.sock");
  const configPath = join(opts.dir, "config.toml");
  await mkdir(join(opts.dir, "cni"), { recursive: true });
  await writeFile(join(opts.dir, "cni", "10-bench.conflist"), opts.cniConfList);
  await writeFile(configPath, configToml(opts, socket));
  const child = spawn(CONTAINERD_BINARY, ["--config", configPath, "--log-level", "warn"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr?.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const cri = connectCri(socket, 120_000);
  try {
    await waitForCri(cri, child, () => log);
  } catch (err) {
    cri.close();
    child.kill("SIGKILL");
    await exited;
    await removeInstanceFiles(opts.dir);
    throw err;
  }

  const shimPids = async (): Promise<number[]> =>
    (await processes()).filter((p) => p.args[0] === SHIM_BINARY && p.args.includes(socket)).map((p) => p.pid);

  return {
    pid: child.pid!,
    socket,
    cri,
    shimPids,
    async stop() {
      const problems = await removeAllSandboxes(cri, "containerd");
      cri.close();
      const shims = await shimPids();
      if (child.exitCode === null) child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null) {
        problems.push("containerd ignored SIGTERM for 10 s; killed");
        child.kill("SIGKILL");
        await exited;
      }
      // Shims outlive containerd by design; with every sandbox gone they exit on their own.
      for (const pid of shims) {
        if (await alive(pid)) {
          problems.push(`shim ${pid} outlived its sandboxes; killed`);
          process.kill(pid, "SIGKILL");
        }
      }
      problems.push(...(await removeInstanceFiles(opts.dir)));
      await new CgroupManager({ layout: await detectHostLayout() }).remove(opts.cgroupParent);
      return problems;
    },
  };
}

async function waitForCri(cri: CriClients, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`containerd exited at start:\n${log()}`);
    try {
      const status = await cri.runtime.status({ verbose: false });
      const ready = status.status?.conditions.find((c) => c.type === "RuntimeReady")?.status;
      if (ready) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`containerd's CRI did not answer within 30 s:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Unmounts what the instance left mounted under its dir (snapshots, shm) and removes the dir. */
async function removeInstanceFiles(dir: string): Promise<string[]> {
  const problems: string[] = [];
  const mounts = (await readFile("/proc/self/mountinfo", "utf8"))
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((p) => p.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
  if (mounts.length) problems.push(`containerd left ${mounts.length} mounts; unmounted`);
  for (const m of mounts) await execa("umount", ["-l", m], { reject: false });
  await rm(dir, { recursive: true, force: true });
  return problems;
}

export interface ProcessInfo {
  pid: number;
  args: string[];
}

/** Every process of the host with its command line (processes that vanish meanwhile are skipped). */
export async function processes(): Promise<ProcessInfo[]> {
  const out: ProcessInfo[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, "utf8").catch(() => "");
    if (cmdline) out.push({ pid: Number(name), args: cmdline.split("\0").filter(Boolean) });
  }
  return out;
}

async function alive(pid: number): Promise<boolean> {
  return readFile(`/proc/${pid}/stat`, "utf8").then(
    (s) => !/^\d+ \(.*\) Z/.test(s),
    () => false,
  );
}
