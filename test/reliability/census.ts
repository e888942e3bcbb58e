// A census of everything an agent can leave on this host, counted by kind: mounts under the
// test's dirs, network namespaces, IP reservations, veths on the test bridge, iptables lines
// of the test subnet, cgroups under the test's cgroup root (every v1 hierarchy and the unified
// one), processes that refer to the test's dirs, and the agent's run and state files. After
// everything was removed through CRI, every figure must be zero.
import { readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { detectHostLayout } from "../../cgroups/detect.js";
import { CgroupManager } from "../../cgroups/manager.js";
import { distinctDirs, namedHierarchyDirs } from "../../cgroups/paths.js";
import type { AgentDirs } from "../../harness/agent-process.js";

export interface CensusScope {
  /** The test's temp root: every dir of the agent lives below it. */
  root: string;
  dirs: AgentDirs;
  /** host-local's data dir and network name; undefined without CNI. */
  ipam?: { dataDir: string; network: string };
  /** The test bridge; undefined without CNI. */
  bridge?: string;
  /** What iptables lines of the test network contain, e.g. "10.252.7.". */
  subnetPrefix?: string;
}

/** What was found, by kind; each entry names the leftovers. */
export type Census = Record<string, string[]>;

async function entries(dir: string): Promise<string[]> {
  return (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith("."));
}

/** Mount points under the root, with their file system type. */
async function mounts(root: string): Promise<string[]> {
  return (await readFile("/proc/self/mountinfo", "utf8"))
    .split("\n")
    .map((l) => l.split(" "))
    .filter((f) => (f[4] ?? "").startsWith(root + "/"))
    .map((f) => `${f[f.indexOf("-") + 1]} ${f[4]}`);
}

/** Processes whose command line, working directory or root refers to the root (the caller excluded). */
export async function processesReferring(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const name of await entries("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const cmdline = (await readFile(`/proc/${name}/cmdline`, "utf8").catch(() => "")).replaceAll("\0", " ");
    const cwd = await readlink(`/proc/${name}/cwd`).catch(() => "");
    const fsRoot = await readlink(`/proc/${name}/root`).catch(() => "");
    if ([cmdline, cwd, fsRoot].some((s) => s.includes(root)))
      found.push(`${name} ${cmdline.trim().slice(0, 400)}`);
  }
  return found;
}

async function cgroupsBelow(cgroupRoot: string): Promise<string[]> {
  const manager = new CgroupManager({ layout: await detectHostLayout() });
  const tops = [
    ...distinctDirs(manager.resolveCgroupDirs(cgroupRoot)),
    ...namedHierarchyDirs(manager.layout, cgroupRoot),
  ];
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (!entry.isDirectory()) continue;
      const path = join(dir, entry.name);
      // berth's grouping dir for the pods it names may stay; what is below it may not.
      if (!(tops.includes(dir) && entry.name === "cri")) found.push(path);
      await walk(path);
    }
  };
  for (const top of tops) await walk(top);
  return found;
}

export async function takeCensus(scope: CensusScope): Promise<Census> {
  const { dirs } = scope;
  const census: Census = {};
  census["mounts"] = await mounts(scope.root);
  census["netns files"] = await entries(join(dirs.runDir, "netns"));
  census["shm dirs"] = await entries(join(dirs.runDir, "shm"));
  census["exit files"] = await entries(join(dirs.runDir, "exits"));
  census["attach links"] = await entries(join(dirs.runDir, "attach"));
  census["runc state"] = await entries(join(dirs.runDir, "runc"));
  census["sandbox records"] = await entries(join(dirs.stateDir, "state", "sandboxes"));
  census["container records"] = await entries(join(dirs.stateDir, "state", "containers"));
  census["sandbox dirs"] = await entries(join(dirs.stateDir, "sandboxes"));
  census["container bundles"] = await entries(join(dirs.stateDir, "containers"));
  census["snapshots"] = await entries(join(dirs.stateDir, "snapshots"));
  census["cni cache"] = await entries(join(dirs.stateDir, "cni", "cache", "results"));
  census["cgroups"] = await cgroupsBelow(dirs.cgroupRoot);
  census["processes"] = await processesReferring(scope.root);
  if (scope.ipam) {
    census["ip reservations"] = (await entries(join(scope.ipam.dataDir, scope.ipam.network))).filter((f) =>
      /^\d+\.\d+\.\d+\.\d+$/.test(f),
    );
  }
  if (scope.bridge) {
    const res = await execa("ip", ["-j", "link", "show", "master", scope.bridge], { reject: false });
    census["bridge ports"] =
      res.exitCode === 0 && res.stdout.trim()
        ? (JSON.parse(res.stdout) as { ifname: string }[]).map((l) => l.ifname)
        : [];
  }
  if (scope.subnetPrefix) {
    const { stdout } = await execa("iptables-save");
    census["iptables lines"] = stdout.split("\n").filter((l) => l.includes(scope.subnetPrefix!));
  }
  return census;
}

/** Total of leftovers over every kind. */
export function censusTotal(census: Census): number {
  return Object.values(census).reduce((n, found) => n + found.length, 0);
}

/** One line per kind: "mounts 0, netns files 0, ...". */
export function censusFigures(census: Census): string {
  return Object.entries(census)
    .map(([kind, found]) => `${kind} ${found.length}`)
    .join(", ");
}
