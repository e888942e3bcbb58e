// Exec with a terminal. runc hands the pty master over a unix socket with SCM_RIGHTS,
// which Node cannot receive, so conmon does it: in exec mode (`--exec`) it runs
// `runc exec --detach --console-socket`, keeps the master, and serves it on an attach
// socket of its own, with the control fifo (resize) in the session dir. With
// `--exec-attach` it waits, before starting the process, until we say we are attached,
// so no early output is lost. The handshake, over inherited pipes:
//   start pipe  <- first byte: go on (conmon forks and sets up its sockets)
//   attach pipe -> {"data": 0}: the attach socket is ready; we connect to it
//   start pipe  <- second byte: start the process
//   sync pipe   -> {"data": <pid>} once running (negative, with a message, on failure)
//   sync pipe   -> {"data": <exit code>} when it exits
// No --exit-dir is given: conmon would write the container's exit file there.
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdir, open, readFile, rm, writeFile, constants } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import type { Logger } from "../../common/logger.js";
import type { Spec } from "../runtime/oci-types.js";
import type { CommandOutcome, CommandStreams, TerminalSize } from "./command.js";
import { attachConmon } from "./conmon-attach.js";

export interface TerminalExecTarget {
  conmonBinary: string;
  runcBinary: string;
  runcRoot: string;
  /** conmon's --socket-dir-path: the session's attach socket is reached through it. */
  attachDir: string;
  perlBinary: string;
  containerId: string;
  process: NonNullable<Spec["process"]>;
  /** The container's bundle dir: each session gets a dir inside it. */
  bundleDir: string;
  logger: Logger;
}

/** How long conmon may take to set up its sockets and start the process. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** How long to wait for the client's first terminal size before starting without one. */
const INITIAL_SIZE_WAIT_MS = 500;
/** How long output may keep draining after the exit code arrived. */
const DRAIN_TIMEOUT_MS = 5_000;

export async function execWithTerminal(
  target: TerminalExecTarget,
  cmd: string[],
  streams: CommandStreams,
): Promise<CommandOutcome> {
  const sessionId = randomBytes(16).toString("hex");
  const dir = join(target.bundleDir, `exec-${sessionId}`);
  const socketDir = join(target.attachDir, sessionId);
  const log = target.logger.child({ container: target.containerId, execSession: sessionId });
  let processPid: number | undefined;
  let detach: (() => void) | undefined;
  const kill = (): void => {
    const pid = processPid ?? readPid(join(dir, "conmon.pid"));
    if (pid) signalQuietly(pid);
  };

  // Sizes that come before the terminal exists are applied once it does.
  const ctl = join(dir, "ctl");
  const pendingSizes: TerminalSize[] = [];
  let resizing = Promise.resolve();
  const applySize = (size: TerminalSize): void => {
    resizing = resizing
      .then(() => writeControl(ctl, `1 ${size.height} ${size.width}\n`))
      .catch((err: Error) => log.warn({ err }, "terminal resize failed"));
  };
  let sizeArrived: (() => void) | undefined;
  streams.onResize((size) => {
    if (processPid) return applySize(size);
    pendingSizes.push(size);
    sizeArrived?.();
  });
  const onAbort = (): void => kill();
  streams.signal.addEventListener("abort", onAbort, { once: true });

  await mkdir(dir, { mode: 0o700 });
  try {
    const processFile = join(dir, "process.json");
    // Clients send the terminal's size first thing; creating the pty with it means the
    // process never sees a 0x0 terminal, which a resize after the start could not prevent.
    if (pendingSizes.length === 0) {
      await new Promise<void>((resolve) => {
        sizeArrived = resolve;
        setTimeout(resolve, INITIAL_SIZE_WAIT_MS);
      });
    }
    const initial = pendingSizes[pendingSizes.length - 1];
    const consoleSize = initial ? { height: initial.height, width: initial.width } : undefined;
    await writeFile(
      processFile,
      JSON.stringify({ ...target.process, args: cmd, terminal: true, consoleSize }),
      { mode: 0o600 },
    );
    const child = spawnConmon(target, sessionId, dir, processFile, streams.stdin !== undefined);
    const syncPipe = new JsonLines(child.stdio[3] as Readable);
    const startPipe = child.stdio[4] as Writable;
    const attachPipe = new JsonLines((child.stdio as unknown as Readable[])[5] as Readable);
    startPipe.on("error", () => undefined);
    const spawnFailed = new Promise<undefined>((resolve) => child.on("error", () => resolve(undefined)));

    startPipe.write(Buffer.from([0]));
    const ready = await withTimeout(
      Promise.race([attachPipe.next(), spawnFailed]),
      "conmon to set up the exec session",
    );
    if (!ready || ready.data < 0) {
      return {
        kind: "failed",
        message: `conmon could not set up the exec session: ${ready?.message ?? (await conmonLog(dir))}`,
      };
    }
    const attachment = attachConmon(socketDir, streams, target.perlBinary);
    detach = attachment.detach;
    await withTimeout(attachment.connected, "the exec session's attach socket");
    startPipe.end(Buffer.from([0]));

    const started = await withTimeout(syncPipe.next(), "the exec'd process to start");
    if (!started || started.data <= 0) {
      return { kind: "failed", message: started?.message?.trim() || `exec failed: ${await conmonLog(dir)}` };
    }
    processPid = started.data;
    if (streams.signal.aborted) kill();
    log.debug({ pid: processPid }, "exec session started");
    for (const size of pendingSizes.splice(0)) applySize(size);

    const exited = await syncPipe.next();
    await withTimeout(attachment.done, "output to drain", DRAIN_TIMEOUT_MS).catch(() => undefined);
    if (!exited)
      return {
        kind: "failed",
        message: `conmon exited without reporting the exit code: ${await conmonLog(dir)}`,
      };
    if (exited.message) return { kind: "failed", message: exited.message.trim() };
    return { kind: "exited", exitCode: exited.data };
  } catch (err) {
    kill();
    return { kind: "failed", message: (err as Error).message };
  } finally {
    streams.signal.removeEventListener("abort", onAbort);
    detach?.();
    await resizing;
    await rm(dir, { recursive: true, force: true });
    // conmon removes its symlink when it exits normally; not when it was killed.
    await rm(socketDir, { force: true });
  }
}

function spawnConmon(
  target: TerminalExecTarget,
  sessionId: string,
  dir: string,
  processFile: string,
  stdin: boolean,
) {
  const args = [
    "--api-version",
    "1",
    "-c",
    target.containerId,
    "-u",
    sessionId,
    "-n",
    `${target.containerId}-exec`,
    "-r",
    target.runcBinary,
    "--runtime-arg",
    `--root=${target.runcRoot}`,
    "-b",
    dir,
    "-p",
    join(dir, "pid"),
    "-P",
    join(dir, "conmon.pid"),
    "-l",
    "none",
    "--exec",
    "--exec-process-spec",
    processFile,
    "--exec-attach",
    "--socket-dir-path",
    target.attachDir,
    "-t",
    ...(stdin ? ["-i"] : []),
    "--log-level",
    "info",
  ];
  const diagFd = openSync(join(dir, "conmon.log"), "a", 0o600);
  try {
    const child = spawn(target.conmonBinary, args, {
      // fd 3: sync pipe, fd 4: start pipe, fd 5: attach pipe.
      stdio: ["ignore", diagFd, diagFd, "pipe", "pipe", "pipe"],
      env: { ...process.env, _OCI_SYNCPIPE: "3", _OCI_STARTPIPE: "4", _OCI_ATTACHPIPE: "5" },
      detached: true,
    });
    child.unref();
    return child;
  } finally {
    closeSync(diagFd);
  }
}

interface SyncMessage {
  data: number;
  message?: string;
}

/** Reads conmon's newline-delimited JSON messages from one pipe. */
class JsonLines {
  private buffered = "";
  private readonly lines: string[] = [];
  private ended = false;
  private waiter: (() => void) | undefined;

  constructor(stream: Readable) {
    stream.setEncoding("utf8");
    stream.on("data", (text: string) => {
      this.buffered += text;
      let newline: number;
      while ((newline = this.buffered.indexOf("\n")) >= 0) {
        this.lines.push(this.buffered.slice(0, newline));
        this.buffered = this.buffered.slice(newline + 1);
      }
      this.wake();
    });
    const end = (): void => {
      this.ended = true;
      this.wake();
    };
    stream.on("end", end);
    stream.on("close", end);
    stream.on("error", end);
  }

  /** The next message, or undefined once the pipe closed. */
  async next(): Promise<SyncMessage | undefined> {
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) {
        try {
          return JSON.parse(line) as SyncMessage;
        } catch {
          return { data: -1, message: `unexpected message from conmon: ${line}` };
        }
      }
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

async function withTimeout<T>(promise: Promise<T>, what: string, ms = HANDSHAKE_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** conmon's control fifo; opened non-blocking, since conmon holds its reading end. */
export async function writeControl(fifo: string, message: string): Promise<void> {
  // conmon's reader may be briefly absent (ENXIO) or the fifo momentarily full (EAGAIN) on a
  // busy host; a dropped resize leaves the terminal at the wrong size, so try a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      const fh = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      try {
        await fh.write(message);
      } finally {
        await fh.close();
      }
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (attempt >= 10 || (code !== "ENXIO" && code !== "EAGAIN")) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
    }
  }
}

async function conmonLog(dir: string): Promise<string> {
  const text = await readFile(join(dir, "conmon.log"), "utf8").catch(() => "");
  return text.trim().split("\n").slice(-3).join("; ") || "no diagnostics";
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8"), 10);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function signalQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
