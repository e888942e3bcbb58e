// The runtimes a benchmark compares, set up alike: berth's real agent process and
// containerd, each with its own dirs, socket and relative cgroup parent, the same CNI
// network list (bridge + host-local + portmap, no masquerade) on a private test bridge and
// subnet of its own, and the same images pulled from one local registry on loopback.
import { randomBytes, randomInt } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { detectHostLayout } from "../cgroups/detect.js";
import { CgroupManager } from "../cgroups/manager.js";
import { LinuxPodSandboxConfig, PullImageRequest, type PodSandboxConfig } from "../cri/api/generated/api.js";
import type { CriClients } from "../cri/grpc-client.js";
import { defaultNetworkConfig } from "../cri/network/cni-config.js";
import { agentTestDirs, startAgentProcess } from "../harness/agent-process.js";
import { buildBusyboxImage } from "../harness/oci-image.js";
import {
  insecureHostsToml,
  pushLayout,
  startRegistry,
  writeHostsToml,
  type RunningRegistry,
} from "../harness/registry-harness.js";
import { sandboxConfig } from "../harness/runtime-harness.js";
import { containerdAbsence, processes, startContainerd } from "./containerd.js";
import { removeAllSandboxes } from "./remove-sandboxes.js";

const CNI_BIN_DIR = "/usr/lib/cni";
const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";
/** In the command line of every application container: tells them from the runtime's processes. */
export const APP_MARKER = "86400";

export interface BenchImages {
  /** busybox: what the containers run. */
  app: string;
  /** A small image the pull benchmark pulls and removes again. */
  pull: string;
  /** containerd's sandbox image: busybox sleeping forever. */
  pause: string;
  hostsDir: string;
}

export interface Target {
  name: string;
  cri: CriClients;
  /** A sandbox config for this runtime (containerd gets a cgroup parent of the bench's own). */
  sandboxConfig(name: string): PodSandboxConfig;
  /** The runtime's own processes: the agent or containerd, conmons or shims, infra or pause. */
  overheadPids(): Promise<number[]>;
  /** Removes every sandbox, stops the runtime and removes what it made; returns what was left. */
  stop(): Promise<string[]>;
}

/** One local registry with the bench's images, shared by every target. */
export async function startImageRegistry(
  work: string,
): Promise<{ registry: RunningRegistry; images: BenchImages }> {
  const registry = await startRegistry();
  try {
    const hostsDir = join(work, "certs.d");
    await writeHostsToml(hostsDir, registry.host, insecureHostsToml(registry.host));
    const push = async (name: string, opts: Parameters<typeof buildBusyboxImage>[1]): Promise<string> => {
      const dir = join(work, `layout-${name}`);
      await buildBusyboxImage(dir, { ...opts, name: `bench/${name}:1` });
      await pushLayout(dir, "1", registry.host, `bench/${name}:1`);
      await rm(dir, { recursive: true, force: true });
      return `${registry.host}/bench/${name}:1`;
    };
    const images: BenchImages = {
      app: await push("busybox", {}),
      pause: await push("pause", { entrypoint: ["/bin/busybox", "sleep", "infinity"] }),
      pull: await push("small", {
        extraLayers: [[{ path: "data/small.bin", content: randomBytes(256 * 1024) }]],
      }),
      hostsDir,
    };
    return { registry, images };
  } catch (err) {
    await registry.stop();
    throw err;
  }
}

/** berth's network list with a bridge, subnet and IPAM dir of the caller's. */
function networkConfList(name: string, bridge: string, subnet: string, ipamDir: string): string {
  const config = defaultNetworkConfig(
    { networkName: name, bridgeName: bridge, subnet, ipMasq: false, ipamDataDir: ipamDir },
    "1.0.0",
  );
  return JSON.stringify(config, null, 2) + "\n";
}

/** A private /24 in 10.250-254/16 that no other pod network of this host uses. */
async function freeSubnet(): Promise<string> {
  const routes = (await execa("ip", ["-4", "route"])).stdout;
  for (let attempt = 0; attempt < 50; attempt++) {
    const prefix = `10.${randomInt(250, 255)}.${randomInt(1, 255)}.`;
    if (!routes.includes(prefix)) return `${prefix}0/24`;
  }
  throw new Error("no free test subnet in 10.250.0.0/15 after 50 tries");
}

/** The host's ip_forward and the bridges made: the CNI bridge plugin leaves both behind. */
export async function networkRestorer(): Promise<{ bridge(name: string): void; restore(): Promise<void> }> {
  const before = (await readFile(IP_FORWARD, "utf8")).trim();
  const bridges: string[] = [];
  return {
    bridge: (name) => void bridges.push(name),
    async restore() {
      for (const b of bridges) await execa("ip", ["link", "del", b], { reject: false });
      await writeFile(IP_FORWARD, `${before}\n`).catch(() => undefined);
    },
  };
}

/** Processes in (a cgroup below) `cgroupName`, application containers excepted. */
async function infraPids(cgroupName: string): Promise<number[]> {
  const pids: number[] = [];
  for (const p of await processes()) {
    if (p.args.join(" ").includes(APP_MARKER)) continue;
    const cgroups = await readFile(`/proc/${p.pid}/cgroup`, "utf8").catch(() => "");
    if (cgroups.includes(`/${cgroupName}/`)) pids.push(p.pid);
  }
  return pids;
}

export async function startBerth(
  images: BenchImages,
  network: { bridge(name: string): void },
): Promise<Target> {
  const { root, dirs } = await agentTestDirs("berth-bench-agent-");
  const bridge = `bb${randomBytes(3).toString("hex")}`;
  network.bridge(bridge);
  const confDir = join(root, "cni");
  await mkdir(confDir);
  await writeFile(
    join(confDir, "10-bench.conflist"),
    networkConfList(`berth-bench-${bridge}`, bridge, await freeSubnet(), join(root, "ipam")),
  );
  await mkdir(join(root, "manifests"));
  const configFile = join(root, "config.json");
  // JSON is YAML: the agent reads it as its config file.
  await writeFile(
    configFile,
    JSON.stringify({
      cni: { confDir },
      registry: { hostsDir: images.hostsDir },
      manifestsDir: join(root, "manifests"),
    }),
  );
  const agent = await startAgentProcess(dirs, ["--config", configFile, "--log-level", "info"]);
  return {
    name: "berth",
    cri: agent.cri,
    sandboxConfig: (name) => sandboxConfig(name, { logDirectory: join(root, "logs", name) }),
    async overheadPids() {
      const conmons = (await processes())
        .filter((p) => p.args[0]?.endsWith("conmon") && p.args.some((a) => a.startsWith(dirs.runDir)))
        .map((p) => p.pid);
      return [...new Set([agent.child.pid!, ...conmons, ...(await infraPids(dirs.cgroupRoot))])];
    },
    async stop() {
      const problems = await removeAllSandboxes(agent.cri, "berth");
      await agent.stop();
      const mounts = (await readFile("/proc/self/mountinfo", "utf8"))
        .split("\n")
        .map((l) => l.split(" ")[4] ?? "")
        .filter((p) => p.startsWith(root + "/"));
      if (mounts.length) problems.push(`berth left mounts: ${mounts.join(", ")}`);
      const runc = await readdir(join(dirs.runDir, "runc")).catch(() => []);
      if (runc.length) problems.push(`berth left runc containers: ${runc.join(", ")}`);
      const netns = await readdir(join(dirs.runDir, "netns")).catch(() => []);
      if (netns.length) problems.push(`berth left netns: ${netns.join(", ")}`);
      for (const m of mounts.sort((a, b) => b.length - a.length))
        await execa("umount", ["-l", m], { reject: false });
      await new CgroupManager({ layout: await detectHostLayout() }).remove(dirs.cgroupRoot);
      await rm(root, { recursive: true, force: true });
      return problems;
    },
  };
}

export async function startContainerdTarget(
  images: BenchImages,
  network: { bridge(name: string): void },
): Promise<Target | string> {
  const absent = containerdAbsence();
  if (absent) return absent;
  const dir = await mkdtemp(join(tmpdir(), "berth-bench-containerd-"));
  const bridge = `bc${randomBytes(3).toString("hex")}`;
  network.bridge(bridge);
  const cgroupParent = `berth-bench-ctrd-${randomBytes(4).toString("hex")}`;
  const ctrd = await startContainerd({
    dir: join(dir, "instance"),
    sandboxImage: images.pause,
    registryHostsDir: images.hostsDir,
    cniConfList: networkConfList(`containerd-bench-${bridge}`, bridge, await freeSubnet(), join(dir, "ipam")),
    cniBinDir: CNI_BIN_DIR,
    cgroupParent,
  }).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  // The sandbox image is pulled before anything is timed, as a node has it before its first pod.
  await ctrd.cri.images.pullImage(PullImageRequest.fromPartial({ image: { image: images.pause } }));
  return {
    name: "containerd",
    cri: ctrd.cri,
    sandboxConfig: (name) =>
      sandboxConfig(name, {
        logDirectory: join(dir, "logs", name),
        linux: LinuxPodSandboxConfig.fromPartial({ cgroupParent }),
      }),
    async overheadPids() {
      return [...new Set([ctrd.pid, ...(await ctrd.shimPids()), ...(await infraPids(cgroupParent))])];
    },
    async stop() {
      const problems = await ctrd.stop();
      await rm(dir, { recursive: true, force: true });
      return problems;
    },
  };
}
