// Waits for conmon to carry out a log reopen. conmon opens a new file beside the log and renames
// it over the log path, so the reopen is done when the path names a file other than the one it
// named before (or names one at all, after the old file was renamed away).
import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { FailedPreconditionError, RuntimeFailureError } from "../../common/errors.js";

/** Long enough for a conmon on a loaded host; short enough for a client's call deadline. */
export const LOG_REOPEN_WAIT_MS = 5000;
const POLL_MS = 10;

/**
 * Refuses a reopen conmon could not carry out: conmon exits when it cannot create the new log
 * file, which would leave the container unsupervised.
 */
export async function checkLogDirectory(logPath: string): Promise<void> {
  const dir = dirname(logPath);
  const st = await stat(dir).catch((err: NodeJS.ErrnoException) => err);
  if (st instanceof Error || !st.isDirectory()) {
    const why = st instanceof Error ? (st.code ?? st.message) : "not a directory";
    throw new FailedPreconditionError(`cannot reopen the log file ${logPath}: its directory ${dir}: ${why}`);
  }
}

/** The inode the log path names now; undefined when it names nothing. */
export async function logFileIdentity(logPath: string): Promise<number | undefined> {
  return (await stat(logPath).catch(() => undefined))?.ino;
}

/** Resolves once `logPath` names a file other than `previous`; throws after `waitMs`. */
export async function waitForReopenedLog(
  logPath: string,
  previous: number | undefined,
  waitMs = LOG_REOPEN_WAIT_MS,
): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const current = await logFileIdentity(logPath);
    if (current !== undefined && current !== previous) return;
    if (Date.now() >= deadline) {
      throw new RuntimeFailureError(
        `conmon did not reopen the log file ${logPath} within ${waitMs} ms (see its conmon.log)`,
      );
    }
    await sleep(POLL_MS);
  }
}
