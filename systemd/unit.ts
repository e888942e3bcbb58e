// berth.service: how systemd runs the agent. Every line that differs from a plain service
// says why, in the unit itself, so an operator reading `systemctl cat berth` sees the reasons.
export const UNIT_NAME = "berth.service";

export interface UnitOptions {
  /** Absolute path of the node binary. */
  readonly nodeBinary: string;
  /** Absolute path of berth's CLI entry point (dist/agent/cli/main.js). */
  readonly mainScript: string;
  /** Config file passed to the agent; the agent's default when absent. */
  readonly configPath?: string;
  readonly watchdogSec?: number;
  readonly timeoutStartSec?: number;
  readonly restartSec?: number;
  /**
   * systemd 254+ can start the main process in a subgroup of the delegated cgroup
   * (DelegateSubgroup=). With it, pods can live inside the unit's cgroup and still survive
   * `systemctl restart`; older systemd would refuse to start the agent next to them.
   */
  readonly delegateSubgroup?: boolean;
}

export const DEFAULT_WATCHDOG_SEC = 30;
export const DEFAULT_TIMEOUT_START_SEC = 300;
export const DEFAULT_RESTART_SEC = 2;
/** The leaf the agent process lives in when it owns a delegated cgroup. */
export const AGENT_SUBGROUP = "agent";

/** systemd-style quoting of one ExecStart word: only when it needs it. */
function execWord(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `"${word.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\$/g, "$$$$")}"`;
}

export function renderUnit(options: UnitOptions): string {
  const watchdogSec = options.watchdogSec ?? DEFAULT_WATCHDOG_SEC;
  const timeoutStartSec = options.timeoutStartSec ?? DEFAULT_TIMEOUT_START_SEC;
  const restartSec = options.restartSec ?? DEFAULT_RESTART_SEC;
  const exec = [options.nodeBinary, options.mainScript, "agent"];
  if (options.configPath !== undefined) exec.push("--config", options.configPath);

  const lines = [
    "# berth: a per-host container agent (kubelet + CRI runtime on runc and conmon).",
    "# Written by `berth install`; local changes belong in a drop-in (systemctl edit berth).",
    "[Unit]",
    "Description=berth container agent",
    "# Image pulls at start need the network; pods' own networking is CNI's and needs nothing here.",
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "# The agent sends READY=1 only once its gRPC socket serves, so units ordered after",
    "# berth.service (and `systemctl start berth` itself) wait until clients can connect.",
    "Type=notify",
    "# Notifications are sent by the systemd-notify helper, a child of the agent, not by the",
    "# main process itself; `all` accepts them from any process of the unit.",
    "NotifyAccess=all",
    `ExecStart=${exec.map(execWord).join(" ")}`,
    "# SIGHUP re-reads the config (log level; other changes are reported as needing a restart).",
    "ExecReload=/bin/kill -HUP $MAINPID",
    "# berth owns the cgroup subtree below this unit: systemd makes every controller available",
    "# to it and leaves the cgroups berth creates alone.",
    "Delegate=yes",
    ...(options.delegateSubgroup
      ? [
          "# Start the agent in the leaf agent/ of the delegated cgroup: cgroup v2 allows no",
          "# processes in a cgroup that hands controllers to children (pods/ beside it).",
          `DelegateSubgroup=${AGENT_SUBGROUP}`,
        ]
      : []),
    "# Stop only the agent. conmon supervises every container and outlives the agent, so",
    "# `systemctl restart berth` (or an upgrade) keeps containers running; the next agent",
    "# re-adopts them from the state on disk.",
    "KillMode=process",
    "Restart=always",
    `RestartSec=${restartSec}`,
    "# The agent pings the watchdog from its event loop at half this period; a loop blocked",
    "# this long gets the agent killed (SIGABRT) and restarted.",
    `WatchdogSec=${watchdogSec}`,
    "# Start-up re-adopts every container and may unpack the infra image: allow for a busy host.",
    `TimeoutStartSec=${timeoutStartSec}`,
    "# One descriptor per container log, exit file, attach socket and probe connection.",
    "LimitNOFILE=1048576",
    "# conmon and container processes are counted against the agent's user; containers set",
    "# their own pids limit in their cgroups.",
    "LimitNPROC=infinity",
    "TasksMax=infinity",
    "# The agent holds the node together: under memory pressure the kernel should kill a",
    "# container, not the agent that would report and restart it.",
    "OOMScoreAdjust=-999",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ];
  return lines.join("\n");
}

/** The unit's drop-in directory, where overrides such as a test's WatchdogSec go. */
export function dropInDir(unitDir: string): string {
  return `${unitDir}/${UNIT_NAME}.d`;
}
