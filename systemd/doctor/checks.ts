// The checks of `berth doctor`. Each reads the host through a HostProbe and returns one line
// of verdict (OK, WARN or FAIL), what it saw, and for a problem the fix an operator can
// apply. FAIL: berth cannot work as designed; WARN: it works, with a known cost.
import { join } from "node:path";
import { detectLayout, type CgroupLayout } from "../../cgroups/detect.js";
import type { AgentConfig } from "../../agent/config.js";
import { UNIT_NAME } from "../unit.js";
import type { CommandOutput, HostProbe } from "./host.js";

export type CheckStatus = "OK" | "WARN" | "FAIL";

export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** How to fix it; present for WARN and FAIL. */
  readonly fix?: string;
}

export interface DoctorInputs {
  readonly probe: HostProbe;
  readonly config: AgentConfig;
  /** Why the config file could not be used (the checks then run on the defaults). */
  readonly configProblem?: string;
  readonly configPath: string;
  /** The config file exists (false: the defaults are in force). */
  readonly configFound?: boolean;
  /** The agent socket to try. */
  readonly socket: string;
  /** Asks the agent at `socket` for its version (CRI Version RPC); rejects when it cannot. */
  agentVersion(socket: string): Promise<string>;
  /** Where cgroups are mounted (default /sys/fs/cgroup). */
  readonly cgroupMount?: string;
}

export type Check = (inputs: DoctorInputs) => Promise<CheckResult>;

/** The controllers pods' limits need: cpu.max/weight, memory.max, pids.max, io.max/weight. */
export const REQUIRED_CONTROLLERS: readonly string[] = ["cpu", "memory", "pids", "io"];
/** The plugins berth's default network runs. */
export const REQUIRED_CNI_PLUGINS: readonly string[] = ["bridge", "host-local", "portmap"];

const ok = (name: string, detail: string): CheckResult => ({ name, status: "OK", detail });
const warn = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  status: "WARN",
  detail,
  fix,
});
const fail = (name: string, detail: string, fix: string): CheckResult => ({
  name,
  status: "FAIL",
  detail,
  fix,
});

const words = (text: string): string[] => text.split(/\s+/).filter((word) => word !== "");
const firstLine = (text: string): string => text.trim().split("\n")[0]?.trim() ?? "";

const BOOT_V2_FIX =
  "boot with the pure cgroup v2 hierarchy: add `systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all` " +
  "to the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub) and reboot";

export const configCheck: Check = async ({ configProblem, configPath, configFound }) => {
  if (configProblem !== undefined) {
    return fail(
      "config",
      configProblem,
      `correct ${configPath}; until then the checks below use the defaults`,
    );
  }
  return ok("config", configFound === false ? `no ${configPath}: the defaults are in force` : configPath);
};

async function readLayout({ probe, cgroupMount }: DoctorInputs): Promise<CgroupLayout | string> {
  const [mountinfo, procCgroup] = await Promise.all([
    probe.readFile("/proc/self/mountinfo"),
    probe.readFile("/proc/self/cgroup"),
  ]);
  if (mountinfo === undefined || procCgroup === undefined) return "cannot read /proc/self/mountinfo";
  try {
    return detectLayout({ mountinfo, procCgroup, root: cgroupMount ?? "/sys/fs/cgroup" });
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Resource controllers of a v1 layout, without named hierarchies (name=systemd). */
function v1Controllers(layout: CgroupLayout): string[] {
  return Object.keys(layout.v1Mounts)
    .filter((controller) => !controller.startsWith("name="))
    .sort();
}

export const cgroupV2Check: Check = async (inputs) => {
  const name = "cgroup v2";
  const mount = inputs.cgroupMount ?? "/sys/fs/cgroup";
  const layout = await readLayout(inputs);
  if (typeof layout === "string") return fail(name, layout, BOOT_V2_FIX);
  if (layout.mode === "unified") return ok(name, `cgroup2 mounted at ${mount}`);

  const controllers = v1Controllers(layout);
  const where =
    layout.mode === "hybrid"
      ? `hybrid hierarchy: cgroup v1 controllers ${controllers.join(", ")} are mounted under ${mount}; ` +
        `cgroup2 is only at ${join(mount, layout.unifiedDir ?? "")}, without controllers`
      : `legacy hierarchy: only cgroup v1 (${controllers.join(", ")}) is mounted under ${mount}`;
  const cmdline = (await inputs.probe.readFile("/proc/cmdline")) ?? "";
  const blockers = words(cmdline).filter((word) =>
    /^(systemd\.unified_cgroup_hierarchy=(0|no|false)|systemd\.legacy_systemd_cgroup_controller(=.*)?)$/.test(
      word,
    ),
  );
  let fix = BOOT_V2_FIX;
  if (blockers.length > 0) fix += `; remove ${blockers.join(" ")} from it`;
  if (
    (await inputs.probe.stat("/.dockerenv")) !== undefined ||
    (await inputs.probe.stat("/run/.containerenv"))
  ) {
    fix += " (this is a container: the machine that runs it must boot that way, and give it a cgroup2 mount)";
  }
  return fail(name, `${where}; berth puts pod limits in cgroup v2 only`, fix);
};

export const controllersCheck: Check = async (inputs) => {
  const name = "cgroup controllers";
  const mount = inputs.cgroupMount ?? "/sys/fs/cgroup";
  const layout = await readLayout(inputs);
  if (typeof layout === "string") return fail(name, layout, BOOT_V2_FIX);
  if (layout.mode !== "unified") {
    return fail(
      name,
      `${REQUIRED_CONTROLLERS.join(", ")} are bound to cgroup v1 hierarchies; the cgroup2 tree offers none of them`,
      BOOT_V2_FIX,
    );
  }
  const available = words((await inputs.probe.readFile(join(mount, "cgroup.controllers"))) ?? "");
  const missing = REQUIRED_CONTROLLERS.filter((controller) => !available.includes(controller));
  if (missing.length > 0) {
    return fail(
      name,
      `the kernel offers no ${missing.join(", ")} controller (available: ${available.join(" ") || "none"})`,
      "use a kernel with CONFIG_MEMCG, CONFIG_CGROUP_SCHED, CONFIG_CGROUP_PIDS and CONFIG_BLK_CGROUP, " +
        "and do not disable them on the command line (cgroup_disable=)",
    );
  }
  // Running as the service: the unit's cgroup must offer them too (Delegate=yes).
  const own = layout.ownV2;
  if (own !== undefined && own.includes(UNIT_NAME)) {
    const unitDir = join(mount, own.slice(0, own.indexOf(UNIT_NAME) + UNIT_NAME.length));
    const delegated = words((await inputs.probe.readFile(join(unitDir, "cgroup.controllers"))) ?? "");
    const notDelegated = REQUIRED_CONTROLLERS.filter((controller) => !delegated.includes(controller));
    if (notDelegated.length > 0) {
      return fail(
        name,
        `${notDelegated.join(", ")} not delegated to ${unitDir}`,
        `set Delegate=yes in ${UNIT_NAME} (berth install writes it), then systemctl daemon-reload && systemctl restart berth`,
      );
    }
    return ok(name, `${REQUIRED_CONTROLLERS.join(", ")} available and delegated to ${unitDir}`);
  }
  return ok(name, `${REQUIRED_CONTROLLERS.join(", ")} available at ${mount}`);
};

async function versionOf(
  probe: HostProbe,
  binary: string,
  args: readonly string[] = ["--version"],
): Promise<CommandOutput | undefined> {
  if (!(await probe.isExecutable(binary))) return undefined;
  return probe.run(binary, args);
}

function binaryCheck(name: string, pick: (config: AgentConfig) => string, install: string): Check {
  return async ({ probe, config, configPath }) => {
    const binary = pick(config);
    const output = await versionOf(probe, binary);
    if (output === undefined) {
      return fail(name, `${binary} is missing`, `${install} (or set its path in ${configPath})`);
    }
    if (output.exitCode !== 0) {
      return fail(
        name,
        `${binary} --version failed (exit ${output.exitCode}): ${firstLine(output.stderr)}`,
        `reinstall it: ${install}`,
      );
    }
    return ok(name, `${firstLine(output.stdout)} (${binary})`);
  };
}

export const runcCheck = binaryCheck("runc", (config) => config.runcBinary, "apt-get install runc");
export const conmonCheck = binaryCheck("conmon", (config) => config.conmonBinary, "apt-get install conmon");

export const cniCheck: Check = async ({ probe, config, configPath }) => {
  const name = "CNI plugins";
  if (!config.cni.enabled) return ok(name, `pod networking disabled in ${configPath}`);
  const found = new Map<string, string>();
  for (const plugin of REQUIRED_CNI_PLUGINS) {
    for (const dir of config.cni.pluginDirs) {
      if (await probe.isExecutable(join(dir, plugin))) {
        found.set(plugin, join(dir, plugin));
        break;
      }
    }
  }
  const missing = REQUIRED_CNI_PLUGINS.filter((plugin) => !found.has(plugin));
  if (missing.length > 0) {
    return fail(
      name,
      `${missing.join(", ")} not found in ${config.cni.pluginDirs.join(", ")}`,
      "apt-get install containernetworking-plugins (installs into /usr/lib/cni)",
    );
  }
  // Run without CNI_COMMAND, a plugin prints its name and version ("CNI bridge plugin v1.4.0").
  const bridge = found.get("bridge") ?? "";
  const about = firstLine((await probe.run(bridge, []))?.stdout ?? "");
  const version = /plugin (?:version )?(\S+)/.exec(about)?.[1] ?? "unknown";
  return ok(
    name,
    `${REQUIRED_CNI_PLUGINS.join(", ")} in ${dirsOf([...found.values()])} (version ${version})`,
  );
};

function dirsOf(paths: string[]): string {
  return [...new Set(paths.map((path) => path.slice(0, path.lastIndexOf("/"))))].join(", ");
}

export const overlayCheck: Check = async ({ probe }) => {
  const name = "overlayfs";
  const filesystems = (await probe.readFile("/proc/filesystems")) ?? "";
  const supported = filesystems.split("\n").some((line) => words(line).at(-1) === "overlay");
  if (supported) return ok(name, "overlay listed in /proc/filesystems");
  return warn(
    name,
    "overlay is not in /proc/filesystems (the module may load on first mount, or be missing)",
    "modprobe overlay, and add overlay to /etc/modules-load.d/berth.conf",
  );
};

export const psiCheck: Check = async ({ probe }) => {
  const name = "PSI";
  const resources = ["cpu", "memory", "io"];
  const texts = await Promise.all(resources.map((r) => probe.readFile(`/proc/pressure/${r}`)));
  const missing = resources.filter((_r, i) => texts[i] === undefined);
  if (missing.length === 0) return ok(name, "/proc/pressure/cpu, memory and io readable");
  return warn(
    name,
    `no pressure stall information for ${missing.join(", ")}: pod pressure metrics are empty`,
    "boot with psi=1 (kernels built with CONFIG_PSI_DEFAULT_DISABLED need it)",
  );
};

export const userNamespacesCheck: Check = async ({ probe }) => {
  const name = "user namespaces";
  const text = await probe.readFile("/proc/sys/user/max_user_namespaces");
  if (text === undefined) {
    return warn(name, "/proc/sys/user/max_user_namespaces is missing", "use a kernel with CONFIG_USER_NS");
  }
  const max = Number(text.trim());
  if (!Number.isFinite(max) || max <= 0) {
    return warn(
      name,
      `user.max_user_namespaces is ${text.trim()}: pods with hostUsers: false cannot start`,
      "sysctl -w user.max_user_namespaces=65536 (and persist it in /etc/sysctl.d/)",
    );
  }
  return ok(name, `user.max_user_namespaces = ${max}`);
};

export const swapCheck: Check = async ({ probe }) => {
  const name = "swap";
  const text = await probe.readFile("/proc/swaps");
  if (text === undefined) return ok(name, "no /proc/swaps (kernel without swap)");
  const devices = text
    .split("\n")
    .slice(1)
    .map((line) => words(line)[0])
    .filter((device): device is string => device !== undefined);
  if (devices.length === 0) return ok(name, "off");
  return warn(
    name,
    `on (${devices.join(", ")}): containers may swap instead of being held to memory.max, and eviction sees less pressure`,
    "swapoff -a and remove the swap entries from /etc/fstab",
  );
};

export const systemdCheck: Check = async ({ probe }) => {
  const name = "systemd";
  if ((await probe.stat("/run/systemd/system")) === undefined) {
    return warn(
      name,
      "systemd is not PID 1: berth install cannot manage the service",
      "run `berth agent` under this host's init system (it restarts nothing by itself)",
    );
  }
  const state = await probe.run("systemctl", ["is-active", UNIT_NAME]);
  const active = state?.stdout.trim() ?? "unknown";
  if (active === "active") return ok(name, `PID 1; ${UNIT_NAME} active`);
  const enabled = (await probe.run("systemctl", ["is-enabled", UNIT_NAME]))?.stdout.trim() ?? "";
  if (enabled === "" || enabled === "not-found") {
    return warn(name, `PID 1; ${UNIT_NAME} is not installed`, "berth install");
  }
  return warn(
    name,
    `PID 1; ${UNIT_NAME} is ${active}`,
    `systemctl start berth; journalctl -u berth -n 50 shows why it stopped`,
  );
};

export const socketPermissionsCheck: Check = async ({ probe, socket }) => {
  const name = "socket permissions";
  const facts = await probe.stat(socket);
  if (facts === undefined)
    return warn(name, `no socket at ${socket}`, "start the agent (systemctl start berth)");
  if (!facts.isSocket) return fail(name, `${socket} is not a socket`, `remove it and restart the agent`);
  const mode = `0${(facts.mode & 0o777).toString(8)}`;
  if ((facts.mode & 0o077) !== 0 || facts.uid !== 0) {
    return fail(
      name,
      `${socket} is mode ${mode}, owner uid ${facts.uid}: anyone who can connect controls every container`,
      `chown root:root ${socket} && chmod 600 ${socket} (the agent sets both when it starts)`,
    );
  }
  return ok(name, `${socket} mode ${mode}, owner root`);
};

export const agentCheck: Check = async ({ socket, agentVersion }) => {
  const name = "agent";
  try {
    return ok(name, `${await agentVersion(socket)} at ${socket}`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return fail(
      name,
      `no answer at ${socket}: ${message}`,
      "systemctl start berth (or berth agent); journalctl -u berth -n 50 shows why it is down",
    );
  }
};

export const clockCheck: Check = async ({ probe }) => {
  const name = "clock";
  const output = await probe.run("timedatectl", ["show", "-p", "NTPSynchronized", "--value"]);
  if (output === undefined) {
    return warn(name, "cannot tell: timedatectl is not installed", "install systemd-timesyncd or chrony");
  }
  if (output.exitCode !== 0) {
    return warn(
      name,
      `cannot tell: timedatectl failed (${firstLine(output.stderr) || `exit ${output.exitCode}`})`,
      "check time synchronization with your NTP client (chronyc tracking, ntpq -p)",
    );
  }
  const value = output.stdout.trim();
  if (value === "yes") return ok(name, "synchronized (NTPSynchronized=yes)");
  return warn(
    name,
    `not synchronized (NTPSynchronized=${value}): log timestamps and certificate checks drift`,
    "timedatectl set-ntp true (systemd-timesyncd), or configure chrony",
  );
};

/** Every check, in the order the report lists them. */
export const ALL_CHECKS: readonly Check[] = [
  configCheck,
  cgroupV2Check,
  controllersCheck,
  runcCheck,
  conmonCheck,
  cniCheck,
  overlayCheck,
  psiCheck,
  userNamespacesCheck,
  swapCheck,
  systemdCheck,
  agentCheck,
  socketPermissionsCheck,
  clockCheck,
];
