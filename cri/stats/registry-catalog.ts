// The stats collector's view of berth's runtime registry: each record becomes a target that
// names its cgroup, writable layer and log file, and the pod and container names that
// reports label usage with.
import { join } from "node:path";
import type { ContainerRecord, SandboxRecord } from "../runtime/records.js";
import type { Registry } from "../runtime/registry.js";
import type { ContainerTarget, SandboxTarget, StatsCatalog } from "./types.js";

export interface RegistryCatalogOptions {
  readonly registry: Registry;
  /** The snapshot manager's root: <root>/<containerId>/upper is a container's writable layer. */
  readonly snapshotsRoot: string;
}

export function registryCatalog({ registry, snapshotsRoot }: RegistryCatalogOptions): StatsCatalog {
  const container = (record: ContainerRecord): ContainerTarget =>
    containerTarget(record, registry.sandboxes.get(record.sandboxId), snapshotsRoot);
  return {
    containers: () => [...registry.containers.values()].filter(visible).map(container),
    sandboxes: () => [...registry.sandboxes.values()].filter(visible).map(sandboxTarget),
    container: (idOrPrefix) => {
      const record = registry.findContainer(idOrPrefix);
      return record && visible(record) ? container(record) : undefined;
    },
    sandbox: (idOrPrefix) => {
      const record = registry.findSandbox(idOrPrefix);
      return record && visible(record) ? sandboxTarget(record) : undefined;
    },
  };
}

/** Half-made objects are invisible to every CRI list; stats follow suit. */
function visible(record: { state: string }): boolean {
  return record.state !== "creating";
}

export function containerTarget(
  record: ContainerRecord,
  sandbox: SandboxRecord | undefined,
  snapshotsRoot: string,
): ContainerTarget {
  const pod = sandbox?.config.metadata;
  return {
    id: record.id,
    sandboxId: record.sandboxId,
    pod: { name: pod?.name ?? "", namespace: pod?.namespace ?? "", uid: pod?.uid ?? "" },
    name: record.config.metadata?.name ?? "",
    attempt: record.config.metadata?.attempt ?? 0,
    image: record.config.image?.image ?? record.imageRef,
    labels: record.config.labels,
    annotations: record.config.annotations,
    running: record.state === "running",
    cgroupPath: record.cgroupsPath,
    writableLayerDir: join(snapshotsRoot, record.id, "upper"),
    logPath: record.logPath,
    createdAtNs: record.createdAt,
    startedAtNs: record.startedAt,
  };
}

export function sandboxTarget(record: SandboxRecord): SandboxTarget {
  const metadata = record.config.metadata;
  return {
    id: record.id,
    name: metadata?.name ?? "",
    namespace: metadata?.namespace ?? "",
    uid: metadata?.uid ?? "",
    attempt: metadata?.attempt ?? 0,
    labels: record.config.labels,
    annotations: record.config.annotations,
    ready: record.state === "ready",
    cgroupPath: record.cgroupParent,
    ...(record.infraPid !== undefined && { infraPid: record.infraPid }),
    ownNetwork: record.netnsPath !== undefined,
    createdAtNs: record.createdAt,
  };
}
