// What every CLI command shares: the endpoint flag and a connected CRI client (whose
// generated code is loaded only by the commands that call the CRI).
import type { Command } from "commander";
import type { CriClients } from "../../cri/grpc-client.js";

export interface CliContext {
  /** The agent socket named by --endpoint (or BERTH_SOCKET, or the default). */
  endpoint(): string;
  /** Runs work with CRI clients connected to the agent, closing them afterwards. */
  withCri(work: (cri: CriClients) => Promise<void>): Promise<void>;
}

export function cliContext(program: Command): CliContext {
  const endpoint = (): string => (program.opts() as { endpoint: string }).endpoint;
  return {
    endpoint,
    async withCri(work) {
      const { connectCri } = await import("../../cri/grpc-client.js");
      const cri = connectCri(endpoint(), 30_000);
      try {
        await work(cri);
      } finally {
        cri.close();
      }
    },
  };
}

/** A CLI command module: adds its subcommand(s) to the program. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;
