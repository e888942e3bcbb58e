// What the streaming server runs against berth's runtime: exec, attach and port-forward
// for the containers and sandboxes in the runtime's registry.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import type { AttachRequest, ExecRequest } from "../api/generated/api.js";
import type { RuntimeDeps } from "../runtime/deps.js";
import type { Spec } from "../runtime/oci-types.js";
import type { ContainerRecord } from "../runtime/records.js";
import { attachToContainer } from "./attach.js";
import type { CommandOutcome, CommandStreams } from "./command.js";
import { execWithPipes } from "./exec-pipes.js";
import { execWithTerminal } from "./exec-terminal.js";
import { forwardPort } from "./port-forward.js";

export interface StreamingBackend {
  exec(request: ExecRequest, streams: CommandStreams): Promise<CommandOutcome>;
  attach(request: AttachRequest, streams: CommandStreams): Promise<CommandOutcome>;
  /** Connects `connection` to the port inside the sandbox; rejects when it cannot be reached. */
  portForward(podSandboxId: string, port: number, connection: Duplex, signal: AbortSignal): Promise<void>;
}

export interface HelperBinaries {
  perlBinary?: string;
  nsenterBinary?: string;
}

type BackendDeps = Pick<RuntimeDeps, "registry" | "runc" | "conmon" | "logger">;

export class RuntimeStreamingBackend implements StreamingBackend {
  private readonly perlBinary: string;
  private readonly nsenterBinary: string;

  constructor(
    private readonly deps: BackendDeps,
    helpers: HelperBinaries = {},
  ) {
    this.perlBinary = helpers.perlBinary ?? "/usr/bin/perl";
    this.nsenterBinary = helpers.nsenterBinary ?? "/usr/bin/nsenter";
  }

  async exec(request: ExecRequest, streams: CommandStreams): Promise<CommandOutcome> {
    const record = this.runningContainer(request.containerId);
    if (typeof record === "string") return { kind: "failed", message: record };
    const process = await processSpec(record);
    if (request.tty) {
      return execWithTerminal(
        {
          conmonBinary: this.deps.conmon.conmonBinary,
          runcBinary: this.deps.runc.binary,
          runcRoot: this.deps.runc.root,
          attachDir: this.deps.conmon.attachDir,
          perlBinary: this.perlBinary,
          containerId: record.id,
          process,
          bundleDir: record.bundleDir,
          logger: this.deps.logger,
        },
        request.cmd,
        streams,
      );
    }
    return execWithPipes(
      {
        runcBinary: this.deps.runc.binary,
        runcRoot: this.deps.runc.root,
        containerId: record.id,
        process,
        scratchDir: record.bundleDir,
      },
      request.cmd,
      streams,
    );
  }

  async attach(request: AttachRequest, streams: CommandStreams): Promise<CommandOutcome> {
    const record = this.runningContainer(request.containerId);
    if (typeof record === "string") return { kind: "failed", message: record };
    // The container's stdin exists only when it was created with one.
    const withStdin = record.config.stdin ? streams : { ...streams, stdin: undefined };
    return attachToContainer(
      {
        attachDir: this.deps.conmon.attachDir,
        containerId: record.id,
        bundleDir: record.bundleDir,
        perlBinary: this.perlBinary,
        logger: this.deps.logger,
      },
      { ...withStdin, tty: record.config.tty },
    );
  }

  async portForward(
    podSandboxId: string,
    port: number,
    connection: Duplex,
    signal: AbortSignal,
  ): Promise<void> {
    const sandbox = this.deps.registry.sandboxes.get(podSandboxId);
    if (!sandbox || sandbox.state !== "ready") throw new Error(`pod sandbox ${podSandboxId} is not ready`);
    await forwardPort(
      { netnsPath: sandbox.netnsPath, perlBinary: this.perlBinary, nsenterBinary: this.nsenterBinary },
      port,
      connection,
      signal,
    );
  }

  /** The record, or why it cannot be streamed to (it may have stopped since the RPC). */
  private runningContainer(id: string): ContainerRecord | string {
    const record = this.deps.registry.findContainer(id);
    if (!record) return `container ${id} not found`;
    if (record.state !== "running") return `container ${id} is ${record.state}, not running`;
    return record;
  }
}

async function processSpec(record: ContainerRecord): Promise<NonNullable<Spec["process"]>> {
  const spec = JSON.parse(await readFile(join(record.bundleDir, "config.json"), "utf8")) as Spec;
  if (!spec.process) throw new Error(`container ${record.id} has no process spec`);
  return spec.process;
}
