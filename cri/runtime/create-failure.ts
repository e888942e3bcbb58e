// runc reports some caller faults only when it creates the container: a sysctl the kernel
// does not have or whose value it refuses, a command that is not in the image. Those
// become the status that names the field, as other runtimes report them, instead of
// INTERNAL; every other failure passes through unchanged.
import { echo, InvalidArgumentError } from "../../common/errors.js";
import { normalizeSysctlName } from "./validate-config.js";

export interface CreateFailureContext {
  /** The sysctls the spec set, by the name the request used. */
  sysctls?: { [name: string]: string };
  /** Where those sysctls came from, e.g. "config.linux.sysctls". */
  sysctlsField?: string;
  /** The field naming the process's executable, e.g. "config.command". */
  commandField?: string;
  /** The process's working directory as put in the OCI spec, if the config chose one. */
  workingDir?: string;
}

// runc: `open /proc/sys/net/ipv4/x: no such file or directory`, `write /proc/sys/...: invalid argument`.
const SYSCTL_FAILURE = /(open|write) \/proc\/sys\/([A-Za-z0-9_./@:-]+): ([a-z ]+)/;
// runc: `exec: "x": executable file not found in $PATH`, `exec: "/x": stat /x: no such file or directory`.
const EXEC_FAILURE = /exec: \\?"([^"\\]*)\\?": ([^"\\\n]*)/;

/** The caller's fault `err` stands for, or `err` itself when it is none of them. */
export function explainCreateFailure(err: unknown, ctx: CreateFailureContext): unknown {
  const message = err instanceof Error ? err.message : "";
  const sysctl = SYSCTL_FAILURE.exec(message);
  if (sysctl && ctx.sysctls && ctx.sysctlsField) {
    const [, op, path, reason] = sysctl;
    const kernelName = path!.replaceAll("/", ".");
    const name = Object.keys(ctx.sysctls).find((n) => normalizeSysctlName(n) === kernelName) ?? kernelName;
    const problem =
      op === "open" && reason === "no such file or directory"
        ? "the kernel has no such sysctl here"
        : `the kernel refused the value ${JSON.stringify(echo(ctx.sysctls[name] ?? ""))} (${reason})`;
    return new InvalidArgumentError(`${ctx.sysctlsField}[${JSON.stringify(name)}]`, problem);
  }
  const cwdReason = ctx.workingDir ? workingDirFailure(message, ctx.workingDir) : undefined;
  if (cwdReason !== undefined) {
    return new InvalidArgumentError(
      "config.working_dir",
      `"${echo(ctx.workingDir!)}" cannot be the working directory in the container: ${cwdReason}`,
    );
  }
  const exec = EXEC_FAILURE.exec(message);
  if (exec && ctx.commandField) {
    const [, command, reason] = exec;
    const why = /no such file|not found/.test(reason!) ? "executable file not found" : reason!;
    return new InvalidArgumentError(
      ctx.commandField,
      `"${echo(command!)}" cannot be run in the container: ${why}`,
    );
  }
  return err;
}

/** Why runc could not make or enter the working directory, if that is what failed. runc 1.1 says
 * `mkdir <dir>: <reason>` (it creates a missing one), later versions `chdir to cwd ("<dir>") set
 * in config.json failed: <reason>`; conmon relays runc's log line with its quotes escaped. */
function workingDirFailure(message: string, dir: string): string | undefined {
  const text = message.replaceAll('\\"', '"');
  for (const prefix of [`mkdir ${dir}: `, `chdir to cwd ("${dir}") set in config.json failed: `]) {
    const at = text.indexOf(prefix);
    if (at >= 0) return /^[^"\n]*/.exec(text.slice(at + prefix.length))![0].trim();
  }
  return undefined;
}
