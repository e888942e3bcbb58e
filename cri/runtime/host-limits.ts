// What the host lets berth hand to a container. runc fails outright when asked for a
// capability outside its own bounding set, and the kernel refuses an oom_score_adj below
// the floor of an unprivileged writer; the spec builder trims requests to these limits
// instead of letting container creation fail on them.
import { readFile } from "node:fs/promises";
import type { FeatureSupport } from "./runtime-features.js";
import { InvalidArgumentError } from "../../common/errors.js";

/** Linux capability names by bit number (capability.h). */
export const CAPABILITY_NAMES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

const KNOWN_CAPABILITIES = new Set(CAPABILITY_NAMES);

export interface HostLimits {
  /** Capabilities berth itself may pass on, e.g. "CAP_CHOWN". */
  boundingCapabilities: ReadonlySet<string>;
  /** The lowest oom_score_adj berth can give a process it starts. */
  minOomScoreAdj: number;
  /** Whether runc and the kernel make bind mounts read-only with their sub-mounts; unknown means no. */
  recursiveReadOnlyMounts?: FeatureSupport;
  /** Whether pods may have their own user namespace; unknown means no. */
  userNamespaces?: FeatureSupport;
}

/**
 * "chown", "CHOWN", "cap_chown" -> "CAP_CHOWN"; "all" -> "ALL"; undefined for a name the
 * kernel does not have, so callers can report it against the field it came from.
 */
export function normalizeCapabilityName(name: string): string | undefined {
  const upper = name.trim().toUpperCase();
  if (upper === "ALL") return "ALL";
  const full = upper.startsWith("CAP_") ? upper : `CAP_${upper}`;
  return KNOWN_CAPABILITIES.has(full) ? full : undefined;
}

/** Decodes a capability mask as /proc/<pid>/status prints it (hex, bit n = capability n). */
export function capabilitiesFromMask(hexMask: string): Set<string> {
  const mask = BigInt(`0x${hexMask.trim()}`);
  const names = new Set<string>();
  CAPABILITY_NAMES.forEach((name, bit) => {
    if ((mask >> BigInt(bit)) & 1n) names.add(name);
  });
  return names;
}

function statusField(status: string, field: string, path: string): string {
  const match = new RegExp(`^${field}:\\s*([0-9a-fA-F]+)\\s*$`, "m").exec(status);
  if (!match?.[1]) throw new Error(`${path}: no ${field} line`);
  return match[1];
}

export async function readHostLimits(
  procSelfStatus = "/proc/self/status",
  oomScoreAdjPath = "/proc/self/oom_score_adj",
): Promise<HostLimits> {
  const [status, oomText] = await Promise.all([
    readFile(procSelfStatus, "utf8"),
    readFile(oomScoreAdjPath, "utf8"),
  ]);
  const boundingCapabilities = capabilitiesFromMask(statusField(status, "CapBnd", procSelfStatus));
  const effective = capabilitiesFromMask(statusField(status, "CapEff", procSelfStatus));
  const ownOomScoreAdj = Number.parseInt(oomText.trim(), 10);
  if (!Number.isInteger(ownOomScoreAdj)) throw new Error(`${oomScoreAdjPath}: not an integer`);
  // Without CAP_SYS_RESOURCE the kernel refuses values below the floor a privileged
  // ancestor set; that floor is not visible, but berth's own value is never below it.
  const minOomScoreAdj = effective.has("CAP_SYS_RESOURCE") ? -1000 : ownOomScoreAdj;
  return { boundingCapabilities, minOomScoreAdj };
}

// ---- cpusets ----------------------------------------------------------------------------

type Range = readonly [number, number];

/** "0-3,5" -> [[0,3],[5,5]]; assumes a list isValidCpuset accepted. */
function cpuListRanges(text: string): Range[] {
  if (text.trim() === "") return [];
  return text
    .trim()
    .split(",")
    .map((part) => {
      const [first, last] = part.split("-");
      return [Number(first), Number(last ?? first)] as const;
    });
}

/** Touching or overlapping ranges joined, so a request spanning two of them is seen as covered. */
function mergedRanges(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [from, to] of sorted) {
    const last = merged.at(-1);
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return merged;
}

/** The first requested range that is not inside `available`, or undefined when all are. */
export function missingFromCpuList(requested: string, available: string): Range | undefined {
  const have = mergedRanges(cpuListRanges(available));
  return cpuListRanges(requested).find(([from, to]) => !have.some(([a, b]) => from >= a && to <= b));
}

/**
 * Refuses cpuset CPUs or memory nodes the host does not have online (the kernel would
 * refuse them when runc writes the cgroup), naming the field.
 */
export async function checkCpusetsOnHost(
  resources: { cpusetCpus: string; cpusetMems: string },
  fieldPrefix: string,
  sysDir = "/sys/devices/system",
): Promise<void> {
  const lists = [
    ["cpuset_cpus", resources.cpusetCpus, "cpu/online", "CPUs"],
    ["cpuset_mems", resources.cpusetMems, "node/online", "memory nodes"],
  ] as const;
  for (const [field, requested, file, what] of lists) {
    if (requested.trim() === "") continue;
    const online = await readFile(`${sysDir}/${file}`, "utf8").catch(() => undefined);
    // Without the file (no NUMA support for nodes) there is nothing to check against.
    if (online === undefined) continue;
    const missing = missingFromCpuList(requested, online);
    if (missing) {
      const [from, to] = missing;
      throw new InvalidArgumentError(
        `${fieldPrefix}.${field}`,
        `${from === to ? from : `${from}-${to}`} is not among the host's online ${what} (${online.trim()})`,
      );
    }
  }
}
