// The glue between the daemon and systemd: before the runtime starts, take the notification
// environment and settle the pod cgroup root (delegation); once it serves, the status line;
// on SIGHUP, the config reload. The daemon calls these and stays ignorant of systemd.
import { ContainerState, PodSandboxState } from "../cri/api/generated/api.js";
import type { RuntimeServiceApi } from "../cri/service-types.js";
import { CgroupManager } from "../cgroups/manager.js";
import { detectHostLayout, type CgroupLayout } from "../cgroups/detect.js";
import { InvalidArgumentError } from "../common/errors.js";
import type { Logger } from "../common/logger.js";
import { defaultConfig, type AgentConfig } from "../agent/config.js";
import { applyDelegation, type LeafMover } from "./delegation.js";
import { trackLogLevel, type LevelControl } from "./log-level.js";
import { SystemdNotifier, takeNotifyEnvironment, type NotifySender } from "./notify.js";
import { ServiceLifecycle, type SignalSource } from "./service.js";
import { describeReload, planReload } from "./reload.js";

export interface PreparedService {
  /** The config the runtime starts with (cgroupRoot settled for a delegated cgroup). */
  readonly config: AgentConfig;
  readonly notifier: SystemdNotifier;
  /** Already listening for SIGHUP; call started() once the agent serves, stopping() on the way out. */
  readonly lifecycle: ServiceLifecycle;
  /** Changes the level of the agent's logger and of every child logger made from it. */
  readonly logLevel: LevelControl;
}

export interface PrepareServiceOptions {
  /** The process environment; the notification variables are removed from it. */
  readonly env?: NodeJS.ProcessEnv;
  readonly detectLayout?: () => Promise<CgroupLayout>;
  readonly cgroups?: (layout: CgroupLayout) => LeafMover;
  readonly send?: NotifySender;
  readonly pid?: number;
  readonly signals?: SignalSource;
}

export async function prepareAgentService(
  config: AgentConfig,
  logger: Logger,
  options: PrepareServiceOptions = {},
): Promise<PreparedService> {
  const env = options.env ?? process.env;
  // Before any module makes its child logger, so that a reload reaches them all.
  const logLevel = trackLogLevel(logger);
  const log = logger.child({ component: "systemd" });
  const notifier = new SystemdNotifier({
    environment: takeNotifyEnvironment(env),
    logger: log,
    ...(options.send && { send: options.send }),
    ...(options.pid !== undefined && { pid: options.pid }),
  });
  const lifecycle = new ServiceLifecycle({
    notifier,
    logger: log,
    ...(options.signals && { signals: options.signals }),
  });
  lifecycle.listen();
  let layout: CgroupLayout;
  try {
    layout = await (options.detectLayout ?? detectHostLayout)();
  } catch (err) {
    // No usable cgroup mount: the runtime reports that itself when it starts.
    log.debug({ err }, "no cgroup layout; pod cgroup root left as configured");
    return { config, notifier, lifecycle, logLevel };
  }
  const plan = await applyDelegation({
    layout,
    env,
    cgroupRoot: config.cgroupRoot,
    defaultCgroupRoot: defaultConfig().cgroupRoot,
    cgroups: (options.cgroups ?? ((l) => new CgroupManager({ layout: l, logger: log })))(layout),
    logger: log,
    ...(options.pid !== undefined && { pid: options.pid }),
  });
  return { config: { ...config, cgroupRoot: plan.cgroupRoot }, notifier, lifecycle, logLevel };
}

/** The STATUS= line: what the agent runs right now. */
export async function describeAgent(
  runtime: Pick<RuntimeServiceApi, "listPodSandbox" | "listContainers">,
): Promise<string> {
  const [{ items }, { containers }] = await Promise.all([
    runtime.listPodSandbox({}),
    runtime.listContainers({}),
  ]);
  const ready = items.filter((s) => s.state === PodSandboxState.SANDBOX_READY).length;
  const running = containers.filter((c) => c.state === ContainerState.CONTAINER_RUNNING).length;
  return `serving ${ready} ${ready === 1 ? "pod" : "pods"}, ${running} ${running === 1 ? "container" : "containers"} running`;
}

/** Config fields a running agent applies on reload; the others wait for a restart. */
export const LIVE_CONFIG_FIELDS: readonly string[] = ["logLevel"];

/**
 * Applies a freshly loaded config to the running agent. Returns the config now in force and
 * the line that says what changed. Throws, changing nothing, when the new config is unusable.
 */
export function applyReloadedConfig(
  current: AgentConfig,
  next: AgentConfig,
  logger: Logger,
  logLevel: LevelControl,
): { config: AgentConfig; summary: string } {
  const levels = Object.keys(logger.levels.values);
  if (!levels.includes(next.logLevel) && next.logLevel !== "silent") {
    throw new InvalidArgumentError("logLevel", `unknown level "${next.logLevel}" (use ${levels.join(", ")})`);
  }
  const plan = planReload(current, next, LIVE_CONFIG_FIELDS);
  if (plan.applied.includes("logLevel")) logLevel.setLevel(next.logLevel);
  return { config: { ...current, logLevel: next.logLevel }, summary: describeReload(plan) };
}
