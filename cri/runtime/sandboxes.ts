// Pod sandboxes: a network namespace, an infra process (under conmon, like every
// container) that holds the pod's IPC/UTS (and PID) namespaces, the shared files and
// /dev/shm, a cgroup parent and a log directory. Each create step registers its undo.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { InvalidArgumentError, NotFoundError } from "../../common/errors.js";
import { mountTmpfs, unmountIfMounted } from "../../common/mounts.js";
import { NamespaceMode, PortMapping, Protocol, type PodSandboxConfig } from "../api/generated/api.js";
import { createWithConmon } from "./conmon.js";
import { deleteContainerAndMonitor } from "./container-teardown.js";
import { explainCreateFailure } from "./create-failure.js";
import type { PodNetworkInput, RuntimeDeps } from "./deps.js";
import { readExit, waitForExit } from "./exit-file.js";
import { buildInfraSpec, infraSeccomp } from "./oci-spec.js";
import type { LinuxSeccomp } from "./oci-types.js";
import { checkLogDirectoryOnHost } from "./log-directory.js";
import { resolveCgroupParent } from "../../cgroups/paths.js";
import type { SandboxRecord } from "./records.js";
import { sandboxInfraDir, writeSandboxFiles } from "./sandbox-files.js";
import { UndoStack } from "./undo.js";
import { chownPodFilesToMappedRoot, podUserNamespaceOf, requireUserNamespaceSupport } from "./userns.js";
import { validatePodSandboxConfig } from "./validate-config.js";

/**
 * The infra process: a shell that reaps orphans (it is PID 1 of a shared PID namespace) and exits
 * on TERM. Its sleep runs as `busybox`, not `sleep`, so that a container sharing the namespace
 * that looks for its own sleep (`pidof sleep`, `pgrep sleep`) does not find the pod's.
 */
export const INFRA_ARGS = [
  "/bin/busybox",
  "sh",
  "-c",
  "trap 'exit 0' TERM INT; while :; do /bin/busybox sleep 3600 & wait $!; done",
];

/** How the sandbox manager stops the containers of a sandbox (the container manager does it). */
export interface SandboxContainerOps {
  stopAll(sandboxId: string): Promise<void>;
  removeAll(sandboxId: string): Promise<void>;
}

export function newId(): string {
  return randomBytes(32).toString("hex");
}

export function isHostNetwork(config: PodSandboxConfig): boolean {
  return config.linux?.securityContext?.namespaceOptions?.network === NamespaceMode.NODE;
}

function isHostIpc(config: PodSandboxConfig): boolean {
  return config.linux?.securityContext?.namespaceOptions?.ipc === NamespaceMode.NODE;
}

export class SandboxManager {
  private containers?: SandboxContainerOps;

  constructor(private readonly deps: RuntimeDeps) {}

  attachContainers(ops: SandboxContainerOps): void {
    this.containers = ops;
  }

  get(id: string): SandboxRecord {
    const sandbox = this.deps.registry.findSandbox(id);
    if (!sandbox || sandbox.state === "creating") throw new NotFoundError("pod sandbox", id);
    return sandbox;
  }

  async run(rawConfig: PodSandboxConfig | undefined, runtimeHandler: string): Promise<string> {
    const config = validatePodSandboxConfig(rawConfig);
    requireUserNamespaceSupport(config, this.deps.host.userNamespaces);
    // What the host must confirm, asked before anything is made.
    if (config.logDirectory) await checkLogDirectoryOnHost(config.logDirectory, "config.log_directory");
    const requestedCgroupParent = config.linux?.cgroupParent ?? "";
    const cgroupParent = requestedCgroupParent
      ? resolveCgroupParent(requestedCgroupParent, this.deps.cgroupRoot, "config.linux.cgroup_parent")
      : undefined;
    const seccomp = await infraSeccomp(config, this.deps.host);
    const meta = config.metadata!;
    const { registry, logger } = this.deps;
    const id = newId();
    const reservedName = `${meta.name}_${meta.namespace}_${meta.uid}_${meta.attempt}`;
    registry.reserveName("pod sandbox", reservedName, id);
    const log = logger.child({ sandbox: id, pod: `${meta.namespace}/${meta.name}` });
    try {
      return await UndoStack.run(log, async (undo) => {
        const hostNetwork = isHostNetwork(config);
        const ownsCgroupParent = cgroupParent === undefined;
        // Every resource the sandbox will hold is named in the record before it is made, so an
        // interrupted creation (even a kill -9) is undone exactly: removal of a resource that was
        // never made is a no-op.
        const record: SandboxRecord = {
          id,
          reservedName,
          state: "creating",
          config,
          runtimeHandler,
          createdAt: this.deps.clock.now() * 1e6,
          ips: [],
          cgroupParent: cgroupParent ?? `${this.deps.cgroupRoot}/cri/pod-${id.slice(0, 16)}`,
          ownsCgroupParent,
          dir: join(this.deps.paths.sandboxesDir, id),
          ...(!isHostIpc(config) && { shmPath: this.shmPathOf(id) }),
          ...(!hostNetwork && { netnsPath: this.deps.netns.pathOf(id) }),
        };
        // The record goes to disk first, as "creating": if the agent dies mid-way, the next
        // start finds it and undoes whatever was made.
        await this.deps.sandboxStore.save(record);
        registry.sandboxes.set(id, record);
        undo.push("record", async () => {
          registry.sandboxes.delete(id);
          await this.deps.sandboxStore.remove(id);
        });

        await mkdir(record.dir, { recursive: true, mode: 0o711 });
        undo.push("sandbox dir", () => rm(record.dir, { recursive: true, force: true }));
        const files = await writeSandboxFiles(record.dir, config, hostNetwork);
        await chownPodFilesToMappedRoot(config, Object.values(files));

        if (config.logDirectory) await mkdir(config.logDirectory, { recursive: true, mode: 0o755 });

        if (record.shmPath) {
          undo.push("shm", () => this.unmountShm(record));
          await this.mountShm(record.shmPath, id);
          await chownPodFilesToMappedRoot(config, [record.shmPath]);
        }

        if (record.netnsPath) {
          undo.push("netns", () => this.deps.netns.remove(id));
          await this.deps.netns.create(id, podUserNamespaceOf(config));
          if (this.deps.network) {
            undo.push("network", () => this.tearDownNetwork(record));
            const result = await this.deps.network.setUp({
              ...networkInput(record),
              netnsPath: record.netnsPath,
            });
            record.ips = result.ips;
          }
        }

        if (ownsCgroupParent) {
          undo.push("cgroup", () => this.deps.cgroups.remove(record.cgroupParent));
        }
        record.infraPid = await this.startInfra(record, seccomp, undo);
        record.state = "ready";
        await this.deps.sandboxStore.save(record);
        log.info({ ips: record.ips }, "pod sandbox ready");
        return id;
      });
    } catch (err) {
      registry.releaseName(reservedName, id);
      throw err;
    }
  }

  private async startInfra(
    record: SandboxRecord,
    seccomp: LinuxSeccomp | undefined,
    undo: UndoStack,
  ): Promise<number> {
    const bundleDir = sandboxInfraDir(record.dir);
    await mkdir(bundleDir, { recursive: true, mode: 0o700 });
    const spec = buildInfraSpec({
      sandboxId: record.id,
      config: record.config,
      netnsPath: record.netnsPath,
      rootfsPath: this.deps.paths.infraRootfs,
      cgroupsPath: `${record.cgroupParent}/${record.id}`,
      host: this.deps.host,
      args: INFRA_ARGS,
      seccomp,
      usernsPath: this.deps.netns.usernsPathOf(record.id),
    });
    await writeFile(join(bundleDir, "config.json"), JSON.stringify(spec), { mode: 0o600 });
    undo.push("infra container", () =>
      deleteContainerAndMonitor(
        this.deps.runc,
        this.deps.conmon,
        { id: record.id, bundleDir },
        this.deps.logger,
      ),
    );
    const pid = await createWithConmon(this.deps.conmon, {
      containerId: record.id,
      name: record.reservedName,
      bundleDir,
      logPath: join(bundleDir, "infra.log"),
      conmonLogPath: join(bundleDir, "conmon.log"),
      terminal: false,
      stdin: false,
    }).catch((err: unknown) => {
      throw explainCreateFailure(err, {
        sysctls: record.config.linux?.sysctls,
        sysctlsField: "config.linux.sysctls",
      });
    });
    await this.deps.runc.start(record.id);
    return pid;
  }

  private shmPathOf(id: string): string {
    return join(this.deps.paths.shmDir, id);
  }

  private async mountShm(path: string, id: string): Promise<void> {
    await mkdir(path, { recursive: true, mode: 0o700 });
    try {
      await mountTmpfs(
        path,
        ["nosuid", "nodev", "noexec", "mode=1777", `size=${this.deps.shmSizeBytes}`],
        `/dev/shm for sandbox ${id}`,
      );
    } catch (err) {
      await rm(path, { recursive: true, force: true });
      throw err;
    }
  }

  private async unmountShm(record: SandboxRecord): Promise<void> {
    if (!record.shmPath) return;
    await unmountIfMounted(record.shmPath);
    await rm(record.shmPath, { recursive: true, force: true });
  }

  private async tearDownNetwork(record: SandboxRecord): Promise<void> {
    if (!this.deps.network || !record.netnsPath) return;
    await this.deps.network.tearDown({ ...networkInput(record), netnsPath: record.netnsPath });
  }

  /** Stops every container, the infra process and the network; idempotent. */
  async stop(id: string): Promise<void> {
    const record = this.deps.registry.findSandbox(id);
    if (!record) return; // CRI: stopping an unknown sandbox is not an error
    await this.deps.locks.with(record.id, async () => {
      await this.containers?.stopAll(record.id);
      await this.killInfra(record);
      await this.tearDownNetwork(record);
      if (record.netnsPath) await this.deps.netns.remove(record.id);
      await this.unmountShm(record);
      if (record.state !== "notready") {
        record.state = "notready";
        await this.deps.sandboxStore.save(record);
        this.deps.logger.info({ sandbox: record.id }, "pod sandbox stopped");
      }
    });
  }

  private async killInfra(record: SandboxRecord): Promise<void> {
    const bundleDir = sandboxInfraDir(record.dir);
    if (await readExit(bundleDir)) return;
    const state = await this.deps.runc.state(record.id);
    if (!state || state.status === "stopped") return;
    await this.deps.runc.kill(record.id, "KILL", true);
    if (!(await waitForExit(bundleDir, 10_000))) {
      this.deps.logger.warn({ sandbox: record.id }, "infra process did not report its exit in time");
    }
  }

  /** Stops, then removes every container and everything the sandbox holds; idempotent. */
  async remove(id: string): Promise<void> {
    const record = this.deps.registry.findSandbox(id);
    if (!record) return;
    await this.stop(record.id);
    await this.containers?.removeAll(record.id);
    await this.deps.locks.with(record.id, () => this.destroy(record));
  }

  /** Frees everything of a sandbox whose containers are gone. Also used to undo half-made sandboxes at start. */
  private async destroy(record: SandboxRecord): Promise<void> {
    await deleteContainerAndMonitor(
      this.deps.runc,
      this.deps.conmon,
      { id: record.id, bundleDir: sandboxInfraDir(record.dir) },
      this.deps.logger,
    );
    await this.tearDownNetwork(record).catch((err: unknown) =>
      this.deps.logger.warn({ err, sandbox: record.id }, "network teardown failed during removal"),
    );
    if (record.netnsPath) await this.deps.netns.remove(record.id);
    await this.unmountShm(record);
    await this.removeCgroup(`${record.cgroupParent}/${record.id}`, record);
    if (record.ownsCgroupParent) await this.removeCgroup(record.cgroupParent, record);
    await rm(record.dir, { recursive: true, force: true });
    await this.deps.sandboxStore.remove(record.id);
    this.deps.registry.sandboxes.delete(record.id);
    this.deps.registry.releaseName(record.reservedName, record.id);
    this.deps.logger.info({ sandbox: record.id }, "pod sandbox removed");
  }

  /**
   * Removes a cgroup of the sandbox. A path berth refuses (".." in a parent accepted by an
   * older berth) names no cgroup berth made, so it must not keep the sandbox from going.
   */
  private async removeCgroup(path: string, record: SandboxRecord): Promise<void> {
    try {
      await this.deps.cgroups.remove(path);
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      this.deps.logger.warn({ err, sandbox: record.id, cgroup: path }, "not removing an invalid cgroup path");
    }
  }

  /** Rebuilds the sandbox index from disk: half-made sandboxes are undone, dead infra marks NOTREADY. */
  async recover(): Promise<void> {
    for (const record of await this.deps.sandboxStore.loadAll()) {
      this.deps.registry.sandboxes.set(record.id, record);
      this.deps.registry.reserveName("pod sandbox", record.reservedName, record.id);
      if (record.state === "creating") {
        this.deps.logger.warn({ sandbox: record.id }, "undoing a sandbox whose creation was interrupted");
        try {
          await this.containers?.removeAll(record.id);
          await this.destroy(record);
        } catch (err) {
          // The record stays, still "creating" (invisible to CRI), so the next start tries again.
          this.deps.logger.error({ err, sandbox: record.id }, "undoing an interrupted sandbox failed");
        }
        continue;
      }
      if (record.state === "ready" && !(await this.infraRunning(record))) {
        await this.markNotReady(record, "infra process is gone: sandbox is not ready");
      } else if (record.state === "ready" && !(await this.networkIntact(record))) {
        await this.markNotReady(record, "pod network failed its CNI CHECK: sandbox is not ready");
      }
    }
  }

  /** CNI CHECK of a recovered sandbox's network; true when there is nothing to check. */
  private async networkIntact(record: SandboxRecord): Promise<boolean> {
    if (!this.deps.network || !record.netnsPath) return true;
    try {
      await this.deps.network.check({ ...networkInput(record), netnsPath: record.netnsPath });
      return true;
    } catch (err) {
      this.deps.logger.warn({ err, sandbox: record.id }, "CNI CHECK failed");
      return false;
    }
  }

  private async markNotReady(record: SandboxRecord, why: string): Promise<void> {
    record.state = "notready";
    await this.deps.sandboxStore.save(record);
    this.deps.logger.warn({ sandbox: record.id }, why);
  }

  private async infraRunning(record: SandboxRecord): Promise<boolean> {
    if (await readExit(sandboxInfraDir(record.dir))) return false;
    const state = await this.deps.runc.state(record.id);
    return state?.status === "running";
  }
}

function networkInput(record: SandboxRecord): PodNetworkInput {
  const meta = record.config.metadata!;
  return {
    sandboxId: record.id,
    podName: meta.name,
    podNamespace: meta.namespace,
    podUid: meta.uid,
    portMappings: record.config.portMappings.map(portMapping),
  };
}

function portMapping(p: PortMapping): PodNetworkInput["portMappings"][number] {
  const protocol = p.protocol === Protocol.UDP ? "UDP" : p.protocol === Protocol.SCTP ? "SCTP" : "TCP";
  return { protocol, containerPort: p.containerPort, hostPort: p.hostPort, hostIp: p.hostIp };
}
