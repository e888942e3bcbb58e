// What the sandbox and container managers share: injected so tests can point every path,
// binary and clock somewhere else.
import type { Logger } from "../../common/logger.js";
import type { Clock } from "../../common/clock.js";
import type { KeyedLock } from "../../common/keyed-lock.js";
import type { CgroupManager } from "../../cgroups/manager.js";
import type { ImageStore } from "../images/store.js";
import type { SnapshotManager } from "../images/snapshots.js";
import type { NetnsManager } from "../network/netns.js";
import type { ConmonOptions } from "./conmon.js";
import type { HostLimits } from "./host-limits.js";
import type { RecordStore } from "./record-store.js";
import type { ContainerRecord, SandboxRecord } from "./records.js";
import type { Registry } from "./registry.js";
import type { Runc } from "./runc.js";
import type { RuntimePaths } from "./paths.js";

/** Pod networking as the sandbox manager needs it; CNI implements it. */
export interface PodNetwork {
  status(): Promise<{ ready: boolean; reason?: string; message?: string }>;
  setUp(input: PodNetworkInput & { netnsPath: string }): Promise<{ ips: string[] }>;
  tearDown(input: PodNetworkInput & { netnsPath?: string }): Promise<void>;
  /** CNI CHECK: the attachment made by setUp is still as it was; throws otherwise. */
  check(input: PodNetworkInput & { netnsPath: string }): Promise<void>;
  /** The node's pod CIDRs (UpdateRuntimeConfig): pods set up from now on get addresses from them. */
  usePodCidrs?(cidrs: readonly string[]): Promise<void>;
  /** Sandbox ids with an attachment on record, so attachments of sandboxes no record owns can be undone. */
  attachedSandboxIds?(): Promise<string[]>;
}

export interface PodNetworkInput {
  sandboxId: string;
  podName: string;
  podNamespace: string;
  podUid: string;
  portMappings: {
    protocol: "TCP" | "UDP" | "SCTP";
    containerPort: number;
    hostPort: number;
    hostIp: string;
  }[];
}

export interface RuntimeDeps {
  paths: RuntimePaths;
  logger: Logger;
  clock: Clock;
  registry: Registry;
  locks: KeyedLock;
  sandboxStore: RecordStore<SandboxRecord>;
  containerStore: RecordStore<ContainerRecord>;
  runc: Runc;
  conmon: ConmonOptions;
  netns: NetnsManager;
  network?: PodNetwork;
  cgroups: CgroupManager;
  images: ImageStore;
  snapshots: SnapshotManager;
  host: HostLimits;
  /** Parent of the cgroups of sandboxes whose config names none; relative nests under berth's own. */
  cgroupRoot: string;
  defaultNoNewPrivileges: boolean;
  /** Seconds the pod's /dev/shm tmpfs may hold, in bytes. */
  shmSizeBytes: number;
}
