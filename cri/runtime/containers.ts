// Containers: an overlay rootfs from the image, an OCI spec from the CRI config, conmon
// running `runc create`, then `runc start`. Stop is the stop signal, a grace period on a
// cancellable wait, then SIGKILL. Exits are read from what conmon records.
import { mkdir, rm, writeFile, readFile, open, constants } from "node:fs/promises";
import { dirname, join } from "node:path";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../../common/errors.js";
import {
  NamespaceMode,
  Signal,
  type ContainerConfig,
  type LinuxContainerResources,
} from "../api/generated/api.js";
import { createWithConmon } from "./conmon.js";
import { deleteContainerAndMonitor } from "./container-teardown.js";
import { explainCreateFailure } from "./create-failure.js";
import type { RuntimeDeps } from "./deps.js";
import { readExit, waitForExit, type ExitInfo } from "./exit-file.js";
import { checkLogDirectory, logFileIdentity, waitForReopenedLog } from "./log-reopen.js";
import { buildContainerSpec, containerCapabilities, containerSeccomp, ociResources } from "./oci-spec.js";
import type { Spec } from "./oci-types.js";
import type { ContainerRecord } from "./records.js";
import { sandboxFilePaths } from "./sandbox-files.js";
import { newId, type SandboxManager, type SandboxContainerOps } from "./sandboxes.js";
import { UndoStack } from "./undo.js";
import { shiftRootfsForPod } from "./userns.js";
import type { ContainerLifecycleChange, ContainerLifecycleObserver } from "../events/lifecycle.js";
import { validateContainerConfig, validateLinuxResources } from "./validate-config.js";
import { checkLogFileOnHost } from "./log-directory.js";
import { checkCpusetsOnHost } from "./host-limits.js";

/** How long to wait for conmon to record an exit after SIGKILL. */
const KILL_WAIT_MS = 10_000;

export class ContainerManager implements SandboxContainerOps {
  constructor(
    private readonly deps: RuntimeDeps,
    private readonly sandboxes: SandboxManager,
  ) {}

  get(id: string): ContainerRecord {
    const record = this.deps.registry.findContainer(id);
    if (!record || record.state === "creating") throw new NotFoundError("container", id);
    return record;
  }

  list(): ContainerRecord[] {
    return [...this.deps.registry.containers.values()].filter((c) => c.state !== "creating");
  }

  async create(sandboxId: string, rawConfig: ContainerConfig | undefined): Promise<string> {
    const config = validateContainerConfig(rawConfig);
    const sandbox = this.sandboxes.get(sandboxId);
    if (sandbox.state !== "ready") {
      throw new FailedPreconditionError(
        `pod sandbox ${sandbox.id} is not ready: cannot create containers in it`,
      );
    }
    const imageRef = config.image?.image ?? "";
    const image = this.deps.images.resolve(imageRef);
    if (!image) throw new NotFoundError("image", imageRef);
    // CRI: log_path is relative to the sandbox's log_directory; with either unset there is no log file.
    const requestedLogPath =
      config.logPath && sandbox.config.logDirectory ? join(sandbox.config.logDirectory, config.logPath) : "";
    if (requestedLogPath) await checkLogFileOnHost(requestedLogPath, "config.log_path");
    if (config.linux?.resources)
      await this.checkResourcesOnHost(config.linux.resources, "config.linux.resources");
    const seccomp = await containerSeccomp(config, this.deps.host);
    const meta = config.metadata!;
    const { registry, logger } = this.deps;
    const id = newId();
    const reservedName = `${meta.name}_${sandbox.reservedName}_${meta.attempt}`;
    registry.reserveName("container", reservedName, id);
    const log = logger.child({ container: id, sandbox: sandbox.id, name: meta.name });
    try {
      return await UndoStack.run(log, async (undo) => {
        const bundleDir = join(this.deps.paths.containersDir, id);
        const record: ContainerRecord = {
          id,
          sandboxId: sandbox.id,
          reservedName,
          state: "creating",
          config,
          imageRef,
          imageId: image.id,
          createdAt: this.deps.clock.now() * 1e6,
          startedAt: 0,
          finishedAt: 0,
          exitCode: 0,
          reason: "",
          message: "",
          logPath: requestedLogPath,
          bundleDir,
          cgroupsPath: `${sandbox.cgroupParent}/${id}`,
          stopSignal: signalName(config.stopSignal) ?? (image.config.stopSignal || "SIGTERM"),
        };
        await this.deps.containerStore.save(record);
        registry.containers.set(id, record);
        undo.push("record", async () => {
          registry.containers.delete(id);
          await this.deps.containerStore.remove(id);
        });

        await mkdir(bundleDir, { recursive: true, mode: 0o700 });
        undo.push("bundle dir", () => rm(bundleDir, { recursive: true, force: true }));
        const rootfsPath = await this.deps.snapshots.prepare(id, this.deps.images.layerDirs(image));
        undo.push("rootfs", () => this.deps.snapshots.remove(id));
        await shiftRootfsForPod(rootfsPath, sandbox.config, log);

        const files = sandboxFilePaths(sandbox.dir);
        const spec = await buildContainerSpec({
          containerId: id,
          config,
          sandbox: {
            id: sandbox.id,
            config: sandbox.config,
            netnsPath: sandbox.netnsPath,
            infraPid: sandbox.infraPid ?? 0,
            ...files,
            shmPath: sandbox.shmPath,
          },
          image: image.config,
          rootfsPath,
          cgroupsPath: record.cgroupsPath,
          host: this.deps.host,
          targetPid: this.targetPid(config),
          defaultNoNewPrivileges: this.deps.defaultNoNewPrivileges,
          prepared: { seccomp },
        });
        await writeFile(join(bundleDir, "config.json"), JSON.stringify(spec), { mode: 0o600 });
        const processUser = spec.process?.user;
        if (processUser) {
          const { uid, gid, additionalGids = [] } = processUser;
          record.user = { uid, gid, additionalGids };
        }
        const { droppedByHost } = containerCapabilities(config.linux?.securityContext, this.deps.host);
        if (droppedByHost.length > 0) {
          log.warn(
            { capabilities: droppedByHost },
            "capabilities outside the host's bounding set were not granted",
          );
        }

        const logPath = record.logPath || join(bundleDir, "container.log");
        await mkdir(dirname(logPath), { recursive: true, mode: 0o755 });
        undo.push("runc container", () =>
          deleteContainerAndMonitor(this.deps.runc, this.deps.conmon, { id, bundleDir }, log),
        );
        record.pid = await createWithConmon(this.deps.conmon, {
          containerId: id,
          name: reservedName,
          bundleDir,
          logPath,
          conmonLogPath: join(bundleDir, "conmon.log"),
          terminal: config.tty,
          stdin: config.stdin,
          leaveStdinOpen: !config.stdinOnce,
        }).catch((err: unknown) => {
          throw explainCreateFailure(err, {
            sysctls: sandbox.config.linux?.sysctls,
            sysctlsField: "sandbox_config.linux.sysctls",
            commandField: "config.command",
            ...(config.workingDir && spec.process?.cwd ? { workingDir: spec.process.cwd } : {}),
          });
        });
        record.state = "created";
        await this.deps.containerStore.save(record);
        log.info("container created");
        this.notify("created", record);
        return id;
      });
    } catch (err) {
      registry.releaseName(reservedName, id);
      throw err;
    }
  }

  /** What only the host can answer: are these CPUs and memory nodes there, is there cgroup v2. */
  private async checkResourcesOnHost(resources: LinuxContainerResources, field: string): Promise<void> {
    await checkCpusetsOnHost(resources, field);
    if (Object.keys(resources.unified).length > 0 && this.deps.cgroups.layout.mode !== "unified") {
      throw new FailedPreconditionError(
        `${field}.unified: cgroup v2 files cannot be set on this host, whose resource controllers are cgroup v1`,
      );
    }
  }

  private targetPid(config: ContainerConfig): number | undefined {
    const ns = config.linux?.securityContext?.namespaceOptions;
    if (ns?.pid !== NamespaceMode.TARGET) return undefined;
    const target = this.deps.registry.findContainer(ns.targetId);
    if (!target || target.state !== "running" || !target.pid) {
      throw new NotFoundError("running target container", ns.targetId);
    }
    return target.pid;
  }

  async start(id: string): Promise<void> {
    const record = this.get(id);
    await this.deps.locks.with(record.id, async () => {
      if (record.state !== "created") {
        throw new FailedPreconditionError(
          `container ${record.id} is ${record.state}, not created: cannot start it`,
        );
      }
      // Taken before `runc start`: the process may run and exit before the call returns.
      const startedAt = this.deps.clock.now() * 1e6;
      try {
        await this.deps.runc.start(record.id);
      } catch (err) {
        record.state = "exited";
        record.exitCode = 128;
        record.reason = "StartError";
        record.message = err instanceof Error ? err.message : String(err);
        record.finishedAt = this.deps.clock.now() * 1e6;
        await this.deps.containerStore.save(record);
        this.notify("stopped", record);
        throw err;
      }
      record.startedAt = startedAt;
      if (record.state === "created") record.state = "running";
      await this.deps.containerStore.save(record);
      this.deps.logger.info({ container: record.id }, "container started");
      if (record.state === "running") this.notify("started", record);
    });
  }

  /** Sends the stop signal, waits up to timeoutSec, then SIGKILL; idempotent. */
  async stop(id: string, timeoutSec: number): Promise<void> {
    const record = this.deps.registry.findContainer(id);
    if (!record) throw new NotFoundError("container", id);
    await this.deps.locks.with(record.id, () => this.stopLocked(record, timeoutSec));
  }

  private async stopLocked(record: ContainerRecord, timeoutSec: number): Promise<void> {
    if (await this.refresh(record)) return;
    if (record.state !== "running" && record.state !== "created") return;
    if (timeoutSec > 0 && record.state === "running") {
      await this.deps.runc.kill(record.id, record.stopSignal);
      const exit = await waitForExit(record.bundleDir, timeoutSec * 1000);
      if (exit) return void (await this.recordExit(record, exit));
    }
    await this.deps.runc.kill(record.id, "KILL", true);
    const exit = await waitForExit(record.bundleDir, KILL_WAIT_MS);
    if (exit) return void (await this.recordExit(record, exit));
    // conmon is gone (or the container was never started): take runc's word for it.
    const state = await this.deps.runc.state(record.id);
    if (!state || state.status === "stopped") {
      await this.recordExit(record, {
        exitCode: 137,
        finishedAt: this.deps.clock.now() * 1e6,
        oomKilled: false,
      });
      return;
    }
    throw new FailedPreconditionError(`container ${record.id} did not exit after SIGKILL`);
  }

  /** Updates a live record from conmon's exit file; true when the container has exited. */
  async refresh(record: ContainerRecord): Promise<boolean> {
    if (record.state === "exited") return true;
    if (record.state !== "running" && record.state !== "created") return false;
    const exit = await readExit(record.bundleDir);
    if (!exit) return false;
    await this.recordExit(record, exit);
    return true;
  }

  private async recordExit(record: ContainerRecord, exit: ExitInfo): Promise<void> {
    if (record.state === "exited") return;
    // Asked before the state changes, so no reader sees an exit without its final reason.
    const oomKilled = (await this.initOomKilled(record, exit)) ?? exit.oomKilled;
    if (this.exitRecorded(record)) return; // by a concurrent caller, while the question was out
    record.state = "exited";
    record.exitCode = exit.exitCode;
    record.finishedAt = exit.finishedAt;
    record.reason = oomKilled ? "OOMKilled" : exit.exitCode === 0 ? "Completed" : "Error";
    record.pid = undefined;
    await this.deps.containerStore.save(record);
    this.notify("stopped", record);
    this.deps.logger.info(
      { container: record.id, exitCode: exit.exitCode, reason: record.reason },
      "container exited",
    );
  }

  /** Called by the exit monitor when conmon records an exit. */
  async onExit(id: string): Promise<void> {
    const record = this.deps.registry.containers.get(id);
    if (!record) return;
    await this.deps.locks.with(record.id, () => this.refresh(record));
  }

  async remove(id: string): Promise<void> {
    const record = this.deps.registry.findContainer(id);
    if (!record) return; // CRI: removing an unknown container is not an error
    await this.deps.locks.with(record.id, async () => {
      if (record.state === "running" || record.state === "created") await this.stopLocked(record, 0);
      await this.destroy(record);
    });
  }

  private async destroy(record: ContainerRecord): Promise<void> {
    await deleteContainerAndMonitor(this.deps.runc, this.deps.conmon, record, this.deps.logger);
    await this.deps.snapshots.remove(record.id);
    await this.deps.cgroups.remove(record.cgroupsPath);
    await rm(record.bundleDir, { recursive: true, force: true });
    await this.deps.containerStore.remove(record.id);
    this.deps.registry.containers.delete(record.id);
    this.deps.registry.releaseName(record.reservedName, record.id);
    this.deps.logger.info({ container: record.id }, "container removed");
    this.notify("deleted", record);
  }

  async stopAll(sandboxId: string): Promise<void> {
    for (const c of this.deps.registry.containersOf(sandboxId)) {
      if (c.state === "creating") continue;
      await this.stop(c.id, 0);
    }
  }

  async removeAll(sandboxId: string): Promise<void> {
    for (const c of this.deps.registry.containersOf(sandboxId)) {
      if (c.state === "creating") await this.deps.locks.with(c.id, () => this.destroy(c));
      else await this.remove(c.id);
    }
  }

  async updateResources(id: string, resources: LinuxContainerResources | undefined): Promise<void> {
    if (!resources) throw new InvalidArgumentError("linux", "resources to update are required");
    validateLinuxResources(resources, "linux");
    const record = this.get(id);
    await this.checkResourcesOnHost(resources, "linux");
    await this.deps.locks.with(record.id, async () => {
      await this.refresh(record);
      if (record.state !== "running" && record.state !== "created") {
        throw new FailedPreconditionError(
          `container ${record.id} is ${record.state}: cannot update its resources`,
        );
      }
      const file = join(record.bundleDir, "resources.json");
      await writeFile(file, JSON.stringify(ociResources(resources)), { mode: 0o600 });
      await this.deps.runc.update(record.id, file);
      record.config = { ...record.config, linux: { ...record.config.linux, resources } };
      await this.deps.containerStore.save(record);
    });
  }

  /** Asks conmon to reopen the log file (after the kubelet rotated it). */
  async reopenLog(id: string): Promise<void> {
    const record = this.get(id);
    await this.refresh(record);
    if (record.state !== "running") {
      throw new FailedPreconditionError(`container ${record.id} is not running: cannot reopen its log`);
    }
    // Answer only once the new file exists: clients look for it as soon as the call returns.
    const logPath = record.logPath || join(record.bundleDir, "container.log");
    await checkLogDirectory(logPath);
    const previous = await logFileIdentity(logPath);
    await writeControlMessage(record.bundleDir, "2 0 0\n");
    await waitForReopenedLog(logPath, previous);
  }

  /** The container's process spec, the base of exec'd processes. */
  async processSpec(record: ContainerRecord): Promise<NonNullable<Spec["process"]>> {
    const spec = JSON.parse(await readFile(join(record.bundleDir, "config.json"), "utf8")) as Spec;
    if (!spec.process) throw new FailedPreconditionError(`container ${record.id} has no process spec`);
    return spec.process;
  }

  /** Rebuilds the container index from disk and reconciles it with conmon's exit files and runc. */
  async recover(): Promise<void> {
    for (const record of await this.deps.containerStore.loadAll()) {
      this.deps.registry.containers.set(record.id, record);
      this.deps.registry.reserveName("container", record.reservedName, record.id);
      if (record.state === "creating") {
        this.deps.logger.warn({ container: record.id }, "undoing a container whose creation was interrupted");
        try {
          await this.destroy(record);
        } catch (err) {
          // The record stays, still "creating" (invisible to CRI), so the next start tries again.
          this.deps.logger.error({ err, container: record.id }, "undoing an interrupted container failed");
        }
        continue;
      }
      if (await this.refresh(record)) continue;
      if (record.state !== "running" && record.state !== "created") continue;
      const state = await this.deps.runc.state(record.id);
      if (state?.status === "running" && record.state === "created") {
        // Started by a StartContainer that returned just before the agent died.
        record.state = "running";
        record.startedAt = this.deps.clock.now() * 1e6;
        await this.deps.containerStore.save(record);
      } else if (!state || state.status === "stopped") {
        await this.recordExit(record, {
          exitCode: 255,
          finishedAt: this.deps.clock.now() * 1e6,
          oomKilled: false,
        });
        record.reason = "Unknown";
        record.message = "the container's monitor is gone and no exit code was recorded";
        await this.deps.containerStore.save(record);
      }
      if (record.state === "running" || record.state === "created") this.notify("recovered", record);
    }
  }

  // --- container events (cri/events): lifecycle changes and OOM verdicts ---
  private lifecycle: ContainerLifecycleObserver | undefined;

  /** Connects the observer of every lifecycle change (berth's container event hub). */
  observeLifecycle(observer: ContainerLifecycleObserver): void {
    this.lifecycle = observer;
  }

  private notify(change: ContainerLifecycleChange, record: ContainerRecord): void {
    try {
      this.lifecycle?.containerChanged(change, record);
    } catch (err) {
      this.deps.logger.warn({ err, container: record.id, change }, "container lifecycle observer failed");
    }
  }

  private async initOomKilled(record: ContainerRecord, exit: ExitInfo): Promise<boolean | undefined> {
    try {
      return await this.lifecycle?.initOomKilled(record, exit);
    } catch (err) {
      this.deps.logger.warn(
        { err, container: record.id },
        "cannot tell whether the container was OOM-killed",
      );
      return undefined;
    }
  }

  /** A fresh look at the state, which may have changed across an await. */
  private exitRecorded(record: ContainerRecord): boolean {
    return record.state === "exited";
  }
  // --- end container events ---
}

/** "SIGTERM" for Signal.SIGTERM; undefined for RUNTIME_DEFAULT. */
function signalName(signal: Signal): string | undefined {
  if (signal === Signal.RUNTIME_DEFAULT) return undefined;
  const name = Signal[signal];
  return typeof name === "string" && name.startsWith("SIG") ? name : undefined;
}

/** conmon's control fifo: "1 h w" resizes the terminal, "2 0 0" reopens the log. */
async function writeControlMessage(bundleDir: string, message: string): Promise<void> {
  const fh = await open(join(bundleDir, "ctl"), constants.O_WRONLY | constants.O_NONBLOCK);
  try {
    await fh.write(message);
  } finally {
    await fh.close();
  }
}
