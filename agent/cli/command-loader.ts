// Registers the CLI's commands for one invocation: the module of the command the
// arguments name is loaded and registered in full; every other command is a light entry
// for the help listing and the "did you mean" of an unknown command.
import { Help, type Command } from "commander";
import { COMMAND_MODULES, type CommandModule, type CommandSummary } from "./commands/index.js";
import type { CliContext } from "./context.js";

/** Options of the program itself that take a value (the next argument is not a command). */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(["--endpoint"]);

/**
 * The command the arguments (after `node berth`) ask for: the first operand after the
 * program's own options; for `berth help X`, X. undefined when there is none.
 */
export function requestedCommand(args: readonly string[]): string | undefined {
  const operands: string[] = [];
  for (let i = 0; i < args.length && operands.length < 2; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      operands.push(...args.slice(i + 1, i + 3));
      break;
    }
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) i++;
    else if (!arg.startsWith("-")) operands.push(arg);
    else if (operands.length === 1) break; // an option of the command itself
  }
  return operands[0] === "help" ? operands[1] : operands[0];
}

/** The module that registers a command name, if any. */
export function moduleOf(name: string | undefined): CommandModule | undefined {
  return name === undefined
    ? undefined
    : COMMAND_MODULES.find((m) => m.commands.some((c) => c.name === name));
}

export async function registerCommands(
  program: Command,
  ctx: CliContext,
  args: readonly string[],
): Promise<void> {
  const wanted = moduleOf(requestedCommand(args));
  const register = wanted ? await wanted.load() : undefined;
  const terms = new Map<Command, string>();
  const standardHelp = new Help();
  program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd) ?? standardHelp.subcommandTerm(cmd) });
  for (const module of COMMAND_MODULES) {
    if (module === wanted && register) register(program, ctx);
    else for (const summary of module.commands) terms.set(listedOnly(program, summary), summary.term);
  }
}

/** A command that only shows in the listing; it is never the one that runs. */
function listedOnly(program: Command, summary: CommandSummary): Command {
  return program
    .command(summary.name)
    .description(summary.description)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(() => {
      throw new Error(`the ${summary.name} command was not loaded`);
    });
}
