// Builds the OCI config.json runc runs, for a pod's infra process and for its containers,
// from the CRI configs. The result follows what containerd and CRI-O users expect (default
// capabilities, masked paths, mounts, namespaces shared through the infra process), then is
// trimmed to what this host can grant: capabilities outside berth's own bounding set and
// oom_score_adj values below its floor are left out instead of failing in runc.
import { hostname as osHostname } from "node:os";
import type { BigIntStats } from "node:fs";
import { lstat, readdir, realpath, stat } from "node:fs/promises";
import { join, posix } from "node:path";
import { InvalidArgumentError } from "../../common/errors.js";
import {
  type ContainerConfig,
  type Device as CriDevice,
  type LinuxContainerResources,
  type LinuxContainerSecurityContext,
  type Mount as CriMount,
  MountPropagation,
  NamespaceMode,
  type PodSandboxConfig,
  SupplementalGroupsPolicy,
} from "../api/generated/api.js";
import { CAPABILITY_NAMES, type HostLimits, normalizeCapabilityName } from "./host-limits.js";
import {
  type LinuxCapabilities,
  type LinuxDevice,
  type LinuxDeviceCgroup,
  type LinuxNamespace,
  type LinuxSeccomp,
  type Linux,
  type LinuxResources,
  type Mount,
  type Process,
  OCI_VERSION,
  type Spec,
} from "./oci-types.js";
import { chooseSeccomp, seccompFor } from "./seccomp.js";
import { resolveUser } from "./user-resolver.js";
import {
  type PodUserNamespace,
  podUserNamespace,
  requireUserNamespaceSupport,
  sameUserNamespace,
} from "./userns.js";
import { int64ToNumber, normalizeSysctlName } from "./validate-config.js";

export interface SandboxContext {
  id: string;
  config: PodSandboxConfig;
  /** undefined: host network. */
  netnsPath?: string;
  /** Host pid of the sandbox's infra process; containers join its namespaces via /proc/<pid>/ns/*. */
  infraPid: number;
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
  /** tmpfs shared by the pod's containers; undefined with host IPC. */
  shmPath?: string;
}

export interface ImageConfigForSpec {
  env?: string[];
  entrypoint?: string[];
  cmd?: string[];
  workingDir?: string;
  user?: string;
}

export interface ContainerSpecInput {
  containerId: string;
  config: ContainerConfig;
  sandbox: SandboxContext;
  image: ImageConfigForSpec;
  rootfsPath: string;
  cgroupsPath: string;
  host: HostLimits;
  /** Host pid of the container named by namespace_options.target_id (pid mode TARGET). */
  targetPid?: number;
  defaultNoNewPrivileges: boolean;
  /** Where privileged containers take their device nodes from; "/dev" unless testing. */
  hostDevDir?: string;
  /** Node's host name, for HOSTNAME of host-network pods that name none; os.hostname() if unset. */
  nodeHostname?: string;
  /** process.arch unless testing; picks the seccomp architectures. */
  arch?: string;
  /**
   * The filter from containerSeccomp, when the caller read the profile before making
   * anything; without it the profile is read here.
   */
  prepared?: { seccomp: LinuxSeccomp | undefined };
}

export interface InfraSpecInput {
  sandboxId: string;
  config: PodSandboxConfig;
  netnsPath?: string;
  rootfsPath: string;
  cgroupsPath: string;
  host: HostLimits;
  args: string[];
  /** The infra process's filter, from infraSeccomp (read before the sandbox is made). */
  seccomp: LinuxSeccomp | undefined;
  arch?: string;
  /** The pod's user namespace, made with its network namespace; used when the config asks for one. */
  usernsPath?: string;
}

/** Granted to every container unless it drops them (the set containerd users know). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

export const DEFAULT_MASKED_PATHS: readonly string[] = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
];

export const DEFAULT_READONLY_PATHS: readonly string[] = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

export const DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Keeps the infra process (which holds the pod's namespaces) among the last the OOM killer picks. */
export const INFRA_OOM_SCORE_ADJ = -998;

export const ANNOTATION = {
  containerType: "io.kubernetes.cri.container-type",
  containerName: "io.kubernetes.cri.container-name",
  sandboxId: "io.kubernetes.cri.sandbox-id",
  sandboxName: "io.kubernetes.cri.sandbox-name",
  sandboxNamespace: "io.kubernetes.cri.sandbox-namespace",
  sandboxUid: "io.kubernetes.cri.sandbox-uid",
  sandboxLogDirectory: "io.kubernetes.cri.sandbox-log-directory",
  imageName: "io.kubernetes.cri.image-name",
} as const;

const SECURITY_CONTEXT_FIELD = "config.linux.security_context";

// ---- process ----------------------------------------------------------------------------

/**
 * The command line, merged as containerd does: command set -> command + args; else args
 * set -> image entrypoint + args; else entrypoint + cmd.
 */
export function mergeArgs(
  config: Pick<ContainerConfig, "command" | "args">,
  image: ImageConfigForSpec,
): string[] {
  let command = config.command;
  let args = config.args;
  if (command.length === 0) {
    if (args.length === 0) args = image.cmd ?? [];
    const entrypoint = image.entrypoint ?? [];
    // An image built with ENTRYPOINT [""] means "no entrypoint".
    command = entrypoint.length === 1 && entrypoint[0] === "" ? [] : entrypoint;
  }
  const merged = [...command, ...args];
  if (merged.length === 0) {
    throw new InvalidArgumentError(
      "config.command",
      "no command given and the image has no entrypoint or cmd",
    );
  }
  return merged;
}

/** Later entries replace earlier ones with the same name, keeping the earlier position. */
export function mergeEnv(...layers: string[][]): string[] {
  const byName = new Map<string, string>();
  for (const layer of layers) {
    for (const entry of layer) {
      const eq = entry.indexOf("=");
      byName.set(eq < 0 ? entry : entry.slice(0, eq), entry);
    }
  }
  const merged = [...byName.values()];
  if (!byName.has("PATH")) merged.unshift(DEFAULT_PATH_ENV);
  return merged;
}

export function clampOomScoreAdj(value: number, host: HostLimits): number {
  return Math.min(1000, Math.max(value, host.minOomScoreAdj));
}

// ---- capabilities -----------------------------------------------------------------------

export interface CapabilityDecision {
  capabilities: LinuxCapabilities;
  /** What the process ends up holding (bounding = effective = permitted). */
  granted: ReadonlySet<string>;
  /** Asked for (by default, add or privileged) but outside the host's bounding set: left out. */
  droppedByHost: string[];
}

function inKernelOrder(names: Iterable<string>): string[] {
  const set = new Set(names);
  return CAPABILITY_NAMES.filter((c) => set.has(c));
}

function decide(wanted: Set<string>, ambient: Set<string>, host: HostLimits): CapabilityDecision {
  const granted = inKernelOrder([...wanted].filter((c) => host.boundingCapabilities.has(c)));
  const grantedSet = new Set(granted);
  // The kernel keeps a capability ambient only while it is also permitted and inheritable.
  const ambientGranted = inKernelOrder([...ambient].filter((c) => grantedSet.has(c)));
  return {
    capabilities: {
      bounding: granted,
      effective: granted,
      permitted: granted,
      inheritable: ambientGranted,
      ambient: ambientGranted,
    },
    granted: grantedSet,
    droppedByHost: inKernelOrder([...wanted].filter((c) => !host.boundingCapabilities.has(c))),
  };
}

function normalizedList(names: string[]): string[] {
  // Validation rejects unknown names; anything left unrecognized is ignored rather than guessed at.
  return names.map(normalizeCapabilityName).filter((n): n is string => n !== undefined);
}

/**
 * The capability sets of a container. "ALL" in add grants every capability and in drop
 * removes every one, before the individual adds and drops apply, so add [ALL] with drop
 * [CHOWN] means everything but CAP_CHOWN and drop [ALL] with add [NET_ADMIN] means only
 * CAP_NET_ADMIN. Ambient additions join every set. Callers log `droppedByHost`.
 */
export function containerCapabilities(
  securityContext: LinuxContainerSecurityContext | undefined,
  host: HostLimits,
): CapabilityDecision {
  if (securityContext?.privileged) return decide(new Set(CAPABILITY_NAMES), new Set(), host);
  const wanted = new Set(DEFAULT_CAPABILITIES);
  const ambient = new Set<string>();
  const caps = securityContext?.capabilities;
  if (caps) {
    const add = normalizedList(caps.addCapabilities);
    const drop = normalizedList(caps.dropCapabilities);
    const addAmbient = normalizedList(caps.addAmbientCapabilities);
    if (add.includes("ALL")) CAPABILITY_NAMES.forEach((c) => wanted.add(c));
    if (drop.includes("ALL")) wanted.clear();
    add.filter((c) => c !== "ALL").forEach((c) => wanted.add(c));
    drop.filter((c) => c !== "ALL").forEach((c) => wanted.delete(c));
    for (const c of addAmbient.includes("ALL") ? CAPABILITY_NAMES : addAmbient) {
      wanted.add(c);
      ambient.add(c);
    }
  }
  return decide(wanted, ambient, host);
}

/** The infra process gets the default set, trimmed to the host's. */
export function infraCapabilities(host: HostLimits): CapabilityDecision {
  return decide(new Set(DEFAULT_CAPABILITIES), new Set(), host);
}

// ---- mounts -----------------------------------------------------------------------------

function normalizeDestination(path: string): string {
  const normalized = posix.normalize(path);
  return normalized.length > 1 ? normalized.replace(/\/+$/, "") : normalized;
}

function defaultMounts(opts: { privileged: boolean; shmPath?: string }): Mount[] {
  const sysAccess = opts.privileged ? "rw" : "ro";
  const shm: Mount = opts.shmPath
    ? { destination: "/dev/shm", type: "bind", source: opts.shmPath, options: ["rbind", "rprivate", "rw"] }
    : {
        destination: "/dev/shm",
        type: "tmpfs",
        source: "shm",
        options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
      };
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    shm,
    {
      destination: "/sys",
      type: "sysfs",
      source: "sysfs",
      options: ["nosuid", "noexec", "nodev", sysAccess],
    },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", sysAccess],
    },
  ];
}

const PROPAGATION_OPTION: Record<MountPropagation, string | undefined> = {
  [MountPropagation.PROPAGATION_PRIVATE]: "rprivate",
  [MountPropagation.PROPAGATION_HOST_TO_CONTAINER]: "rslave",
  [MountPropagation.PROPAGATION_BIDIRECTIONAL]: "rshared",
  [MountPropagation.UNRECOGNIZED]: undefined,
};

async function criMount(m: CriMount, index: number, host: HostLimits): Promise<Mount> {
  const field = `config.mounts[${index}]`;
  let source: string;
  try {
    // The kernel follows symlinks when binding; resolving here shows the real source in the spec.
    source = await realpath(m.hostPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem =
      code === "ENOENT" ? "does not exist on the host" : `cannot be used (${code ?? String(err)})`;
    throw new InvalidArgumentError(`${field}.host_path`, `"${m.hostPath}" ${problem}`);
  }
  const propagation = PROPAGATION_OPTION[m.propagation];
  if (!propagation) throw new InvalidArgumentError(`${field}.propagation`, "unknown propagation");
  if (m.recursiveReadOnly) {
    const support = host.recursiveReadOnlyMounts;
    // A plain "ro" in its place would leave the sub-mounts writable: refuse instead.
    if (!support?.supported) {
      throw new InvalidArgumentError(
        `${field}.recursive_read_only`,
        `this host cannot make recursively read-only mounts: ${support?.reason || "not probed"}`,
      );
    }
  }
  // "rro" is applied after "ro" with mount_setattr(AT_RECURSIVE), covering every sub-mount.
  const access = m.readonly ? (m.recursiveReadOnly ? ["ro", "rro"] : ["ro"]) : ["rw"];
  return {
    destination: m.containerPath,
    type: "bind",
    source,
    options: ["rbind", propagation, ...access],
  };
}

/**
 * Default mounts, then the sandbox's /etc files, then the CRI mounts (a parent before its
 * children, otherwise in request order). A CRI mount replaces any default on the same path,
 * and a CRI mount of /dev replaces every default under /dev.
 */
async function containerMounts(
  config: ContainerConfig,
  sandbox: SandboxContext,
  privileged: boolean,
  readonlyRootfs: boolean,
  host: HostLimits,
): Promise<{ mounts: Mount[]; rootfsPropagation?: string }> {
  // One at a time, so that with several bad mounts the error names the first.
  const requested: Mount[] = [];
  for (const [i, m] of config.mounts.entries()) requested.push(await criMount(m, i, host));
  const requestedDestinations = new Set(requested.map((m) => normalizeDestination(m.destination)));
  const replaced = (destination: string): boolean => {
    const d = normalizeDestination(destination);
    return requestedDestinations.has(d) || (requestedDestinations.has("/dev") && d.startsWith("/dev/"));
  };

  const mounts = defaultMounts({ privileged, shmPath: sandbox.shmPath }).filter(
    (m) => !replaced(m.destination),
  );
  const sandboxFiles: [string, string][] = [
    ["/etc/hostname", sandbox.hostnamePath],
    ["/etc/hosts", sandbox.hostsPath],
    ["/etc/resolv.conf", sandbox.resolvConfPath],
  ];
  for (const [destination, source] of sandboxFiles) {
    if (source === "" || replaced(destination)) continue;
    mounts.push({
      destination,
      type: "bind",
      source,
      options: ["rbind", "rprivate", readonlyRootfs ? "ro" : "rw"],
    });
  }

  const depth = (m: Mount): number => normalizeDestination(m.destination).split("/").length;
  const ordered = requested.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m) - depth(b.m) || a.i - b.i);
  mounts.push(...ordered.map(({ m }) => m));

  let rootfsPropagation: string | undefined;
  // A shared or slave mount only propagates if the container's root mount does too.
  if (config.mounts.some((m) => m.propagation === MountPropagation.PROPAGATION_BIDIRECTIONAL)) {
    rootfsPropagation = "rshared";
  } else if (config.mounts.some((m) => m.propagation === MountPropagation.PROPAGATION_HOST_TO_CONTAINER)) {
    rootfsPropagation = "rslave";
  }
  return { mounts, rootfsPropagation };
}

// ---- devices ----------------------------------------------------------------------------

/** Devices every container may use: null, zero, full, random, urandom, tty, ptmx, pts. */
const STANDARD_DEVICE_RULES: readonly LinuxDeviceCgroup[] = [
  { allow: true, type: "c", major: 1, minor: 3, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 5, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 7, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 8, access: "rwm" },
  { allow: true, type: "c", major: 1, minor: 9, access: "rwm" },
  { allow: true, type: "c", major: 5, minor: 0, access: "rwm" },
  { allow: true, type: "c", major: 5, minor: 2, access: "rwm" },
  { allow: true, type: "c", major: 136, access: "rwm" },
];

function defaultDeviceRules(): LinuxDeviceCgroup[] {
  return [{ allow: false, access: "rwm" }, ...STANDARD_DEVICE_RULES.map((r) => ({ ...r }))];
}

/** Splits a Linux dev_t as glibc's major()/minor() do. */
function splitDevT(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

function deviceFromStat(info: BigIntStats, containerPath: string): LinuxDevice | undefined {
  const type = info.isCharacterDevice() ? "c" : info.isBlockDevice() ? "b" : undefined;
  if (!type) return undefined;
  return {
    path: containerPath,
    type,
    ...splitDevT(info.rdev),
    fileMode: Number(info.mode & 0o7777n),
    uid: Number(info.uid),
    gid: Number(info.gid),
  };
}

/** Directories of /dev that hold no device a container should inherit, or are its own mounts. */
const SKIPPED_DEV_ENTRIES = new Set([
  "pts",
  "shm",
  "fd",
  "mqueue",
  ".lxc",
  ".lxd-mounts",
  ".udev",
  "console",
]);

/** Every device node under `dir` (symlinks not followed), placed under `containerDir`. */
async function devicesUnder(
  dir: string,
  containerDir: string,
  skipNames: ReadonlySet<string>,
): Promise<LinuxDevice[]> {
  const found: LinuxDevice[] = [];
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    // Device directories change under udev; a vanished one has no devices to offer.
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return found;
    throw err;
  }
  for (const name of entries.sort()) {
    if (skipNames.has(name)) continue;
    const hostPath = join(dir, name);
    let info: BigIntStats;
    try {
      info = await lstat(hostPath, { bigint: true });
    } catch {
      continue;
    }
    if (info.isDirectory()) {
      found.push(...(await devicesUnder(hostPath, posix.join(containerDir, name), new Set())));
      continue;
    }
    const device = deviceFromStat(info, posix.join(containerDir, name));
    if (device) found.push(device);
  }
  return found;
}

async function criDevice(d: CriDevice, index: number): Promise<LinuxDevice[]> {
  const field = `config.devices[${index}].host_path`;
  let info: BigIntStats;
  try {
    info = await stat(d.hostPath, { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidArgumentError(
      field,
      `"${d.hostPath}" ${code === "ENOENT" ? "does not exist" : `cannot be used (${code})`}`,
    );
  }
  if (info.isDirectory()) return devicesUnder(d.hostPath, d.containerPath, new Set());
  const device = deviceFromStat(info, d.containerPath);
  if (!device) throw new InvalidArgumentError(field, `"${d.hostPath}" is not a character or block device`);
  return [device];
}

async function containerDevices(
  config: ContainerConfig,
  privileged: boolean,
  hostDevDir: string,
): Promise<{ devices: LinuxDevice[]; rules: LinuxDeviceCgroup[] }> {
  const byPath = new Map<string, LinuxDevice>();
  if (privileged) {
    for (const device of await devicesUnder(hostDevDir, "/dev", SKIPPED_DEV_ENTRIES))
      byPath.set(device.path, device);
  }
  const rules = privileged ? [{ allow: true, access: "rwm" }] : defaultDeviceRules();
  for (const [i, d] of config.devices.entries()) {
    const access = d.permissions === "" ? "rwm" : d.permissions;
    for (const device of await criDevice(d, i)) {
      byPath.set(device.path, device);
      if (!privileged) {
        rules.push({
          allow: true,
          type: device.type as "c" | "b",
          major: device.major,
          minor: device.minor,
          access,
        });
      }
    }
  }
  return { devices: [...byPath.values()], rules };
}

// ---- namespaces -------------------------------------------------------------------------

function sandboxNamespaceModes(config: PodSandboxConfig): { hostIpc: boolean; hostPid: boolean } {
  const ns = config.linux?.securityContext?.namespaceOptions;
  return { hostIpc: ns?.ipc === NamespaceMode.NODE, hostPid: ns?.pid === NamespaceMode.NODE };
}

function containerNamespaces(
  config: ContainerConfig,
  sandbox: SandboxContext,
  targetPid: number | undefined,
): LinuxNamespace[] {
  const infraNs = (name: string): string => `/proc/${sandbox.infraPid}/ns/${name}`;
  const namespaces: LinuxNamespace[] = [{ type: "mount" }];
  if (sandbox.netnsPath !== undefined) namespaces.push({ type: "network", path: sandbox.netnsPath });
  if (!sandboxNamespaceModes(sandbox.config).hostIpc) namespaces.push({ type: "ipc", path: infraNs("ipc") });
  if (sandbox.netnsPath !== undefined) namespaces.push({ type: "uts", path: infraNs("uts") });

  const pidMode = config.linux?.securityContext?.namespaceOptions?.pid ?? NamespaceMode.POD;
  switch (pidMode) {
    case NamespaceMode.POD:
      namespaces.push({ type: "pid", path: infraNs("pid") });
      break;
    case NamespaceMode.CONTAINER:
      namespaces.push({ type: "pid" });
      break;
    case NamespaceMode.NODE:
      break;
    case NamespaceMode.TARGET:
      if (targetPid === undefined) {
        throw new InvalidArgumentError(
          `${SECURITY_CONTEXT_FIELD}.namespace_options.target_id`,
          "the target container is not running",
        );
      }
      namespaces.push({ type: "pid", path: `/proc/${targetPid}/ns/pid` });
      break;
    default:
      throw new InvalidArgumentError(
        `${SECURITY_CONTEXT_FIELD}.namespace_options.pid`,
        "unknown namespace mode",
      );
  }
  namespaces.push({ type: "cgroup" });
  if (sandboxUserNamespace(sandbox.config)) namespaces.push({ type: "user", path: infraNs("user") });
  return namespaces;
}

function sandboxUserNamespace(config: PodSandboxConfig): PodUserNamespace | undefined {
  return podUserNamespace(
    config.linux?.securityContext?.namespaceOptions,
    `${SECURITY_CONTEXT_FIELD}.namespace_options`,
  );
}

/**
 * The pod's user namespace for a container: the one the container asks for must be the
 * pod's (all containers share the infra process's). runc wants the mappings even when it
 * joins the namespace by path.
 */
function containerUserNamespace(
  config: ContainerConfig,
  sandboxConfig: PodSandboxConfig,
): PodUserNamespace | undefined {
  const pod = sandboxUserNamespace(sandboxConfig);
  const field = `${SECURITY_CONTEXT_FIELD}.namespace_options`;
  const ns = config.linux?.securityContext?.namespaceOptions;
  if (ns?.usernsOptions && !sameUserNamespace(pod, podUserNamespace(ns, field))) {
    throw new InvalidArgumentError(
      `${field}.userns_options`,
      "differs from the pod sandbox's user namespace: a container shares its pod's",
    );
  }
  if (pod && ns?.pid === NamespaceMode.NODE) {
    throw new InvalidArgumentError(
      `${field}.pid`,
      "a container in a pod with its own user namespace cannot use the host's PID namespace",
    );
  }
  return pod;
}

// ---- resources --------------------------------------------------------------------------

/**
 * CRI resources -> OCI linux.resources (without device rules); zero and empty mean unset.
 * Also what UpdateContainerResources hands to `runc update`. Throws InvalidArgumentError,
 * naming the field under `fieldPrefix`, for a quantity a JSON number cannot carry exactly.
 */
export function ociResources(
  res: LinuxContainerResources | undefined,
  fieldPrefix = "config.linux.resources",
): LinuxResources {
  const out: LinuxResources = {};
  if (!res) return out;
  const num = (value: bigint, name: string): number => int64ToNumber(value, `${fieldPrefix}.${name}`);
  const cpu: NonNullable<LinuxResources["cpu"]> = {};
  if (res.cpuShares !== 0n) cpu.shares = num(res.cpuShares, "cpu_shares");
  if (res.cpuQuota !== 0n) cpu.quota = num(res.cpuQuota, "cpu_quota");
  if (res.cpuPeriod !== 0n) cpu.period = num(res.cpuPeriod, "cpu_period");
  if (res.cpusetCpus !== "") cpu.cpus = res.cpusetCpus;
  if (res.cpusetMems !== "") cpu.mems = res.cpusetMems;
  if (Object.keys(cpu).length > 0) out.cpu = cpu;
  const memory: NonNullable<LinuxResources["memory"]> = {};
  if (res.memoryLimitInBytes !== 0n) memory.limit = num(res.memoryLimitInBytes, "memory_limit_in_bytes");
  if (res.memorySwapLimitInBytes !== 0n) {
    memory.swap = num(res.memorySwapLimitInBytes, "memory_swap_limit_in_bytes");
  }
  if (Object.keys(memory).length > 0) out.memory = memory;
  if (res.hugepageLimits.length > 0) {
    out.hugepageLimits = res.hugepageLimits.map((h, i) => ({
      pageSize: h.pageSize,
      limit: num(h.limit, `hugepage_limits[${i}].limit`),
    }));
  }
  if (Object.keys(res.unified).length > 0) out.unified = { ...res.unified };
  return out;
}

function sandboxSysctls(config: PodSandboxConfig): Record<string, string> | undefined {
  const entries = Object.entries(config.linux?.sysctls ?? {});
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map(([name, value]) => [normalizeSysctlName(name), value]));
}

function sandboxAnnotations(sandboxId: string, config: PodSandboxConfig): Record<string, string> {
  return {
    [ANNOTATION.sandboxId]: sandboxId,
    [ANNOTATION.sandboxName]: config.metadata?.name ?? "",
    [ANNOTATION.sandboxNamespace]: config.metadata?.namespace ?? "",
    [ANNOTATION.sandboxUid]: config.metadata?.uid ?? "",
  };
}

// ---- user ids ----------------------------------------------------------------------------

// Ids arrive as int64; the range check proper (0 .. 2^32-2) is the validator's and the user
// resolver's job, this only keeps a huge value from being rounded into a plausible one.
function optionalId(value: bigint | undefined, name: string): number | undefined {
  return value === undefined ? undefined : int64ToNumber(value, `${SECURITY_CONTEXT_FIELD}.${name}`);
}

function supplementalGroupIds(groups: bigint[] | undefined): number[] | undefined {
  return groups?.map((g, i) => int64ToNumber(g, `${SECURITY_CONTEXT_FIELD}.supplemental_groups[${i}]`));
}

// ---- container spec ---------------------------------------------------------------------

/**
 * The config.json of a container. Capabilities the host cannot grant are left out; get
 * their names with `containerCapabilities(config.linux?.securityContext, host).droppedByHost`
 * to log them. Throws InvalidArgumentError (naming the CRI field) for anything the host
 * cannot satisfy: a missing mount source or device, an unknown user, an absent seccomp file.
 */
export async function buildContainerSpec(input: ContainerSpecInput): Promise<Spec> {
  const { config, sandbox, image, host } = input;
  const sc = config.linux?.securityContext;
  const privileged = sc?.privileged ?? false;
  if (privileged && !sandbox.config.linux?.securityContext?.privileged) {
    throw new InvalidArgumentError(
      `${SECURITY_CONTEXT_FIELD}.privileged`,
      "the pod sandbox is not privileged",
    );
  }
  const readonlyRootfs = sc?.readonlyRootfs ?? false;

  const user = await resolveUser(input.rootfsPath, {
    user: image.user,
    runAsUser: optionalId(sc?.runAsUser?.value, "run_as_user"),
    runAsUsername: sc?.runAsUsername || undefined,
    runAsGroup: optionalId(sc?.runAsGroup?.value, "run_as_group"),
    supplementalGroups: supplementalGroupIds(sc?.supplementalGroups),
    strictSupplementalGroups: sc?.supplementalGroupsPolicy === SupplementalGroupsPolicy.Strict,
  });
  const caps = containerCapabilities(sc, host);
  const hostNetwork = sandbox.netnsPath === undefined;
  const podHostname = sandbox.config.hostname || (hostNetwork ? (input.nodeHostname ?? osHostname()) : "");
  const env = mergeEnv(
    podHostname ? [`HOSTNAME=${podHostname}`] : [],
    image.env ?? [],
    config.envs.map((e) => `${e.key}=${e.value}`),
  );

  const { mounts, rootfsPropagation } = await containerMounts(
    config,
    sandbox,
    privileged,
    readonlyRootfs,
    host,
  );
  const { devices, rules } = await containerDevices(config, privileged, input.hostDevDir ?? "/dev");
  const seccomp = input.prepared ? input.prepared.seccomp : await containerSeccomp(config, host, input.arch);

  const resources = config.linux?.resources;
  const workingDir = config.workingDir || image.workingDir || "/";
  const process: Process = {
    terminal: config.tty,
    user: { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids },
    args: mergeArgs(config, image),
    env,
    // An image may carry a relative WorkingDir; the runtime spec wants an absolute cwd.
    cwd: posix.join("/", workingDir),
    capabilities: caps.capabilities,
    noNewPrivileges: (sc?.noNewPrivs ?? false) || (input.defaultNoNewPrivileges && !privileged),
  };
  // Always set: otherwise the container inherits conmon's score, which is the agent's
  // (berth's unit protects itself with -999, which no container should share).
  const requestedOomScoreAdj = resources
    ? int64ToNumber(resources.oomScoreAdj, "config.linux.resources.oom_score_adj")
    : 0;
  process.oomScoreAdj = clampOomScoreAdj(requestedOomScoreAdj, host);
  const linux: Linux = {
    cgroupsPath: input.cgroupsPath,
    namespaces: containerNamespaces(config, sandbox, input.targetPid),
    resources: { devices: rules, ...ociResources(resources) },
    devices,
  };
  const userns = containerUserNamespace(config, sandbox.config);
  if (userns) {
    linux.uidMappings = userns.uidMappings.map((m) => ({ ...m }));
    linux.gidMappings = userns.gidMappings.map((m) => ({ ...m }));
  }
  if (rootfsPropagation) linux.rootfsPropagation = rootfsPropagation;
  if (!privileged) {
    linux.maskedPaths = sc?.maskedPaths.length ? [...sc.maskedPaths] : [...DEFAULT_MASKED_PATHS];
    linux.readonlyPaths = sc?.readonlyPaths.length ? [...sc.readonlyPaths] : [...DEFAULT_READONLY_PATHS];
  }
  if (seccomp) linux.seccomp = seccomp;
  const sysctl = sandboxSysctls(sandbox.config);
  if (sysctl) linux.sysctl = sysctl;
  return {
    ociVersion: OCI_VERSION,
    process,
    root: { path: input.rootfsPath, readonly: readonlyRootfs },
    mounts,
    annotations: {
      ...config.annotations,
      ...sandboxAnnotations(sandbox.id, sandbox.config),
      [ANNOTATION.containerType]: "container",
      [ANNOTATION.containerName]: config.metadata?.name ?? "",
      [ANNOTATION.imageName]: config.image?.image ?? "",
    },
    linux,
  };
}

/**
 * A container's seccomp filter. It reads a Localhost profile's file, so the container
 * manager calls it before it makes anything and hands the result to buildContainerSpec.
 */
export function containerSeccomp(
  config: ContainerConfig,
  host: HostLimits,
  arch?: string,
): Promise<LinuxSeccomp | undefined> {
  const sc = config.linux?.securityContext;
  return seccompFor(chooseSeccomp(sc?.seccomp, sc?.seccompProfilePath ?? "", SECURITY_CONTEXT_FIELD), {
    capabilities: containerCapabilities(sc, host).granted,
    privileged: sc?.privileged ?? false,
    arch,
  });
}

// ---- infra spec -------------------------------------------------------------------------

/**
 * The seccomp filter of a sandbox's infra process. It reads a Localhost profile's file, so
 * the sandbox calls it before it makes anything: a bad profile then leaves nothing behind.
 */
export function infraSeccomp(
  config: PodSandboxConfig,
  host: HostLimits,
  arch?: string,
): Promise<LinuxSeccomp | undefined> {
  const sc = config.linux?.securityContext;
  return seccompFor(chooseSeccomp(sc?.seccomp, sc?.seccompProfilePath ?? "", SECURITY_CONTEXT_FIELD), {
    capabilities: infraCapabilities(host).granted,
    privileged: sc?.privileged ?? false,
    arch,
  });
}

/**
 * The config.json of a sandbox's infra process: it holds the pod's namespaces and does
 * nothing else, so it runs with the least it needs and a read-only root.
 */
export function buildInfraSpec(input: InfraSpecInput): Spec {
  const { config, host } = input;
  const sc = config.linux?.securityContext;
  const { hostIpc, hostPid } = sandboxNamespaceModes(config);
  const hostNetwork = input.netnsPath === undefined;
  const caps = infraCapabilities(host);

  const namespaces: LinuxNamespace[] = [{ type: "mount" }];
  if (!hostNetwork) namespaces.push({ type: "network", path: input.netnsPath });
  if (!hostIpc) namespaces.push({ type: "ipc" });
  if (!hostNetwork) namespaces.push({ type: "uts" });
  if (!hostPid) namespaces.push({ type: "pid" });
  namespaces.push({ type: "cgroup" });
  const userns = sandboxUserNamespace(config);
  if (userns) {
    requireUserNamespaceSupport(config, host.userNamespaces);
    // The user namespace that owns the pod's network namespace (runc joins it first).
    namespaces.push(input.usernsPath ? { type: "user", path: input.usernsPath } : { type: "user" });
  }

  const uid = optionalId(sc?.runAsUser?.value, "run_as_user") ?? 0;
  const gid = optionalId(sc?.runAsGroup?.value, "run_as_group") ?? 0;
  const seccomp = input.seccomp;

  const linux: Linux = {
    cgroupsPath: input.cgroupsPath,
    namespaces,
    resources: { devices: defaultDeviceRules() },
    maskedPaths: [...DEFAULT_MASKED_PATHS],
    readonlyPaths: [...DEFAULT_READONLY_PATHS],
  };
  if (userns) {
    linux.uidMappings = userns.uidMappings.map((m) => ({ ...m }));
    linux.gidMappings = userns.gidMappings.map((m) => ({ ...m }));
  }
  if (seccomp) linux.seccomp = seccomp;
  const sysctl = sandboxSysctls(config);
  if (sysctl) linux.sysctl = sysctl;
  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: {
        uid,
        gid,
        additionalGids: [...new Set([gid, ...(supplementalGroupIds(sc?.supplementalGroups) ?? [])])],
      },
      args: [...input.args],
      env: [DEFAULT_PATH_ENV],
      cwd: "/",
      capabilities: caps.capabilities,
      noNewPrivileges: true,
      oomScoreAdj: clampOomScoreAdj(INFRA_OOM_SCORE_ADJ, host),
    },
    root: { path: input.rootfsPath, readonly: true },
    mounts: defaultMounts({ privileged: false }),
    annotations: {
      ...config.annotations,
      ...sandboxAnnotations(input.sandboxId, config),
      [ANNOTATION.containerType]: "sandbox",
      [ANNOTATION.sandboxLogDirectory]: config.logDirectory,
    },
    linux,
  };
  if (!hostNetwork && config.hostname) spec.hostname = config.hostname;
  return spec;
}
