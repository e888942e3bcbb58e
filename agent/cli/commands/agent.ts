// `berth agent`: runs the daemon.
import { createLogger } from "../../../common/logger.js";
import { loadConfig } from "../../config.js";
import { runAgent } from "../../daemon.js";
import type { RegisterCommand } from "../context.js";

interface AgentFlags {
  config?: string;
  socket?: string;
  stateDir?: string;
  runDir?: string;
  cgroupRoot?: string;
  logLevel?: string;
  cni: boolean;
}

export const registerAgent: RegisterCommand = (program) => {
  program
    .command("agent")
    .description("run the berth agent (the daemon)")
    .option("-c, --config <file>", "config file (default /etc/berth/config.yaml if it exists)")
    .option("--socket <path>", "gRPC socket to serve CRI and berth.v1 on")
    .option("--state-dir <dir>", "persistent state directory")
    .option("--run-dir <dir>", "runtime directory (runc state, netns, exit files)")
    .option("--cgroup-root <path>", "parent cgroup of pods; relative nests under the agent's cgroup")
    .option("--log-level <level>", "log level: trace, debug, info, warn, error")
    .option("--no-cni", "no pod network: sandboxes get loopback only")
    .action(async (opts: AgentFlags) => {
      const load = () =>
        loadConfig({
          path: opts.config,
          required: opts.config !== undefined,
          overrides: {
            socket: opts.socket,
            stateDir: opts.stateDir,
            runDir: opts.runDir,
            cgroupRoot: opts.cgroupRoot,
            logLevel: opts.logLevel,
            cni: opts.cni ? undefined : { enabled: false },
          },
        });
      const config = await load();
      // SIGHUP re-reads the same sources, so flags keep applying after a reload.
      await runAgent(config, createLogger(config.logLevel), { reloadConfig: load });
    });
};
