// ExecSync: runs a command in a running container with `runc exec` and collects its
// output. The timeout is enforced on the exec'd process itself (found through runc's pid
// file), since killing runc alone would leave the process running in the container.
import { execa } from "execa";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { DeadlineExceededError, InvalidArgumentError, RuntimeFailureError } from "../../common/errors.js";
import type { Spec } from "./oci-types.js";

/** Output beyond this is cut, as the kubelet's own exec limit does. */
export const EXEC_OUTPUT_LIMIT = 16 * 1024 * 1024;

/** What stdout and stderr may carry together: the response is one gRPC message of at most 16 MiB
 * (the kubelet's limit and berth's), so room is kept for its framing. */
export const EXEC_RESPONSE_OUTPUT_LIMIT = EXEC_OUTPUT_LIMIT - 64 * 1024;

/** How long runc may take to exit once the timed-out process was killed. */
const RUNC_EXIT_GRACE_MS = 5000;

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

export async function execSync(opts: {
  runcBinary: string;
  runcRoot: string;
  containerId: string;
  process: NonNullable<Spec["process"]>;
  cmd: string[];
  timeoutSec: number;
  scratchDir: string;
}): Promise<ExecSyncResult> {
  if (opts.cmd.length === 0) throw new InvalidArgumentError("cmd", "must not be empty");
  const dir = await mkdtemp(join(opts.scratchDir, "exec-"));
  try {
    const processFile = join(dir, "process.json");
    const pidFile = join(dir, "pid");
    await writeFile(processFile, JSON.stringify({ ...opts.process, args: opts.cmd, terminal: false }), {
      mode: 0o600,
    });
    const child = execa(
      opts.runcBinary,
      ["--root", opts.runcRoot, "exec", "--process", processFile, "--pid-file", pidFile, opts.containerId],
      {
        reject: false,
        // Output is collected below, bounded: execa's own buffering holds far more than its
        // maxBuffer while a flooding command runs.
        buffer: false,
        stdin: "ignore",
        stripFinalNewline: false,
      },
    );
    const stdoutChunks = collectBounded(child.stdout, EXEC_OUTPUT_LIMIT);
    const stderrChunks = collectBounded(child.stderr, EXEC_OUTPUT_LIMIT);
    let timedOut = false;
    let backstop: NodeJS.Timeout | undefined;
    // On timeout the exec'd process is killed and runc, its parent, reaps it and exits.
    // runc itself is killed only if it does not: killing it first would orphan the process
    // to the host's init instead of having it reaped.
    const timer =
      opts.timeoutSec > 0
        ? setTimeout(() => {
            timedOut = true;
            void killExecProcess(pidFile);
            backstop = setTimeout(() => child.kill("SIGKILL"), RUNC_EXIT_GRACE_MS);
          }, opts.timeoutSec * 1000)
        : undefined;
    const res = await child;
    clearTimeout(timer);
    clearTimeout(backstop);
    if (timedOut) {
      throw new DeadlineExceededError(
        `command ${JSON.stringify(opts.cmd)} in container ${opts.containerId} timed out after ${opts.timeoutSec}s`,
      );
    }
    // stdout first: it is what callers read; stderr gets what room is left.
    const stdout = Buffer.concat(await stdoutChunks).subarray(0, EXEC_RESPONSE_OUTPUT_LIMIT);
    const stderr = Buffer.concat(await stderrChunks).subarray(0, EXEC_RESPONSE_OUTPUT_LIMIT - stdout.length);
    if (res.exitCode === undefined) {
      throw new RuntimeFailureError(
        `exec in container ${opts.containerId} failed: ${res.shortMessage ?? "unknown"}`,
      );
    }
    // runc itself failing (e.g. the binary does not exist in the container) also exits non-zero;
    // its message is on stderr, as users of other runtimes see it.
    return { stdout, stderr, exitCode: res.exitCode };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Keeps the first `limit` bytes of a stream and drains the rest, so a command that floods its
 * output costs the agent no more than `limit` bytes of memory and never blocks on a full pipe. */
function collectBounded(stream: Readable | null, limit: number): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  if (!stream) return Promise.resolve(chunks);
  let kept = 0;
  return new Promise((resolve) => {
    stream.on("data", (chunk: Buffer) => {
      if (kept >= limit) return;
      const part = chunk.subarray(0, limit - kept);
      chunks.push(Buffer.from(part));
      kept += part.length;
    });
    stream.once("error", () => resolve(chunks));
    stream.once("close", () => resolve(chunks));
  });
}

async function killExecProcess(pidFile: string): Promise<void> {
  try {
    const pid = Number.parseInt(await readFile(pidFile, "utf8"), 10);
    if (pid > 0) process.kill(pid, "SIGKILL");
  } catch {
    // Not started yet or already gone: killing runc below is enough.
  }
}
