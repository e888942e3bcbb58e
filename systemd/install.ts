// `berth install` and `berth uninstall`: the unit file, the default config, the manifests
// folder, and the systemctl calls that start or stop the service. Every path sits under a
// root prefix ("/" on a host; a temp dir in tests, with start off), and every command goes
// through an injected runner.
import { access, mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { writeFileAtomic } from "../common/atomic-file.js";
import { parseMountInfo } from "../cgroups/detect.js";
import { FailedPreconditionError, InvalidArgumentError, RuntimeFailureError } from "../common/errors.js";
import { renderDefaultConfig } from "./default-config.js";
import { dropInDir, renderUnit, UNIT_NAME, type UnitOptions } from "./unit.js";

export const UNIT_DIR = "/etc/systemd/system";
export const CONFIG_DIR = "/etc/berth";
export const CONFIG_FILE = "/etc/berth/config.yaml";
export const MANIFESTS_DIR = "/etc/berth/manifests";
/** Present only while systemd runs as PID 1 (what sd_booted() checks). */
export const SYSTEMD_RUNTIME_DIR = "/run/systemd/system";

export interface CommandResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export type CommandRunner = (command: string, args: readonly string[]) => Promise<CommandResult>;

export const execaRunner: CommandRunner = async (command, args) => {
  const result = await execa(command, args, { reject: false, stdin: "ignore", timeout: 120_000 });
  return {
    exitCode: result.exitCode ?? 1,
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? result.message ?? ""),
  };
};

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** True when systemd is PID 1 on the host whose root is `root`. */
export function systemdIsRunning(root = "/"): Promise<boolean> {
  return exists(join(root, SYSTEMD_RUNTIME_DIR));
}

/** systemd's version number from `systemctl --version` ("systemd 252 (252.39-1~deb12u2)"). */
export async function systemdVersion(run: CommandRunner): Promise<number | undefined> {
  const result = await run("systemctl", ["--version"]).catch(() => undefined);
  const match = result?.exitCode === 0 ? /^systemd (\d+)/.exec(result.stdout) : null;
  return match ? Number(match[1]) : undefined;
}

/** DelegateSubgroup= appeared in systemd 254. */
export const DELEGATE_SUBGROUP_SINCE = 254;

export interface ServiceFilesOptions {
  /** Prefix for every path ("/" on a real host; systemctl still acts on the host). */
  readonly root: string;
  /** Run systemctl (daemon-reload, enable --now / disable --now); false only writes or removes files. */
  readonly start: boolean;
  readonly run?: CommandRunner;
  /** Overrides the check for systemd as PID 1 (tests). */
  readonly systemdRunning?: () => Promise<boolean>;
}

export interface InstallOptions extends ServiceFilesOptions {
  readonly unit: UnitOptions;
}

export interface InstallReport {
  readonly written: string[];
  /** Files that existed and were left as they were (the config). */
  readonly kept: string[];
  readonly commands: string[];
}

/** A tree under --root has no systemd of its own to start anything in. */
export function requireNoStartForRoot(root: string, start: boolean): void {
  if (start && root !== "/") {
    throw new InvalidArgumentError(
      "root",
      `${root} is not this host's root: add --no-start to only write files`,
    );
  }
}

async function requireStartable(options: ServiceFilesOptions, action: string): Promise<void> {
  if (!options.start) return;
  const running = await (options.systemdRunning ?? (() => systemdIsRunning(options.root)))();
  if (!running) {
    throw new FailedPreconditionError(
      `systemd is not running as PID 1 (${SYSTEMD_RUNTIME_DIR} is missing), so berth cannot ${action} ` +
        `the service here; run the agent directly (berth agent), or use --no-start to only ${
          action === "install" ? "write" : "remove"
        } the files`,
    );
  }
}

async function systemctl(run: CommandRunner, args: string[], commands: string[]): Promise<void> {
  commands.push(`systemctl ${args.join(" ")}`);
  const result = await run("systemctl", args);
  if (result.exitCode !== 0) {
    throw new RuntimeFailureError(
      `systemctl ${args.join(" ")} failed (exit ${result.exitCode}): ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
}

export async function installService(options: InstallOptions): Promise<InstallReport> {
  await requireStartable(options, "install");
  const run = options.run ?? execaRunner;
  const report: InstallReport = { written: [], kept: [], commands: [] };
  const at = (path: string): string => join(options.root, path);

  await writeFileAtomic(at(join(UNIT_DIR, UNIT_NAME)), renderUnit(options.unit), 0o644);
  report.written.push(join(UNIT_DIR, UNIT_NAME));

  await mkdir(at(CONFIG_DIR), { recursive: true, mode: 0o755 });
  if (await exists(at(CONFIG_FILE))) {
    report.kept.push(CONFIG_FILE);
  } else {
    // wx: a config that appeared meanwhile is the operator's; never overwrite it.
    await writeFile(at(CONFIG_FILE), renderDefaultConfig(), { mode: 0o644, flag: "wx" });
    report.written.push(CONFIG_FILE);
  }
  await mkdir(at(MANIFESTS_DIR), { recursive: true, mode: 0o755 });

  if (options.start) {
    await systemctl(run, ["daemon-reload"], report.commands);
    await systemctl(run, ["enable", "--now", UNIT_NAME], report.commands);
  }
  return report;
}

export interface UninstallOptions extends ServiceFilesOptions {
  /** Also remove the config, berth's state and runtime directories. */
  readonly purge: boolean;
  /** State and runtime directories removed by --purge (the config's, which may be moved). */
  readonly stateDir: string;
  readonly runDir: string;
  /** Text of /proc/self/mountinfo (tests); read from the host when absent. */
  readonly mountinfo?: () => Promise<string>;
}

export interface UninstallReport {
  readonly removed: string[];
  /** What stays behind, for the operator to know. */
  readonly kept: string[];
  readonly commands: string[];
}

/** Containers runc still knows of under berth's runtime directory (purge must not pull their state away). */
async function remainingContainers(runcRoot: string): Promise<string[]> {
  try {
    const entries = await readdir(runcRoot, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  } catch {
    return [];
  }
}

/** Mount points strictly below any of `dirs`: a recursive delete would reach into them. */
function mountsBelow(mountPoints: readonly string[], dirs: readonly string[]): string[] {
  return mountPoints.filter((point) => dirs.some((dir) => point.startsWith(`${dir}/`)));
}

/** Removes a directory, or only its contents when it is a mount point of its own (a state disk). */
async function removeTree(dir: string, mountPoints: readonly string[]): Promise<void> {
  if (!mountPoints.includes(dir)) {
    await rm(dir, { recursive: true, force: true });
    return;
  }
  for (const entry of await readdir(dir)) await rm(join(dir, entry), { recursive: true, force: true });
}

export async function uninstallService(options: UninstallOptions): Promise<UninstallReport> {
  await requireStartable(options, "uninstall");
  const run = options.run ?? execaRunner;
  const at = (path: string): string => join(options.root, path);
  const report: UninstallReport = { removed: [], kept: [], commands: [] };

  const mountPoints = options.purge
    ? parseMountInfo(await (options.mountinfo ?? (() => readFile("/proc/self/mountinfo", "utf8")))()).map(
        (entry) => entry.mountPoint,
      )
    : [];
  if (options.purge) {
    const containers = await remainingContainers(at(join(options.runDir, "runc")));
    if (containers.length > 0) {
      throw new FailedPreconditionError(
        `${containers.length} container(s) still exist under ${join(options.runDir, "runc")}; ` +
          "remove the pods first (the agent leaves containers running when it stops), then purge",
      );
    }
    const mounts = mountsBelow(mountPoints, [at(options.stateDir), at(options.runDir)]);
    if (mounts.length > 0) {
      throw new FailedPreconditionError(
        `still mounted under berth's directories: ${mounts.join(", ")}; unmount them (or remove the pods) before purging`,
      );
    }
  }

  const unitPath = join(UNIT_DIR, UNIT_NAME);
  if (options.start && (await exists(at(unitPath)))) {
    // KillMode=process: this stops the agent only; containers keep running under conmon.
    await systemctl(run, ["disable", "--now", UNIT_NAME], report.commands);
  }
  for (const path of [unitPath, dropInDir(UNIT_DIR)]) {
    if (!(await exists(at(path)))) continue;
    await rm(at(path), { recursive: true, force: true });
    report.removed.push(path);
  }
  if (options.start) await systemctl(run, ["daemon-reload"], report.commands);

  const data = [CONFIG_DIR, options.stateDir, options.runDir];
  for (const path of data) {
    if (!(await exists(at(path)))) continue;
    if (options.purge) {
      await removeTree(at(path), mountPoints);
      report.removed.push(path);
    } else {
      report.kept.push(path);
    }
  }
  return report;
}
