// Where the runtime keeps things. Persistent state lives under stateDir; what dies with
// the host (runc state, netns binds, exit files, attach sockets) lives under runDir.
import { join } from "node:path";

export interface RuntimePaths {
  stateDir: string;
  runDir: string;
  sandboxRecords: string;
  containerRecords: string;
  sandboxesDir: string;
  containersDir: string;
  imagesDir: string;
  snapshotsDir: string;
  infraRootfs: string;
  runcRoot: string;
  netnsDir: string;
  exitsDir: string;
  attachDir: string;
  shmDir: string;
  cniCacheDir: string;
}

export function runtimePaths(stateDir: string, runDir: string): RuntimePaths {
  return {
    stateDir,
    runDir,
    sandboxRecords: join(stateDir, "state", "sandboxes"),
    containerRecords: join(stateDir, "state", "containers"),
    sandboxesDir: join(stateDir, "sandboxes"),
    containersDir: join(stateDir, "containers"),
    imagesDir: join(stateDir, "images"),
    snapshotsDir: join(stateDir, "snapshots"),
    infraRootfs: join(stateDir, "infra-rootfs"),
    runcRoot: join(runDir, "runc"),
    netnsDir: join(runDir, "netns"),
    exitsDir: join(runDir, "exits"),
    attachDir: join(runDir, "attach"),
    shmDir: join(runDir, "shm"),
    cniCacheDir: join(stateDir, "cni"),
  };
}
