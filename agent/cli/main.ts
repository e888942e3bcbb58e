#!/usr/bin/env node
// The berth command: `berth agent` runs the daemon; the other subcommands talk to a
// running agent over its socket, the way crictl and kubectl users expect. Startup loads
// only what the named command needs (see command-loader.ts): this module imports nothing
// heavy.
import { Command } from "commander";
import type { ServiceError } from "@grpc/grpc-js";
import { BERTH_VERSION } from "../../common/version.js";
import { DEFAULT_SOCKET } from "../default-socket.js";
import { registerCommands } from "./command-loader.js";
import { cliContext } from "./context.js";

const program = new Command();
program
  .name("berth")
  .description("berth: a per-host container agent (kubelet + CRI runtime on runc and conmon)")
  .version(BERTH_VERSION)
  .option("--endpoint <socket>", "agent socket", process.env.BERTH_SOCKET ?? DEFAULT_SOCKET);
const ctx = cliContext(program);

registerCommands(program, ctx, process.argv.slice(2))
  .then(() => program.parseAsync())
  .catch((err: unknown) => {
    const grpc = err as Partial<ServiceError>;
    const unreachable = grpc.code === 14;
    const message = unreachable
      ? `cannot reach the berth agent at ${ctx.endpoint()} (is it running? see "systemctl status berth")`
      : (grpc.details ?? (err instanceof Error ? err.message : String(err)));
    process.stderr.write(`berth: ${message}\n`);
    // 2: the agent could not be reached; 1: it refused or failed the request.
    process.exit(unreachable ? 2 : 1);
  });
