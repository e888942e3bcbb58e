// Starts a container under conmon. conmon runs `runc create`, then holds the container's
// stdio, writes the CRI log file, records the exit code in the exits dir and outlives the
// agent, so berth never owns a container's pipes. We talk to it over two inherited fds:
// a start pipe (one byte: go ahead) and a sync pipe (JSON: the container pid or an error).
import { spawn } from "node:child_process";
import { open } from "node:fs/promises";
import type { Readable, Writable } from "node:stream";
import { RuntimeFailureError } from "../../common/errors.js";

export interface ConmonOptions {
  conmonBinary: string;
  runcBinary: string;
  runcRoot: string;
  exitsDir: string;
  attachDir: string;
}

export interface ConmonLaunch {
  containerId: string;
  name: string;
  bundleDir: string;
  /** Where conmon writes the CRI-format log. */
  logPath: string;
  terminal: boolean;
  stdin: boolean;
  /** Keep the container's stdin open when an attached client leaves (CRI stdin_once false). */
  leaveStdinOpen?: boolean;
  /** Receives conmon's own diagnostics. */
  conmonLogPath: string;
  logSizeMax?: number;
  timeoutMs?: number;
}

/** How long the sync pipe may take to explain a start pipe that broke. */
const START_PIPE_GRACE_MS = 2000;

/** Paths inside a container's bundle dir that conmon writes. */
export function conmonFiles(bundleDir: string): {
  pidFile: string;
  conmonPidFile: string;
  exitFile: string;
  oomFile: string;
} {
  return {
    pidFile: `${bundleDir}/pidfile`,
    conmonPidFile: `${bundleDir}/conmon.pid`,
    exitFile: `${bundleDir}/exit`,
    oomFile: `${bundleDir}/oom`,
  };
}

/** Runs conmon (which runs `runc create`) and resolves with the container's init pid. */
export async function createWithConmon(opts: ConmonOptions, launch: ConmonLaunch): Promise<number> {
  const files = conmonFiles(launch.bundleDir);
  const args = [
    "--api-version",
    "1",
    "-c",
    launch.containerId,
    "-u",
    launch.containerId,
    "-n",
    launch.name,
    "-r",
    opts.runcBinary,
    "--runtime-arg",
    `--root=${opts.runcRoot}`,
    "-b",
    launch.bundleDir,
    "-p",
    files.pidFile,
    "-P",
    files.conmonPidFile,
    "-l",
    `k8s-file:${launch.logPath}`,
    "--exit-dir",
    opts.exitsDir,
    "--persist-dir",
    launch.bundleDir,
    "--socket-dir-path",
    opts.attachDir,
    "--log-level",
    "info",
  ];
  if (launch.terminal) args.push("-t");
  else if (launch.stdin) args.push("-i");
  if (launch.stdin && launch.leaveStdinOpen) args.push("--leave-stdin-open");
  if (launch.logSizeMax && launch.logSizeMax > 0) args.push("--log-size-max", String(launch.logSizeMax));

  const diag = await open(launch.conmonLogPath, "a", 0o600);
  let child;
  try {
    child = spawn(opts.conmonBinary, args, {
      // fd 3: sync pipe, fd 4: start pipe. stdout/stderr go to a file, never to us, since
      // conmon's daemonized child keeps them open for the container's lifetime.
      stdio: ["ignore", diag.fd, diag.fd, "pipe", "pipe"],
      env: { ...process.env, _OCI_SYNCPIPE: "3", _OCI_STARTPIPE: "4" },
      detached: true,
    });
  } finally {
    // Not awaited: the pipes' listeners below must be attached before the event loop turns,
    // or a conmon that exits at once ends the sync pipe unheard. The child holds its own copy.
    void diag.close().catch(() => undefined);
  }
  const syncPipe = child.stdio[3] as Readable;
  const startPipe = child.stdio[4] as Writable;
  child.unref();

  return await new Promise<number>((resolve, reject) => {
    let buffered = "";
    let settled = false;
    const timer = setTimeout(
      () => finish(new Error("timed out waiting for conmon to create the container")),
      launch.timeoutMs ?? 60_000,
    );
    const finish = (err: Error | undefined, pid?: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // The daemonized conmon keeps its end open until the container exits; we are done with ours.
      syncPipe.destroy();
      startPipe.destroy();
      if (err) reject(new RuntimeFailureError(`conmon for container ${launch.containerId}: ${err.message}`));
      else resolve(pid as number);
    };
    syncPipe.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const line = buffered.split("\n")[0];
      if (!buffered.includes("\n") || line === undefined) return;
      try {
        const msg = JSON.parse(line) as { data?: number; message?: string };
        if (typeof msg.data === "number" && msg.data > 0) finish(undefined, msg.data);
        else finish(new Error(msg.message?.trim() || "container creation failed"));
      } catch {
        finish(new Error(`unexpected message from conmon: ${line}`));
      }
    });
    syncPipe.on("end", () =>
      finish(new Error("conmon exited before the container was created (see conmon.log)")),
    );
    syncPipe.on("error", (e) => finish(e));
    // conmon may exit before it reads the start byte (it could not open the log file, say):
    // the write then fails with EPIPE or ECONNRESET, which must fail this create, not the agent.
    // conmon's own words come on the sync pipe, so that gets a moment to deliver them first.
    startPipe.on("error", (e) => {
      const fallback = setTimeout(
        () => finish(new Error(`conmon exited before it was told to start (${e.message})`)),
        START_PIPE_GRACE_MS,
      );
      fallback.unref();
    });
    child.on("error", (e) => finish(e));
    startPipe.write(Buffer.from([0]));
  });
}
