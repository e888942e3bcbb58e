// Exec without a terminal: `runc exec` in the foreground with its stdio as pipes. runc
// copies them to and from the process, closes the process's stdin when ours ends, and
// exits with the process's exit status. The exec'd process is found through runc's pid
// file so a client that disconnects gets it killed, not just runc.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { constants as osConstants } from "node:os";
import type { Spec } from "../runtime/oci-types.js";
import type { CommandOutcome, CommandStreams } from "./command.js";

export interface ExecTarget {
  runcBinary: string;
  runcRoot: string;
  containerId: string;
  /** The container's process spec; args and terminal are replaced. */
  process: NonNullable<Spec["process"]>;
  /** Where per-exec files (process.json, pid file) may be written. */
  scratchDir: string;
}

export async function execWithPipes(
  target: ExecTarget,
  cmd: string[],
  streams: CommandStreams,
): Promise<CommandOutcome> {
  const dir = await mkdtemp(join(target.scratchDir, "exec-"));
  try {
    const processFile = join(dir, "process.json");
    const pidFile = join(dir, "pid");
    await writeFile(processFile, JSON.stringify({ ...target.process, args: cmd, terminal: false }), {
      mode: 0o600,
    });
    const child = spawn(
      target.runcBinary,
      [
        "--root",
        target.runcRoot,
        "exec",
        "--process",
        processFile,
        "--pid-file",
        pidFile,
        target.containerId,
      ],
      {
        stdio: [
          streams.stdin ? "pipe" : "ignore",
          streams.stdout ? "pipe" : "ignore",
          streams.stderr ? "pipe" : "ignore",
        ],
      },
    );
    const closed = new Promise<CommandOutcome>((resolve) => {
      child.on("error", (err) => resolve({ kind: "failed", message: `cannot run runc: ${err.message}` }));
      child.once("close", (code, signal) => {
        if (code !== null) resolve({ kind: "exited", exitCode: code });
        else resolve({ kind: "exited", exitCode: 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0) });
      });
    });
    if (streams.stdin && child.stdin) {
      child.stdin.on("error", () => undefined); // the process may exit without reading its input
      streams.stdin.pipe(child.stdin);
    }
    if (streams.stdout && child.stdout) child.stdout.pipe(streams.stdout, { end: false });
    if (streams.stderr && child.stderr) child.stderr.pipe(streams.stderr, { end: false });

    const onAbort = (): void => {
      void killByPidFile(pidFile).finally(() => child.kill("SIGKILL"));
    };
    if (streams.signal.aborted) onAbort();
    else streams.signal.addEventListener("abort", onAbort, { once: true });
    try {
      return await closed;
    } finally {
      streams.signal.removeEventListener("abort", onAbort);
      if (streams.stdin && child.stdin) streams.stdin.unpipe(child.stdin);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function killByPidFile(pidFile: string): Promise<void> {
  try {
    const pid = Number.parseInt(await readFile(pidFile, "utf8"), 10);
    if (pid > 0) process.kill(pid, "SIGKILL");
  } catch {
    // Not started yet or already gone: killing runc is all that is left to do.
  }
}
