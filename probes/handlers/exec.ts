// The exec probe: run a command in the container; exit code 0 means healthy. How the command
// gets into the container (runc exec, a CRI ExecSync call) is the caller's business.
import { DeadlineExceededError } from "../../common/errors.js";
import { capOutput, type HandlerOutcome } from "../outcome.js";
import type { ExecAction } from "../spec.js";

export interface ExecResult {
  exitCode: number;
  stdout: string | Buffer;
  stderr: string | Buffer;
}

/**
 * Runs `command` in the container and waits at most `timeoutSeconds` for it. Throws
 * DeadlineExceededError when the command outlives the timeout; any other throw means the
 * command could not be run at all.
 */
export type ExecFn = (containerId: string, command: string[], timeoutSeconds: number) => Promise<ExecResult>;

export async function runExecProbe(
  execFn: ExecFn,
  containerId: string,
  action: ExecAction,
  timeoutSeconds: number,
): Promise<HandlerOutcome> {
  let result: ExecResult;
  try {
    result = await execFn(containerId, action.command, timeoutSeconds);
  } catch (err) {
    // A command that hangs is as unhealthy as one that fails.
    if (err instanceof DeadlineExceededError) {
      return {
        result: "failure",
        output: `command ${JSON.stringify(action.command)} timed out after ${timeoutSeconds}s`,
      };
    }
    return { result: "unknown", output: `exec failed: ${err instanceof Error ? err.message : String(err)}` };
  }
  const combined = capOutput(Buffer.concat([toBuffer(result.stdout), toBuffer(result.stderr)]));
  return { result: result.exitCode === 0 ? "success" : "failure", output: combined.toString("utf8") };
}

function toBuffer(data: string | Buffer): Buffer {
  return typeof data === "string" ? Buffer.from(data, "utf8") : data;
}
