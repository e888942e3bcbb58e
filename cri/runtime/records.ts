// The records berth keeps on disk for each sandbox and container (one JSON file each).
import type { ContainerConfig, PodSandboxConfig } from "../api/generated/api.js";

export type SandboxStateName = "creating" | "ready" | "notready";

export interface SandboxRecord {
  id: string;
  /** Unique key reserved for this sandbox: name_namespace_uid_attempt. */
  reservedName: string;
  state: SandboxStateName;
  config: PodSandboxConfig;
  runtimeHandler: string;
  /** Nanoseconds since the epoch. */
  createdAt: number;
  /** The network namespace bind; undefined: host network. Recorded before it is made (it may
   * not exist while the sandbox is "creating"). */
  netnsPath?: string;
  ips: string[];
  infraPid?: number;
  /** The pod's cgroup (parent of its containers' cgroups). */
  cgroupParent: string;
  /** True when berth chose the cgroup parent and so removes it with the sandbox. */
  ownsCgroupParent: boolean;
  /** Persistent dir: hostname, hosts, resolv.conf, the infra bundle. */
  dir: string;
  /** tmpfs mounted for the pod's /dev/shm; undefined with host IPC. Recorded before it is mounted. */
  shmPath?: string;
}

export type ContainerStateName = "creating" | "created" | "running" | "exited";

export interface ContainerRecord {
  id: string;
  sandboxId: string;
  reservedName: string;
  state: ContainerStateName;
  config: ContainerConfig;
  /** The image as the request named it, and its resolved id. */
  imageRef: string;
  imageId: string;
  createdAt: number;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  reason: string;
  message: string;
  pid?: number;
  /** Full path of the CRI log file (sandbox log dir + config.log_path), "" when none. */
  logPath: string;
  bundleDir: string;
  cgroupsPath: string;
  stopSignal: string;
  /** The identity the first process starts with, as resolved into its spec (absent on older records). */
  user?: { uid: number; gid: number; additionalGids: number[] };
}
