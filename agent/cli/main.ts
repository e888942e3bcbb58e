#!/usr/bin/env node
// The berth command: `berth agent` runs the daemon; the other subcommands talk to a
// running agent over its socket, the way crictl and kubectl users expect.
import { Command } from "commander";
import type { ServiceError } from "@grpc/grpc-js";
import { defaultConfig } from "../config.js";
import { RUNTIME_VERSION } from "../../cri/runtime/runtime-service.js";
import { COMMANDS } from "./commands/index.js";
import { cliContext } from "./context.js";

const program = new Command();
program
  .name("berth")
  .description("berth: a per-host container agent (kubelet + CRI runtime on runc and conmon)")
  .version(RUNTIME_VERSION)
  .option("--endpoint <socket>", "agent socket", process.env.BERTH_SOCKET ?? defaultConfig().socket);
const ctx = cliContext(program);
for (const register of COMMANDS) register(program, ctx);

program.parseAsync().catch((err: unknown) => {
  const grpc = err as Partial<ServiceError>;
  const unreachable = grpc.code === 14;
  const message = unreachable
    ? `cannot reach the berth agent at ${ctx.endpoint()} (is it running? see "systemctl status berth")`
    : (grpc.details ?? (err instanceof Error ? err.message : String(err)));
  process.stderr.write(`berth: ${message}\n`);
  // 2: the agent could not be reached; 1: it refused or failed the request.
  process.exit(unreachable ? 2 : 1);
});
