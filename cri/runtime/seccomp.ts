// Seccomp filters for containers and sandboxes. berth's RuntimeDefault allows every
// syscall except a short list no ordinary workload needs and that reaches past the
// container's namespaces (kernel modules, clocks, mounts, tracing, keyrings...). A
// syscall is let through again when the container holds the capability that guards it in
// the kernel, so granting CAP_SYS_ADMIN is enough to mount without also switching the
// profile off. Localhost profiles are read from the node, in OCI or Docker JSON format.
import { isAbsolute } from "node:path";
import { echo, InvalidArgumentError } from "../../common/errors.js";
import { readRegularFile, UnusableFileError } from "../../common/regular-file.js";
import { type SecurityProfile, SecurityProfile_ProfileType } from "../api/generated/api.js";
import {
  type LinuxSeccomp,
  type LinuxSeccompArg,
  type LinuxSyscall,
  type SeccompAction,
  type SeccompArchitecture,
  SECCOMP_ACTIONS,
  SECCOMP_ARCHITECTURES,
  SECCOMP_OPERATORS,
} from "./oci-types.js";

const EPERM = 1;
const ENOSYS = 38;

interface DenyGroup {
  names: string[];
  /** Any one of these capabilities lets the syscalls through; none listed: always denied. */
  unlessAnyOf: string[];
}

const DENY_GROUPS: readonly DenyGroup[] = [
  // Loading a new kernel replaces the host's, whatever namespace the caller is in.
  { names: ["kexec_load", "kexec_file_load"], unlessAnyOf: [] },
  {
    names: [
      "init_module",
      "finit_module",
      "delete_module",
      "create_module",
      "get_kernel_syms",
      "query_module",
    ],
    unlessAnyOf: ["CAP_SYS_MODULE"],
  },
  { names: ["reboot"], unlessAnyOf: ["CAP_SYS_BOOT"] },
  { names: ["acct"], unlessAnyOf: ["CAP_SYS_PACCT"] },
  { names: ["settimeofday", "clock_settime", "clock_adjtime", "adjtimex"], unlessAnyOf: ["CAP_SYS_TIME"] },
  { names: ["open_by_handle_at"], unlessAnyOf: ["CAP_DAC_READ_SEARCH"] },
  { names: ["name_to_handle_at"], unlessAnyOf: ["CAP_SYS_ADMIN", "CAP_DAC_READ_SEARCH"] },
  { names: ["iopl", "ioperm"], unlessAnyOf: ["CAP_SYS_RAWIO"] },
  { names: ["swapon", "swapoff", "quotactl", "lookup_dcookie"], unlessAnyOf: ["CAP_SYS_ADMIN"] },
  // Both the classic and the file-descriptor mount API, so one cannot stand in for the other.
  {
    names: [
      "mount",
      "umount",
      "umount2",
      "pivot_root",
      "unshare",
      "setns",
      "fsopen",
      "fsconfig",
      "fsmount",
      "fspick",
      "move_mount",
      "open_tree",
      "mount_setattr",
    ],
    unlessAnyOf: ["CAP_SYS_ADMIN"],
  },
  { names: ["bpf"], unlessAnyOf: ["CAP_SYS_ADMIN", "CAP_BPF"] },
  { names: ["perf_event_open"], unlessAnyOf: ["CAP_SYS_ADMIN", "CAP_PERFMON"] },
  {
    names: ["ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "userfaultfd"],
    unlessAnyOf: ["CAP_SYS_PTRACE"],
  },
  { names: ["syslog"], unlessAnyOf: ["CAP_SYSLOG", "CAP_SYS_ADMIN"] },
  // The kernel keyring is not namespaced; the rest are obsolete or 32-bit-only relics.
  {
    names: ["keyctl", "add_key", "request_key", "uselib", "nfsservctl", "vm86", "vm86old", "_sysctl"],
    unlessAnyOf: [],
  },
];

/** clone() flags that create namespaces: the same power as unshare(). */
const CLONE_NAMESPACE_FLAGS = [
  0x00020000, // CLONE_NEWNS
  0x02000000, // CLONE_NEWCGROUP
  0x04000000, // CLONE_NEWUTS
  0x08000000, // CLONE_NEWIPC
  0x10000000, // CLONE_NEWUSER
  0x20000000, // CLONE_NEWPID
  0x40000000, // CLONE_NEWNET
];

/** personality(2) bits a container may set: PER_LINUX32 (bit 3) and UNAME26 (bit 17). */
const PERSONALITY_ALLOWED_BITS = new Set([3, 17]);

/**
 * Rules denying personality(x) unless x is 0, 0x8, 0x20000, 0x20008 or the query value
 * 0xffffffff. Each rule is one condition, so the rules OR together: x above 32 bits, or
 * somewhere in x a disallowed set bit directly followed (cyclically) by a clear bit. Any x
 * with a disallowed bit that is not all ones has such a place: walk up from the disallowed
 * bit to the last set bit before a clear one. When that last set bit is an allowed one
 * (3 or 17), the bit below it is set too and is disallowed, which the three-bit rules catch.
 */
function personalityRules(): LinuxSyscall[] {
  const bit = (n: number): number => 2 ** (((n % 32) + 32) % 32);
  const conditions: LinuxSeccompArg[] = [{ index: 0, value: 0xffffffff, op: "SCMP_CMP_GT" }];
  for (let n = 0; n < 32; n++) {
    if (PERSONALITY_ALLOWED_BITS.has(n)) {
      conditions.push({
        index: 0,
        value: bit(n - 1) + bit(n) + bit(n + 1),
        valueTwo: bit(n - 1) + bit(n),
        op: "SCMP_CMP_MASKED_EQ",
      });
    } else {
      conditions.push({ index: 0, value: bit(n) + bit(n + 1), valueTwo: bit(n), op: "SCMP_CMP_MASKED_EQ" });
    }
  }
  return conditions.map((condition) => ({
    names: ["personality"],
    action: "SCMP_ACT_ERRNO",
    errnoRet: EPERM,
    args: [condition],
  }));
}

function nativeArchitectures(arch: string): SeccompArchitecture[] | undefined {
  switch (arch) {
    case "x64":
      return ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
    case "arm64":
      return ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"];
    default:
      return undefined;
  }
}

/** berth's RuntimeDefault profile for a process holding `capabilities` (CAP_ names). */
export function defaultSeccompProfile(
  capabilities: ReadonlySet<string>,
  arch: string = process.arch,
): LinuxSeccomp {
  const granted = (anyOf: string[]): boolean => anyOf.some((c) => capabilities.has(c));
  const denied = DENY_GROUPS.filter((g) => !granted(g.unlessAnyOf)).flatMap((g) => g.names);
  const syscalls: LinuxSyscall[] = [{ names: denied, action: "SCMP_ACT_ERRNO", errnoRet: EPERM }];
  if (!capabilities.has("CAP_SYS_ADMIN")) {
    for (const flag of CLONE_NAMESPACE_FLAGS) {
      syscalls.push({
        names: ["clone"],
        action: "SCMP_ACT_ERRNO",
        errnoRet: EPERM,
        args: [{ index: 0, value: flag, valueTwo: flag, op: "SCMP_CMP_MASKED_EQ" }],
      });
    }
    // clone3 passes its flags in memory, out of seccomp's sight; ENOSYS makes libc fall
    // back to clone(), whose flags the rules above can see.
    syscalls.push({ names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS });
  }
  syscalls.push(...personalityRules());
  const profile: LinuxSeccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls };
  const architectures = nativeArchitectures(arch);
  if (architectures) profile.architectures = architectures;
  return profile;
}

export type SeccompChoice =
  { kind: "unconfined" } | { kind: "runtime-default" } | { kind: "localhost"; path: string; field: string };

/**
 * Reads the CRI choice: the `seccomp` message when present, else the deprecated
 * `seccomp_profile_path` ("runtime/default", "docker/default", "unconfined",
 * "localhost/<path>"). `securityContextField` is e.g. "config.linux.security_context".
 */
export function chooseSeccomp(
  profile: SecurityProfile | undefined,
  legacyPath: string,
  securityContextField: string,
): SeccompChoice {
  if (profile) {
    const field = `${securityContextField}.seccomp.localhost_ref`;
    switch (profile.profileType) {
      case SecurityProfile_ProfileType.Unconfined:
        return { kind: "unconfined" };
      case SecurityProfile_ProfileType.RuntimeDefault:
        return { kind: "runtime-default" };
      case SecurityProfile_ProfileType.Localhost:
        if (!isAbsolute(profile.localhostRef)) {
          throw new InvalidArgumentError(field, `"${profile.localhostRef}" is not an absolute path`);
        }
        return { kind: "localhost", path: profile.localhostRef, field };
      default:
        throw new InvalidArgumentError(
          `${securityContextField}.seccomp.profile_type`,
          "unknown profile type",
        );
    }
  }
  const field = `${securityContextField}.seccomp_profile_path`;
  if (legacyPath === "" || legacyPath === "unconfined") return { kind: "unconfined" };
  if (legacyPath === "runtime/default" || legacyPath === "docker/default") return { kind: "runtime-default" };
  if (legacyPath.startsWith("localhost/")) {
    const path = legacyPath.slice("localhost/".length);
    if (!isAbsolute(path))
      throw new InvalidArgumentError(field, `"${echo(legacyPath)}" does not name an absolute path`);
    return { kind: "localhost", path, field };
  }
  throw new InvalidArgumentError(field, `unknown profile "${echo(legacyPath)}"`);
}

export interface SeccompContext {
  /** Capabilities the process will hold, for the default profile and Docker "includes". */
  capabilities: ReadonlySet<string>;
  privileged: boolean;
  arch?: string;
}

/** A Localhost profile larger than this is refused: real ones are tens of kilobytes. */
export const MAX_SECCOMP_PROFILE_BYTES = 1024 * 1024;

/**
 * The filter for `choice`, or undefined for none. Reads a Localhost profile's file, which
 * must be a regular file of at most MAX_SECCOMP_PROFILE_BYTES.
 */
export async function seccompFor(
  choice: SeccompChoice,
  ctx: SeccompContext,
): Promise<LinuxSeccomp | undefined> {
  if (choice.kind !== "localhost" || ctx.privileged) return seccompWithoutFile(choice, ctx);
  let text: string;
  try {
    text = (await readRegularFile(choice.path, MAX_SECCOMP_PROFILE_BYTES)).toString("utf8");
  } catch (err) {
    throw profileReadError(choice, err);
  }
  return parseSeccompProfile(text, choice.field, ctx);
}

function seccompWithoutFile(choice: SeccompChoice, ctx: SeccompContext): LinuxSeccomp | undefined {
  // Privileged means no filter, whatever profile was named (as Kubernetes documents it).
  if (ctx.privileged || choice.kind === "unconfined") return undefined;
  return defaultSeccompProfile(ctx.capabilities, ctx.arch);
}

function profileReadError(choice: { path: string; field: string }, err: unknown): InvalidArgumentError {
  const problem = err instanceof UnusableFileError ? err.problem : "cannot be read";
  return new InvalidArgumentError(choice.field, `seccomp profile ${echo(choice.path)} ${problem}`);
}

/** Where JSON.parse stopped, without the text around it (which may be any file's secrets). */
function jsonErrorPosition(err: unknown): string {
  const position = /position (\d+)/.exec((err as Error).message)?.[1];
  return position === undefined ? "" : ` at byte ${position}`;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringList(value: Json | undefined): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.every((v) => typeof v === "string") ? (value as string[]) : undefined;
}

const GO_ARCH: Record<string, string> = { x64: "amd64", arm64: "arm64", ia32: "386", arm: "arm" };

/**
 * Parses a Localhost profile. OCI format ("architectures", "syscalls[].names") is taken as
 * is; Docker format ("archMap", "syscalls[].name", "includes"/"excludes" by capability and
 * architecture) is reduced to the rules that apply to this host and these capabilities.
 */
export function parseSeccompProfile(text: string, field: string, ctx: SeccompContext): LinuxSeccomp {
  const fail = (problem: string): InvalidArgumentError =>
    new InvalidArgumentError(field, `seccomp profile: ${problem}`);
  let doc: Json;
  try {
    doc = JSON.parse(text) as Json;
  } catch (err) {
    throw fail(`not valid JSON${jsonErrorPosition(err)}`);
  }
  if (!isObject(doc)) throw fail("not a JSON object");
  const arch = ctx.arch ?? process.arch;
  const goArch = GO_ARCH[arch] ?? arch;

  const action = (value: Json | undefined, where: string): SeccompAction => {
    if (typeof value === "string" && (SECCOMP_ACTIONS as readonly string[]).includes(value)) {
      return value as SeccompAction;
    }
    throw fail(`${where}: unsupported action ${echo(JSON.stringify(value) ?? "")}`);
  };

  const profile: LinuxSeccomp = { defaultAction: action(doc.defaultAction, "defaultAction") };
  if (typeof doc.defaultErrnoRet === "number") profile.defaultErrnoRet = doc.defaultErrnoRet;
  const flags = stringList(doc.flags);
  if (flags) profile.flags = flags;

  const architectures = stringList(doc.architectures) ?? archesFromArchMap(doc.archMap, goArch);
  if (architectures) {
    const unknown = architectures.find((a) => !(SECCOMP_ARCHITECTURES as readonly string[]).includes(a));
    if (unknown) throw fail(`unknown architecture ${echo(unknown)}`);
    profile.architectures = architectures as SeccompArchitecture[];
  }

  const rawSyscalls = doc.syscalls ?? [];
  if (!Array.isArray(rawSyscalls)) throw fail("syscalls is not a list");
  const syscalls: LinuxSyscall[] = [];
  rawSyscalls.forEach((raw, i) => {
    const where = `syscalls[${i}]`;
    if (!isObject(raw)) throw fail(`${where} is not an object`);
    if (!appliesHere(raw.includes, raw.excludes, ctx.capabilities, goArch)) return;
    const names = stringList(raw.names) ?? (typeof raw.name === "string" ? [raw.name] : undefined);
    if (!names || names.length === 0) throw fail(`${where} names no syscall`);
    const rule: LinuxSyscall = { names, action: action(raw.action, where) };
    if (typeof raw.errnoRet === "number") rule.errnoRet = raw.errnoRet;
    if (raw.args !== undefined && raw.args !== null) rule.args = parseArgs(raw.args, `${where}.args`, fail);
    syscalls.push(rule);
  });
  if (syscalls.length > 0) profile.syscalls = syscalls;
  return profile;
}

function archesFromArchMap(archMap: Json | undefined, goArch: string): string[] | undefined {
  if (!Array.isArray(archMap)) return undefined;
  const native = GO_ARCH_TO_SCMP[goArch];
  if (native === undefined) return undefined;
  for (const entry of archMap) {
    if (isObject(entry) && entry.architecture === native) {
      return [native, ...(stringList(entry.subArchitectures) ?? [])];
    }
  }
  return undefined;
}

const GO_ARCH_TO_SCMP: Record<string, string> = {
  amd64: "SCMP_ARCH_X86_64",
  arm64: "SCMP_ARCH_AARCH64",
  "386": "SCMP_ARCH_X86",
  arm: "SCMP_ARCH_ARM",
};

function appliesHere(
  includes: Json | undefined,
  excludes: Json | undefined,
  capabilities: ReadonlySet<string>,
  goArch: string,
): boolean {
  if (isObject(includes)) {
    const caps = stringList(includes.caps) ?? [];
    const arches = stringList(includes.arches) ?? [];
    if (caps.length > 0 && !caps.some((c) => capabilities.has(c))) return false;
    if (arches.length > 0 && !arches.includes(goArch)) return false;
  }
  if (isObject(excludes)) {
    const caps = stringList(excludes.caps) ?? [];
    const arches = stringList(excludes.arches) ?? [];
    if (caps.some((c) => capabilities.has(c))) return false;
    if (arches.includes(goArch)) return false;
  }
  return true;
}

function parseArgs(
  raw: Json,
  where: string,
  fail: (problem: string) => InvalidArgumentError,
): LinuxSeccompArg[] {
  if (!Array.isArray(raw)) throw fail(`${where} is not a list`);
  return raw.map((arg, i) => {
    if (!isObject(arg)) throw fail(`${where}[${i}] is not an object`);
    const { index, value, valueTwo, op } = arg;
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index > 5) {
      throw fail(`${where}[${i}].index must be 0-5`);
    }
    if (typeof value !== "number") throw fail(`${where}[${i}].value must be a number`);
    if (typeof op !== "string" || !(SECCOMP_OPERATORS as readonly string[]).includes(op)) {
      throw fail(`${where}[${i}].op ${echo(JSON.stringify(op) ?? "")} is not a seccomp operator`);
    }
    const parsed: LinuxSeccompArg = { index, value, op: op as LinuxSeccompArg["op"] };
    if (typeof valueTwo === "number") parsed.valueTwo = valueTwo;
    return parsed;
  });
}
