// Every check of a sandbox or container config that needs nothing but the config itself,
// run before anything is created so that a bad request leaves nothing behind. Errors name
// the CRI field as the proto spells it (snake_case), e.g. config.mounts[2].host_path.
// Checks that need the host (does a host path exist, is the seccomp file there) happen
// when the spec is built, still before anything is created.
import { isIP } from "node:net";
import { posix } from "node:path";
import { echo, InvalidArgumentError } from "../../common/errors.js";
import {
  type ContainerConfig,
  type LinuxContainerResources,
  type LinuxContainerSecurityContext,
  type LinuxSandboxSecurityContext,
  MountPropagation,
  NamespaceMode,
  type NamespaceOption,
  type PodSandboxConfig,
  Protocol,
  SecurityProfile_ProfileType,
  type SecurityProfile,
} from "../api/generated/api.js";
import { normalizeCapabilityName } from "./host-limits.js";
import { checkPathLength } from "../../common/path-limits.js";
import { checkContainerConfigSize, checkPodSandboxConfigSize } from "./config-limits.js";
import { checkLogDirectoryPath } from "./log-directory.js";
import { podUserNamespace } from "./userns.js";

const MAX_ID = 0xfffffffen;
/** The smallest memory limit a container can start under (the figure Docker and runc users know). */
export const MIN_MEMORY_LIMIT_BYTES = 6 * 1024 * 1024;
const MAX_HOSTNAME_LENGTH = 64; // HOST_NAME_MAX

function invalid(field: string, problem: string): InvalidArgumentError {
  return new InvalidArgumentError(field, problem);
}

// ---- sysctls ----------------------------------------------------------------------------

/** "kernel/shm_rmid_forced" (slash form: dots are literal) -> "kernel.shm_rmid_forced". */
export function normalizeSysctlName(name: string): string {
  const firstSeparator = name.search(/[./]/);
  if (firstSeparator < 0 || name[firstSeparator] === ".") return name;
  return name.replace(/[./]/g, (c) => (c === "/" ? "." : "/"));
}

/**
 * The namespace a sysctl belongs to, or undefined when it is node-wide (and so must never
 * be set from a pod).
 */
export function sysctlNamespace(name: string): "ipc" | "net" | undefined {
  const normalized = normalizeSysctlName(name);
  if (normalized.startsWith("kernel.shm")) return "ipc";
  if (["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem"].includes(normalized)) return "ipc";
  if (normalized.startsWith("fs.mqueue.")) return "ipc";
  if (normalized.startsWith("net.")) return "net";
  return undefined;
}

const SYSCTL_NAME = /^[A-Za-z0-9_]+([./][A-Za-z0-9_@:-]+)*$/;

export function validateSysctls(
  sysctls: { [key: string]: string },
  opts: { hostNetwork: boolean; hostIpc: boolean },
  fieldPrefix = "config.linux.sysctls",
): void {
  for (const [name, value] of Object.entries(sysctls)) {
    const field = `${fieldPrefix}[${JSON.stringify(name)}]`;
    if (!SYSCTL_NAME.test(name)) throw invalid(field, "not a sysctl name");
    if (value.includes("\0")) throw invalid(field, "value contains a NUL byte");
    const ns = sysctlNamespace(name);
    if (ns === undefined) throw invalid(field, "not a namespaced sysctl; it would change the whole node");
    if (ns === "net" && opts.hostNetwork)
      throw invalid(field, "net.* sysctls cannot be set with host networking");
    if (ns === "ipc" && opts.hostIpc) throw invalid(field, "IPC sysctls cannot be set with host IPC");
  }
}

// ---- resources --------------------------------------------------------------------------

/** True for a kernel cpu list such as "0-3,5" (also used for memory nodes). */
export function isValidCpuset(text: string): boolean {
  if (text === "") return true;
  return text.split(",").every((part) => {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) return false;
    return match[2] === undefined || Number(match[1]) <= Number(match[2]);
  });
}

// CRI quantities are int64 but travel to runc as JSON numbers, which are exact only up to
// 2^53 - 1; a value beyond that is refused rather than silently rounded.
const MAX_EXACT_INTEGER = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * An int64 of a CRI message as a number for the OCI spec. Throws InvalidArgumentError
 * naming `field` when the value would not survive the conversion exactly.
 */
export function int64ToNumber(value: bigint, field: string): number {
  if (value > MAX_EXACT_INTEGER || value < -MAX_EXACT_INTEGER) {
    throw invalid(
      field,
      `${value} is beyond the largest value berth can pass on exactly (${MAX_EXACT_INTEGER})`,
    );
  }
  return Number(value);
}

function checkNonNegative(value: bigint, field: string): void {
  if (value < 0n) throw invalid(field, `${value} must not be negative`);
  int64ToNumber(value, field);
}

function checkWithin(value: bigint, min: bigint, max: bigint, field: string, problem: string): void {
  if (value < min || value > max) throw invalid(field, `${value} ${problem}`);
}

export function validateLinuxResources(res: LinuxContainerResources, fieldPrefix: string): void {
  const f = (name: string): string => `${fieldPrefix}.${name}`;
  checkNonNegative(res.cpuPeriod, f("cpu_period"));
  if (res.cpuPeriod !== 0n) {
    checkWithin(res.cpuPeriod, 1000n, 1_000_000n, f("cpu_period"), "is outside [1000, 1000000] microseconds");
  }
  // -1 is the kernel's own word for "no quota", which an update may use to lift a limit.
  if (res.cpuQuota !== -1n) checkNonNegative(res.cpuQuota, f("cpu_quota"));
  if (res.cpuQuota > 0n && res.cpuQuota < 1000n) {
    throw invalid(f("cpu_quota"), `${res.cpuQuota} is below the kernel minimum of 1000 microseconds`);
  }
  checkNonNegative(res.cpuShares, f("cpu_shares"));
  if (res.cpuShares !== 0n)
    checkWithin(res.cpuShares, 2n, 262144n, f("cpu_shares"), "is outside [2, 262144]");
  checkNonNegative(res.memoryLimitInBytes, f("memory_limit_in_bytes"));
  if (res.memoryLimitInBytes > 0n && res.memoryLimitInBytes < BigInt(MIN_MEMORY_LIMIT_BYTES)) {
    throw invalid(
      f("memory_limit_in_bytes"),
      `${res.memoryLimitInBytes} is below the minimum of ${MIN_MEMORY_LIMIT_BYTES} bytes (6 MiB)`,
    );
  }
  checkNonNegative(res.memorySwapLimitInBytes, f("memory_swap_limit_in_bytes"));
  if (
    res.memorySwapLimitInBytes > 0n &&
    res.memoryLimitInBytes > 0n &&
    res.memorySwapLimitInBytes < res.memoryLimitInBytes
  ) {
    throw invalid(
      f("memory_swap_limit_in_bytes"),
      "counts memory plus swap, so it cannot be below memory_limit_in_bytes",
    );
  }
  checkWithin(res.oomScoreAdj, -1000n, 1000n, f("oom_score_adj"), "is outside [-1000, 1000]");
  if (!isValidCpuset(res.cpusetCpus))
    throw invalid(f("cpuset_cpus"), `"${res.cpusetCpus}" is not a cpu list like "0-3,5"`);
  if (!isValidCpuset(res.cpusetMems))
    throw invalid(f("cpuset_mems"), `"${res.cpusetMems}" is not a node list like "0-1"`);
  res.hugepageLimits.forEach((limit, i) => {
    if (!/^[1-9]\d*(KB|MB|GB|TB|PB)$/.test(limit.pageSize)) {
      throw invalid(
        f(`hugepage_limits[${i}].page_size`),
        `"${limit.pageSize}" is not a size like "2MB" or "1GB"`,
      );
    }
    checkNonNegative(limit.limit, f(`hugepage_limits[${i}].limit`));
  });
  for (const [key, value] of Object.entries(res.unified)) {
    const field = f(`unified[${JSON.stringify(key)}]`);
    if (!/^[a-z][a-z0-9_]*\.[A-Za-z0-9_.-]+$/.test(key) || key.includes("..")) {
      throw invalid(field, "not a cgroup file name like memory.high");
    }
    // cgroup.* files move processes or change the tree itself, not a limit.
    if (key.startsWith("cgroup.")) throw invalid(field, "cgroup core files cannot be set");
    if (value.includes("\0")) throw invalid(field, "value contains a NUL byte");
  }
}

// ---- shared pieces ----------------------------------------------------------------------

function checkId(value: bigint, field: string): void {
  if (value < 0n || value > MAX_ID) throw invalid(field, `${value} is not a valid id`);
}

/** Names end up in log paths and annotations: no path separators or control characters. */
function checkName(value: string, field: string): void {
  if (value === "") throw invalid(field, "must not be empty");
  if (value.length > 253) throw invalid(field, "longer than 253 characters");
  // eslint-disable-next-line no-control-regex
  if (/[/\u0000-\u001f\u007f]/.test(value))
    throw invalid(field, "must not contain '/' or control characters");
}

function checkAbsolute(value: string, field: string): void {
  if (!value.startsWith("/")) throw invalid(field, `"${value}" is not an absolute path`);
  if (value.includes("\0")) throw invalid(field, "contains a NUL byte");
}

/** Absolute and without ".." components, so it cannot climb out of the container's root. */
function checkContainerPath(value: string, field: string): void {
  checkAbsolute(value, field);
  if (value.split("/").includes("..")) throw invalid(field, `"${value}" must not contain ".."`);
}

function checkSecurityProfile(
  profile: SecurityProfile | undefined,
  field: string,
  kind: "seccomp" | "apparmor",
): void {
  if (!profile) return;
  switch (profile.profileType) {
    case SecurityProfile_ProfileType.RuntimeDefault:
    case SecurityProfile_ProfileType.Unconfined:
      return;
    case SecurityProfile_ProfileType.Localhost:
      if (kind === "apparmor")
        throw invalid(`${field}.localhost_ref`, "AppArmor profiles are not supported by berth");
      checkAbsolute(profile.localhostRef, `${field}.localhost_ref`);
      return;
    default:
      throw invalid(`${field}.profile_type`, "unknown profile type");
  }
}

function checkLegacySeccompPath(path: string, field: string): void {
  if (path === "" || path === "unconfined" || path === "runtime/default" || path === "docker/default") return;
  if (path.startsWith("localhost/")) {
    checkAbsolute(path.slice("localhost/".length), field);
    return;
  }
  throw invalid(field, `unknown profile "${path}"`);
}

function checkNamespaceMode(mode: NamespaceMode, allowed: NamespaceMode[], field: string): void {
  if (!allowed.includes(mode))
    throw invalid(field, `mode ${NamespaceMode[mode] ?? mode} is not allowed here`);
}

function checkNamespaceOptions(ns: NamespaceOption | undefined, field: string, forSandbox: boolean): void {
  if (!ns) return;
  const { POD, CONTAINER, NODE, TARGET } = NamespaceMode;
  checkNamespaceMode(ns.network, [POD, NODE], `${field}.network`);
  checkNamespaceMode(ns.ipc, [POD, NODE], `${field}.ipc`);
  checkNamespaceMode(
    ns.pid,
    forSandbox ? [POD, CONTAINER, NODE] : [POD, CONTAINER, NODE, TARGET],
    `${field}.pid`,
  );
  if (ns.pid === TARGET && ns.targetId === "")
    throw invalid(`${field}.target_id`, "required when pid is TARGET");
  podUserNamespace(ns, field);
}

function checkUserFields(
  sc: LinuxSandboxSecurityContext | LinuxContainerSecurityContext,
  field: string,
  runAsUsername: string,
): void {
  if (sc.runAsUser) checkId(sc.runAsUser.value, `${field}.run_as_user`);
  if (sc.runAsUser && runAsUsername !== "") {
    throw invalid(`${field}.run_as_username`, "cannot be set together with run_as_user");
  }
  if (sc.runAsGroup) {
    checkId(sc.runAsGroup.value, `${field}.run_as_group`);
    if (!sc.runAsUser && runAsUsername === "") {
      throw invalid(`${field}.run_as_group`, "requires run_as_user or run_as_username");
    }
  }
  sc.supplementalGroups.forEach((g, i) => checkId(g, `${field}.supplemental_groups[${i}]`));
}

function checkLabelsAndAnnotations(config: PodSandboxConfig | ContainerConfig): void {
  for (const key of Object.keys(config.labels)) {
    if (key === "") throw invalid("config.labels", "keys must not be empty");
  }
  for (const key of Object.keys(config.annotations)) {
    if (key === "") throw invalid("config.annotations", "keys must not be empty");
  }
}

// ---- sandbox ----------------------------------------------------------------------------

export function validatePodSandboxConfig(config: PodSandboxConfig | undefined): PodSandboxConfig {
  if (!config) throw invalid("config", "required");
  const md = config.metadata;
  if (!md) throw invalid("config.metadata", "required");
  checkName(md.name, "config.metadata.name");
  checkName(md.namespace, "config.metadata.namespace");
  checkName(md.uid, "config.metadata.uid");
  checkLabelsAndAnnotations(config);
  checkPodSandboxConfigSize(config);

  if (config.hostname.length > MAX_HOSTNAME_LENGTH) {
    throw invalid("config.hostname", `longer than ${MAX_HOSTNAME_LENGTH} characters`);
  }
  if (!/^[A-Za-z0-9.-]*$/.test(config.hostname)) {
    throw invalid("config.hostname", `"${config.hostname}" is not a host name`);
  }
  if (config.logDirectory !== "") checkLogDirectoryPath(config.logDirectory, "config.log_directory");
  config.dnsConfig?.servers.forEach((server, i) => {
    if (isIP(server) === 0)
      throw invalid(`config.dns_config.servers[${i}]`, `"${server}" is not an IP address`);
  });
  config.portMappings.forEach((pm, i) => {
    const field = `config.port_mappings[${i}]`;
    if (![Protocol.TCP, Protocol.UDP, Protocol.SCTP].includes(pm.protocol)) {
      throw invalid(`${field}.protocol`, "unknown protocol");
    }
    if (!Number.isInteger(pm.containerPort) || pm.containerPort < 1 || pm.containerPort > 65535) {
      throw invalid(`${field}.container_port`, `${pm.containerPort} is not a port`);
    }
    if (!Number.isInteger(pm.hostPort) || pm.hostPort < 0 || pm.hostPort > 65535) {
      throw invalid(`${field}.host_port`, `${pm.hostPort} is not a port`);
    }
    if (pm.hostIp !== "" && isIP(pm.hostIp) === 0) {
      throw invalid(`${field}.host_ip`, `"${pm.hostIp}" is not an IP address`);
    }
  });

  const linux = config.linux;
  if (linux) {
    const sc = linux.securityContext;
    if (sc) {
      const field = "config.linux.security_context";
      checkNamespaceOptions(sc.namespaceOptions, `${field}.namespace_options`, true);
      checkUserFields(sc, field, "");
      checkSecurityProfile(sc.seccomp, `${field}.seccomp`, "seccomp");
      checkSecurityProfile(sc.apparmor, `${field}.apparmor`, "apparmor");
      if (!sc.seccomp) checkLegacySeccompPath(sc.seccompProfilePath, `${field}.seccomp_profile_path`);
    }
    const ns = sc?.namespaceOptions;
    validateSysctls(linux.sysctls, {
      hostNetwork: ns?.network === NamespaceMode.NODE,
      hostIpc: ns?.ipc === NamespaceMode.NODE,
    });
    if (linux.resources) validateLinuxResources(linux.resources, "config.linux.resources");
    if (linux.overhead) validateLinuxResources(linux.overhead, "config.linux.overhead");
  }
  return config;
}

// ---- container --------------------------------------------------------------------------

/** The files inside /proc runc lets a bind mount replace (what lxcfs provides); nothing else there. */
const PROC_MOUNT_TARGETS = new Set([
  "/proc/cpuinfo",
  "/proc/diskstats",
  "/proc/meminfo",
  "/proc/stat",
  "/proc/swaps",
  "/proc/uptime",
  "/proc/loadavg",
  "/proc/slabinfo",
  "/proc/net/dev",
  "/proc/sys/kernel/ns_last_pid",
]);

/**
 * A container's log file, relative to the pod's log directory: it must name a file inside
 * that directory, never the directory itself or anything outside it.
 */
export function checkLogPath(path: string, field: string): void {
  const shown = `"${echo(path)}"`;
  if (path.includes("\0")) throw invalid(field, "contains a NUL byte");
  checkPathLength(path, field);
  if (path.startsWith("/")) throw invalid(field, `${shown} must be relative to the pod's log directory`);
  if (path.endsWith("/")) throw invalid(field, `${shown} names a directory, not a log file`);
  const normalized = posix.normalize(path);
  if (normalized === "." || normalized.endsWith("/.") || path.endsWith("/.") || path === "..") {
    throw invalid(field, `${shown} names a directory, not a log file`);
  }
  if (normalized === ".." || normalized.startsWith("../") || path.split("/").includes("..")) {
    throw invalid(field, `${shown} must stay inside the pod's log directory (no "..")`);
  }
}

function validateContainerSecurityContext(sc: LinuxContainerSecurityContext): void {
  const field = "config.linux.security_context";
  checkUserFields(sc, field, sc.runAsUsername);
  if (sc.runAsUsername !== "" && sc.runAsUsername.includes(":")) {
    throw invalid(`${field}.run_as_username`, "must be a user name, without a group");
  }
  const caps = sc.capabilities;
  if (caps) {
    const lists = {
      add_capabilities: caps.addCapabilities,
      drop_capabilities: caps.dropCapabilities,
      add_ambient_capabilities: caps.addAmbientCapabilities,
    };
    for (const [list, names] of Object.entries(lists)) {
      names.forEach((name, i) => {
        if (normalizeCapabilityName(name) === undefined) {
          throw invalid(`${field}.capabilities.${list}[${i}]`, `"${name}" is not a Linux capability`);
        }
      });
    }
  }
  checkNamespaceOptions(sc.namespaceOptions, `${field}.namespace_options`, false);
  sc.maskedPaths.forEach((p, i) => checkContainerPath(p, `${field}.masked_paths[${i}]`));
  sc.readonlyPaths.forEach((p, i) => checkContainerPath(p, `${field}.readonly_paths[${i}]`));
  checkSecurityProfile(sc.seccomp, `${field}.seccomp`, "seccomp");
  checkSecurityProfile(sc.apparmor, `${field}.apparmor`, "apparmor");
  if (!sc.seccomp) checkLegacySeccompPath(sc.seccompProfilePath, `${field}.seccomp_profile_path`);
  if (!sc.apparmor && sc.apparmorProfile.startsWith("localhost/")) {
    throw invalid(`${field}.apparmor_profile`, "AppArmor profiles are not supported by berth");
  }
}

export function validateContainerConfig(config: ContainerConfig | undefined): ContainerConfig {
  if (!config) throw invalid("config", "required");
  if (!config.metadata) throw invalid("config.metadata", "required");
  checkName(config.metadata.name, "config.metadata.name");
  if (!config.image || config.image.image === "") throw invalid("config.image.image", "required");
  checkLabelsAndAnnotations(config);
  checkContainerConfigSize(config);
  // The executable, when the config names it (the image's entrypoint is the image's business).
  if (config.command[0] !== undefined) checkPathLength(config.command[0], "config.command[0]");
  if (config.workingDir !== "") checkAbsolute(config.workingDir, "config.working_dir");

  config.envs.forEach((env, i) => {
    if (env.key === "") throw invalid(`config.envs[${i}].key`, "must not be empty");
    if (env.key.includes("=")) throw invalid(`config.envs[${i}].key`, `"${env.key}" must not contain '='`);
    if (env.key.includes("\0") || env.value.includes("\0"))
      throw invalid(`config.envs[${i}]`, "contains a NUL byte");
  });

  const seenDestinations = new Map<string, number>();
  config.mounts.forEach((m, i) => {
    const field = `config.mounts[${i}]`;
    checkContainerPath(m.containerPath, `${field}.container_path`);
    const destination = m.containerPath.replace(/\/+$/, "") || "/";
    if (destination === "/")
      throw invalid(`${field}.container_path`, "cannot mount over the container's root");
    if (
      (destination === "/proc" || destination.startsWith("/proc/")) &&
      !PROC_MOUNT_TARGETS.has(destination)
    ) {
      throw invalid(
        `${field}.container_path`,
        `"${echo(m.containerPath)}" is /proc or inside it, where only files such as /proc/meminfo can be replaced`,
      );
    }
    const earlier = seenDestinations.get(destination);
    if (earlier !== undefined) {
      throw invalid(
        `${field}.container_path`,
        `"${m.containerPath}" is already the target of mounts[${earlier}]`,
      );
    }
    seenDestinations.set(destination, i);
    if (m.image) throw invalid(`${field}.image`, "image volumes are not supported by berth");
    if (m.hostPath === "") throw invalid(`${field}.host_path`, "required");
    checkAbsolute(m.hostPath, `${field}.host_path`);
    if (
      ![
        MountPropagation.PROPAGATION_PRIVATE,
        MountPropagation.PROPAGATION_HOST_TO_CONTAINER,
        MountPropagation.PROPAGATION_BIDIRECTIONAL,
      ].includes(m.propagation)
    ) {
      throw invalid(`${field}.propagation`, "unknown propagation");
    }
    if (m.uidMappings.length > 0 || m.gidMappings.length > 0) {
      throw invalid(`${field}.uidMappings`, "ID-mapped mounts are not supported by berth");
    }
    if (m.recursiveReadOnly) {
      if (!m.readonly) throw invalid(`${field}.recursive_read_only`, "requires readonly");
      if (m.propagation !== MountPropagation.PROPAGATION_PRIVATE) {
        throw invalid(`${field}.recursive_read_only`, "requires PROPAGATION_PRIVATE");
      }
      // Whether this host can make one is checked when the spec is built.
    }
  });

  config.devices.forEach((d, i) => {
    const field = `config.devices[${i}]`;
    checkContainerPath(d.containerPath, `${field}.container_path`);
    checkAbsolute(d.hostPath, `${field}.host_path`);
    if (!/^[rwm]*$/.test(d.permissions)) {
      throw invalid(`${field}.permissions`, `"${d.permissions}" may only contain r, w and m`);
    }
  });
  if (config.CDIDevices.length > 0)
    throw invalid("config.CDI_devices", "CDI devices are not supported by berth");

  if (config.logPath !== "") checkLogPath(config.logPath, "config.log_path");

  const linux = config.linux;
  if (linux?.resources) validateLinuxResources(linux.resources, "config.linux.resources");
  if (linux?.securityContext) validateContainerSecurityContext(linux.securityContext);
  return config;
}
