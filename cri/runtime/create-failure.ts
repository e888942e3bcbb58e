// Turns the message of a failed container creation (conmon relaying runc's words) into the
// right error: a container config that can never start in its image is the caller's mistake,
// not a runtime failure.
import { InvalidArgumentError, RuntimeFailureError, type BerthError } from "../../common/errors.js";

export interface CreateContext {
  containerId: string;
  /** The process's working directory as put in the OCI spec, if the config chose one. */
  workingDir?: string;
}

export function createFailure(ctx: CreateContext, message: string): BerthError {
  const cwdReason = ctx.workingDir ? workingDirFailure(message, ctx.workingDir) : undefined;
  if (cwdReason !== undefined) {
    return new InvalidArgumentError(
      "config.working_dir",
      `"${ctx.workingDir!.slice(0, 256)}" cannot be the working directory in the container: ${cwdReason}`,
    );
  }
  return new RuntimeFailureError(`conmon for container ${ctx.containerId}: ${message}`);
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
