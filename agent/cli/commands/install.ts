// `berth install` and `berth uninstall`: berth as a systemd service.
import { join, resolve } from "node:path";
import { Option } from "commander";
import { DEFAULT_CONFIG_PATH, defaultConfig, loadConfig, type AgentConfig } from "../../config.js";
import {
  DELEGATE_SUBGROUP_SINCE,
  execaRunner,
  installService,
  requireNoStartForRoot,
  systemdVersion,
  uninstallService,
} from "../../../systemd/install.js";
import { DEFAULT_WATCHDOG_SEC } from "../../../systemd/unit.js";
import type { RegisterCommand } from "../context.js";

/** The CLI entry point this file was built next to: dist/agent/cli/main.js. */
const MAIN_SCRIPT = resolve(import.meta.dirname, "..", "main.js");

interface InstallFlags {
  root: string;
  start: boolean;
  node: string;
  watchdogSec: string;
  delegateSubgroup?: boolean;
}

interface UninstallFlags {
  root: string;
  start: boolean;
  purge?: boolean;
}

function positiveInt(value: string, flag: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0)
    throw new Error(`${flag} must be a positive integer, not "${value}"`);
  return number;
}

export const registerInstall: RegisterCommand = (program) => {
  program
    .command("install")
    .description("install berth as a systemd service (berth.service), write the default config, start it")
    .option("--no-start", "only write the files: no systemctl, no systemd needed")
    .option("--root <dir>", "write under this directory instead of / (implies a tree without systemd)", "/")
    .option("--node <path>", "node binary for ExecStart", process.execPath)
    .option("--watchdog-sec <seconds>", "WatchdogSec of the unit", String(DEFAULT_WATCHDOG_SEC))
    .addOption(
      new Option(
        "--delegate-subgroup",
        `start the agent in <unit>/agent (DelegateSubgroup=, systemd ${DELEGATE_SUBGROUP_SINCE}+; default: when systemd supports it)`,
      ),
    )
    .action(async (flags: InstallFlags) => {
      requireNoStartForRoot(resolve(flags.root), flags.start);
      const version = flags.start ? await systemdVersion(execaRunner) : undefined;
      const report = await installService({
        root: resolve(flags.root),
        start: flags.start,
        unit: {
          nodeBinary: flags.node,
          mainScript: MAIN_SCRIPT,
          watchdogSec: positiveInt(flags.watchdogSec, "--watchdog-sec"),
          delegateSubgroup:
            flags.delegateSubgroup ?? (version !== undefined && version >= DELEGATE_SUBGROUP_SINCE),
        },
      });
      for (const path of report.written) process.stdout.write(`wrote ${path}\n`);
      for (const path of report.kept) process.stdout.write(`kept ${path} (exists)\n`);
      for (const command of report.commands) process.stdout.write(`ran ${command}\n`);
      process.stdout.write(
        flags.start
          ? 'berth is running: "systemctl status berth", logs with "journalctl -u berth"\n'
          : "files written; start with: systemctl daemon-reload && systemctl enable --now berth\n",
      );
    });

  program
    .command("uninstall")
    .description("stop and remove the berth service; containers keep running, data stays unless --purge")
    .option("--no-start", "only remove the files: no systemctl, no systemd needed")
    .option("--root <dir>", "remove under this directory instead of /", "/")
    .option("--purge", "also remove /etc/berth and berth's state and runtime directories")
    .action(async (flags: UninstallFlags) => {
      const root = resolve(flags.root);
      requireNoStartForRoot(root, flags.start);
      // The state directories to purge are the config's (they may have been moved).
      let config: AgentConfig;
      try {
        config = await loadConfig({ path: join(root, DEFAULT_CONFIG_PATH) });
      } catch (err) {
        process.stderr.write(`berth: ${(err as Error).message}; using the default directories\n`);
        config = defaultConfig();
      }
      const report = await uninstallService({
        root,
        start: flags.start,
        purge: flags.purge ?? false,
        stateDir: config.stateDir,
        runDir: config.runDir,
      });
      for (const command of report.commands) process.stdout.write(`ran ${command}\n`);
      for (const path of report.removed) process.stdout.write(`removed ${path}\n`);
      for (const path of report.kept) process.stdout.write(`kept ${path} (remove with --purge)\n`);
    });
};
