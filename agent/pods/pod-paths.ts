// Where a pod's files live on the host. Every root is injected so tests run in a temp dir.
//   <podsDir>/<uid>/volumes/empty-dir/<volume>       emptyDir volumes
//   <podsDir>/<uid>/containers/<container>/<file>    termination-message files, one per instance
//   <logsDir>/<namespace>_<name>_<uid>/              the CRI log directory of the sandbox
//   <specsDir>/<uid>.json                            applied API specs, restored after a restart
import { join } from "node:path";
import type { PodIdentity } from "./labels.js";

export interface PodPathRoots {
  readonly podsDir: string;
  readonly logsDir: string;
  readonly specsDir: string;
}

export class PodPaths {
  constructor(readonly roots: PodPathRoots) {}

  podDir(uid: string): string {
    return join(this.roots.podsDir, uid);
  }

  emptyDir(uid: string, volume: string): string {
    return join(this.podDir(uid), "volumes", "empty-dir", volume);
  }

  containerDir(uid: string, container: string): string {
    return join(this.podDir(uid), "containers", container);
  }

  logDir(pod: PodIdentity): string {
    return join(this.roots.logsDir, `${pod.namespace}_${pod.name}_${pod.uid}`);
  }

  specFile(uid: string): string {
    return join(this.roots.specsDir, `${uid}.json`);
  }
}

/** The CRI log path of a container, relative to the sandbox's log directory. */
export function containerLogPath(container: string, restartCount: number): string {
  return `${container}/${restartCount}.log`;
}
