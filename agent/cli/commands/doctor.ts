// `berth doctor`: checks the host for what berth needs and says how to fix what is wrong.
// Exit code 0 when nothing FAILs (warnings allowed), 1 otherwise.
import { access } from "node:fs/promises";
import { Option } from "commander";
import { connectCri } from "../../../cri/grpc-client.js";
import { DEFAULT_CONFIG_PATH, defaultConfig, loadConfig, type AgentConfig } from "../../config.js";
import { nodeHostProbe } from "../../../systemd/doctor/host.js";
import {
  doctorExitCode,
  renderDoctorJson,
  renderDoctorTable,
  runDoctor,
} from "../../../systemd/doctor/report.js";
import type { RegisterCommand } from "../context.js";

/** The agent's answer to the CRI Version RPC, as one line. */
async function agentVersion(socket: string): Promise<string> {
  const cri = connectCri(socket, 5_000);
  try {
    const version = await cri.runtime.version({ version: "v1" });
    return `${version.runtimeName} ${version.runtimeVersion} (CRI ${version.runtimeApiVersion})`;
  } catch (err) {
    // grpc's UNAVAILABLE message buries the cause ("connect ENOENT /run/...") in a paragraph.
    const message = err instanceof Error ? err.message : String(err);
    const cause = /Last error: (?:Error: )?(.+?)\.?(?: Resolution note:.*)?$/s.exec(message)?.[1];
    throw new Error(cause ?? message);
  } finally {
    cri.close();
  }
}

export const registerDoctor: RegisterCommand = (program, ctx) => {
  program
    .command("doctor")
    .description("check this host for what berth needs (cgroup v2, runc, conmon, CNI, ...) and how to fix it")
    .option("-c, --config <file>", `config file (default ${DEFAULT_CONFIG_PATH} if it exists)`)
    .addOption(
      new Option("-o, --output <format>", "table or json").choices(["table", "json"]).default("table"),
    )
    .action(async (opts: { config?: string; output: "table" | "json" }) => {
      const configPath = opts.config ?? DEFAULT_CONFIG_PATH;
      let config: AgentConfig;
      let configProblem: string | undefined;
      try {
        config = await loadConfig({ path: configPath, required: opts.config !== undefined });
      } catch (err) {
        config = defaultConfig();
        configProblem = err instanceof Error ? err.message : String(err);
      }
      // --endpoint wins when given; otherwise the socket the config names.
      const endpoint = ctx.endpoint();
      const socket = endpoint === defaultConfig().socket ? config.socket : endpoint;
      const configFound = await access(configPath).then(
        () => true,
        () => false,
      );
      const report = await runDoctor({
        probe: nodeHostProbe(),
        config,
        configPath,
        configFound,
        ...(configProblem !== undefined && { configProblem }),
        socket,
        agentVersion,
      });
      process.stdout.write(opts.output === "json" ? renderDoctorJson(report) : renderDoctorTable(report));
      process.exitCode = doctorExitCode(report);
    });
};
