// Starts a container under conmon. conmon runs `runc create`, then holds the container's
// stdio, writes the CRI log file, records the exit code in the exits dir and outlives the
// agent, so berth never owns a container's pipes. We talk to it over two inherited fds:
// a start pipe (one byte: go ahead) and a sync pipe (JSON: the container pid or an error).
import { spawn } from "node:child_process";
import { openSync, closeSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { createFailure } from "./create-failure.js";

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
  /** The working directory the config chose: a failure to make or enter it is the caller's mistake. */
  workingDir?: string;
}

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
/** Removes what conmon leaves for a container in the shared run dirs, which outlive its bundle:
 * the exit file and the link to the bundle it makes under the attach socket dir. */
export async function removeConmonRunFiles(opts: ConmonOptions, containerId: string): Promise<void> {
  await rm(join(opts.exitsDir, containerId), { force: true });
  await rm(join(opts.attachDir, containerId), { recursive: true, force: true });
}

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

  const diagFd = openSync(launch.conmonLogPath, "a", 0o600);
  let child;
  try {
    child = spawn(opts.conmonBinary, args, {
      // fd 3: sync pipe, fd 4: start pipe. stdout/stderr go to a file, never to us, since
      // conmon's daemonized child keeps them open for the container's lifetime.
      stdio: ["ignore", diagFd, diagFd, "pipe", "pipe"],
      env: { ...process.env, _OCI_SYNCPIPE: "3", _OCI_STARTPIPE: "4" },
      detached: true,
    });
  } finally {
    closeSync(diagFd);
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
      if (err) {
        const ctx = {
          containerId: launch.containerId,
          ...(launch.workingDir ? { workingDir: launch.workingDir } : {}),
        };
        reject(createFailure(ctx, err.message));
      } else resolve(pid as number);
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
    child.on("error", (e) => finish(e));
    startPipe.write(Buffer.from([0]));
  });
}
