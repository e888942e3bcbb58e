// Runs the built berth binary (`berth agent`) as its own process, for tests that kill it
// like a crash would, and for CLI tests. Requires `npm run build` (npm test does it).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { randomBytes } from "node:crypto";
import { connectCri, type CriClients } from "../cri/grpc-client.js";
import { ImageStore } from "../cri/images/store.js";
import { silentLogger } from "../common/logger.js";
import { buildBusyboxImage } from "./oci-image.js";

/** The repository root, whether this file runs from source (vitest) or from dist/. */
function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, "package.json"))) dir = dirname(dir);
  return dir;
}

export const BERTH_BIN = join(repoRoot(), "dist", "agent", "cli", "main.js");

export interface AgentDirs {
  socket: string;
  stateDir: string;
  runDir: string;
  cgroupRoot: string;
}

export interface AgentProcess {
  child: ChildProcess;
  cri: CriClients;
  output(): string;
  /** SIGKILL, as a crash. */
  kill9(): Promise<void>;
  /** SIGTERM, and wait for exit. */
  stop(): Promise<void>;
}

/** A fresh temp root with an agent's socket, state and run dirs, and a relative cgroup root. */
export async function agentTestDirs(prefix: string): Promise<{ root: string; dirs: AgentDirs }> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  return {
    root,
    dirs: {
      socket: join(root, "berth.sock"),
      stateDir: join(root, "state"),
      runDir: join(root, "run"),
      cgroupRoot: `berth-it-${randomBytes(4).toString("hex")}`,
    },
  };
}

/**
 * Builds a busybox image named `name` under `root` and imports it into the agent's state dir
 * before the agent starts, as `berth image import` would. Returns the OCI layout's path.
 */
export async function importBusyboxBeforeStart(root: string, dirs: AgentDirs, name: string): Promise<string> {
  const layout = join(root, "layout");
  await buildBusyboxImage(layout, { name });
  const store = new ImageStore({ root: join(dirs.stateDir, "images"), logger: silentLogger() });
  await store.init();
  await store.importOciLayout(layout);
  return layout;
}

export function requireBuild(): void {
  if (!existsSync(BERTH_BIN))
    throw new Error(`${BERTH_BIN} is missing: run "npm run build" first (npm test does)`);
}

export interface AgentProcessOptions {
  /** Added to the agent's environment (e.g. a PATH with slowed helper binaries first). */
  env?: NodeJS.ProcessEnv;
}

export async function startAgentProcess(
  dirs: AgentDirs,
  extraArgs: string[] = ["--no-cni"],
  options: AgentProcessOptions = {},
): Promise<AgentProcess> {
  requireBuild();
  const child = spawn(
    process.execPath,
    [
      BERTH_BIN,
      "agent",
      "--socket",
      dirs.socket,
      "--state-dir",
      dirs.stateDir,
      "--run-dir",
      dirs.runDir,
      "--cgroup-root",
      dirs.cgroupRoot,
      "--log-level",
      "debug",
      ...extraArgs,
    ],
    // Port 0: tests must not depend on (or fight over) the default HTTP port.
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, BERTH_HTTP_PORT: "0", ...options.env } },
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // Ready when it logs that it serves (the socket is bound by then).
  const deadline = Date.now() + 30_000;
  while (!out.includes("berth agent serving")) {
    if (child.exitCode !== null) throw new Error(`berth agent exited early:\n${out}`);
    if (Date.now() > deadline) throw new Error(`berth agent did not start in time:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const cri = connectCri(dirs.socket, 60_000);
  return {
    child,
    cri,
    output: () => out,
    kill9: async () => {
      cri.close();
      child.kill("SIGKILL");
      await exited;
    },
    stop: async () => {
      cri.close();
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
