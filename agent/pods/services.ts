// What every pod worker shares: the runtime, the image and probe machinery, the backoff, the
// host facts and the event recorder. Built once by the PodManager.
import type { Clock } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import type { RuntimeServiceApi } from "../../cri/service-types.js";
import type { CrashLoopBackOff } from "../backoff.js";
import type { NodeAllocatable } from "../podspec/downward-api.js";
import type { NewEvent } from "./events.js";
import type { ImageEnsurer } from "./images.js";
import type { PodCgroups } from "./pod-cgroups.js";
import type { PodPaths } from "./pod-paths.js";
import type { PodProber } from "./pod-prober.js";
import type { Timers } from "./timers.js";
import type { PodVolumes } from "./volumes.js";

export interface NodeFacts {
  readonly name: string;
  /** The node's addresses; a host-network pod's IPs are these. */
  readonly hostIPs: readonly string[];
  readonly memoryCapacityBytes: number;
  readonly allocatable: NodeAllocatable;
}

export interface PodServices {
  readonly runtime: RuntimeServiceApi;
  readonly images: ImageEnsurer;
  readonly prober: PodProber;
  readonly crashBackoff: CrashLoopBackOff;
  readonly volumes: PodVolumes;
  readonly cgroups: PodCgroups;
  readonly paths: PodPaths;
  readonly node: NodeFacts;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly logger: Logger;
  readonly hostResolvConf: string;
  readonly resyncIntervalMs: number;
  record(event: NewEvent): void;
}

/** Where kubectl points an event about a container: `spec.containers{name}`. */
export function containerFieldPath(role: "init" | "app", name: string): string {
  return `spec.${role === "init" ? "initContainers" : "containers"}{${name}}`;
}

/** A duration as Go prints it (10s, 1m20s, 5m0s), which is how the kubelet's messages show backoffs. */
export function goDuration(ms: number): string {
  const totalSeconds = Math.round(ms / 1000);
  if (totalSeconds < 60) return `${totalSeconds}s`;
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  return hours > 0 ? `${hours}h${minutes}m${seconds}s` : `${minutes}m${seconds}s`;
}
