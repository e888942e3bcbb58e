// ExecSync: runs a command in a running container with `runc exec` and collects its
// output. The timeout is enforced on the exec'd process and everything it started (found
// through runc's pid file and the session it leads), since killing runc alone would leave them
// running in the container, one more each time a probe times out.
import { execa } from "execa";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import {
  BerthError,
  DeadlineExceededError,
  InvalidArgumentError,
  RuntimeFailureError,
} from "../../common/errors.js";
import { killExecSession } from "./exec-kill.js";
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
  /** The caller gave up (cancelled, or its deadline passed): the command is killed as on timeout. */
  signal?: AbortSignal;
  /** Host pid of the container's init: bounds the kill on timeout to the container's processes. */
  containerPid?: number;
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
    let exited = false;
    let abandoned = false;
    let backstop: NodeJS.Timeout | undefined;
    // On timeout the exec'd process tree is killed and runc, the exec'd process's parent, reaps
    // it and exits; the rest of the tree is reaped by the container's init. runc itself is
    // killed only if it does not exit: killing it first would orphan the process to the host's
    // init instead of having it reaped, and a runc killed before it started the process could
    // leave it starting unwatched.
    const kill = (): void => {
      if (backstop) return;
      backstop = setTimeout(() => child.kill("SIGKILL"), RUNC_EXIT_GRACE_MS);
      void killExecTree(pidFile, opts.containerPid, () => exited);
    };
    const timer =
      opts.timeoutSec > 0
        ? setTimeout(() => {
            timedOut = true;
            kill();
          }, opts.timeoutSec * 1000)
        : undefined;
    const onAbort = (): void => {
      abandoned = true;
      kill();
    };
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const res = await child;
    exited = true;
    opts.signal?.removeEventListener("abort", onAbort);
    clearTimeout(timer);
    clearTimeout(backstop);
    if (abandoned && !timedOut) {
      const reason: unknown = opts.signal?.reason;
      throw reason instanceof BerthError
        ? reason
        : new DeadlineExceededError(
            `command ${JSON.stringify(opts.cmd)} in container ${opts.containerId} was cancelled`,
          );
    }
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

/** How often, and how many times, the pid file is looked for when the timeout comes first. */
const PID_FILE_POLL_MS = 50;
const PID_FILE_POLLS = RUNC_EXIT_GRACE_MS / PID_FILE_POLL_MS;

async function killExecTree(
  pidFile: string,
  containerPid: number | undefined,
  runcExited: () => boolean,
): Promise<void> {
  // runc writes the pid file once the process runs: a timeout that comes first waits for it.
  for (let poll = 0; poll < PID_FILE_POLLS && !runcExited(); poll++) {
    const pid = Number.parseInt(await readFile(pidFile, "utf8").catch(() => ""), 10);
    if (pid > 0) {
      await killExecSession(pid, containerPid);
      return;
    }
    await sleep(PID_FILE_POLL_MS);
  }
  // No pid file: runc did not start the process; the backstop kills runc.
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
