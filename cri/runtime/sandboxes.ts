// Pod sandboxes: a network namespace, an infra process (under conmon, like every
// container) that holds the pod's IPC/UTS (and PID) namespaces, the shared files and
// /dev/shm, a cgroup parent and a log directory. Each create step registers its undo.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { NotFoundError } from "../../common/errors.js";
import { mountTmpfs, unmountIfMounted } from "../../common/mounts.js";
import { NamespaceMode, PortMapping, Protocol, type PodSandboxConfig } from "../api/generated/api.js";
import { createWithConmon, removeConmonRunFiles } from "./conmon.js";
import type { PodNetworkInput, RuntimeDeps } from "./deps.js";
import { readExit, waitForExit } from "./exit-file.js";
import { buildInfraSpec } from "./oci-spec.js";
import type { SandboxRecord } from "./records.js";
import { sandboxInfraDir, writeSandboxFiles } from "./sandbox-files.js";
import { UndoStack } from "./undo.js";
import { validatePodSandboxConfig } from "./validate-config.js";

/** The infra process: a shell that reaps orphans (it is PID 1 of a shared PID namespace) and exits on TERM. */
export const INFRA_ARGS = [
  "/bin/busybox",
  "sh",
  "-c",
  "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done",
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
    const meta = config.metadata!;
    const { registry, logger } = this.deps;
    const id = newId();
    const reservedName = `${meta.name}_${meta.namespace}_${meta.uid}_${meta.attempt}`;
    registry.reserveName("pod sandbox", reservedName, id);
    const log = logger.child({ sandbox: id, pod: `${meta.namespace}/${meta.name}` });
    try {
      return await UndoStack.run(log, async (undo) => {
        const hostNetwork = isHostNetwork(config);
        const ownsCgroupParent = !config.linux?.cgroupParent;
        const record: SandboxRecord = {
          id,
          reservedName,
          state: "creating",
          config,
          runtimeHandler,
          createdAt: this.deps.clock.now() * 1e6,
          ips: [],
          cgroupParent: config.linux?.cgroupParent || `${this.deps.cgroupRoot}/cri/pod-${id.slice(0, 16)}`,
          ownsCgroupParent,
          dir: join(this.deps.paths.sandboxesDir, id),
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
        await writeSandboxFiles(record.dir, config, hostNetwork);

        if (config.logDirectory) await mkdir(config.logDirectory, { recursive: true, mode: 0o755 });

        if (!isHostIpc(config)) {
          record.shmPath = await this.mountShm(id);
          undo.push("shm", () => this.unmountShm(record));
        }

        if (!hostNetwork) {
          record.netnsPath = await this.deps.netns.create(id);
          undo.push("netns", () => this.deps.netns.remove(id));
          await this.deps.sandboxStore.save(record);
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
        record.infraPid = await this.startInfra(record, undo);
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

  private async startInfra(record: SandboxRecord, undo: UndoStack): Promise<number> {
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
    });
    await writeFile(join(bundleDir, "config.json"), JSON.stringify(spec), { mode: 0o600 });
    undo.push("infra container", () => this.deps.runc.delete(record.id));
    undo.push("conmon run files", () => removeConmonRunFiles(this.deps.conmon, record.id));
    const pid = await createWithConmon(this.deps.conmon, {
      containerId: record.id,
      name: record.reservedName,
      bundleDir,
      logPath: join(bundleDir, "infra.log"),
      conmonLogPath: join(bundleDir, "conmon.log"),
      terminal: false,
      stdin: false,
    });
    await this.deps.runc.start(record.id);
    return pid;
  }

  private async mountShm(id: string): Promise<string> {
    const path = join(this.deps.paths.shmDir, id);
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
    return path;
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
    await this.deps.runc.delete(record.id);
    await this.tearDownNetwork(record).catch((err: unknown) =>
      this.deps.logger.warn({ err, sandbox: record.id }, "network teardown failed during removal"),
    );
    if (record.netnsPath) await this.deps.netns.remove(record.id);
    await this.unmountShm(record);
    await this.deps.cgroups.remove(`${record.cgroupParent}/${record.id}`);
    if (record.ownsCgroupParent) await this.deps.cgroups.remove(record.cgroupParent);
    await rm(record.dir, { recursive: true, force: true });
    await removeConmonRunFiles(this.deps.conmon, record.id);
    await this.deps.sandboxStore.remove(record.id);
    this.deps.registry.sandboxes.delete(record.id);
    this.deps.registry.releaseName(record.reservedName, record.id);
    this.deps.logger.info({ sandbox: record.id }, "pod sandbox removed");
  }

  /** Rebuilds the sandbox index from disk: half-made sandboxes are undone, dead infra marks NOTREADY. */
  async recover(): Promise<void> {
    for (const record of await this.deps.sandboxStore.loadAll()) {
      this.deps.registry.sandboxes.set(record.id, record);
      this.deps.registry.reserveName("pod sandbox", record.reservedName, record.id);
      if (record.state === "creating") {
        this.deps.logger.warn({ sandbox: record.id }, "undoing a sandbox whose creation was interrupted");
        await this.containers?.removeAll(record.id);
        await this.destroy(record);
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
