// A pod's volumes on the host: emptyDir directories under the pod's dir (a tmpfs for
// `medium: Memory`), hostPath paths checked or created by their type, and clean-up of all of
// it when the pod is removed. Messages are the kubelet's, so FailedMount events read the same.
import { chmod, mkdir, realpath, rm, stat, writeFile } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import type { Logger } from "../../common/logger.js";
import { quantityToBytes } from "../podspec/quantity.js";
import { podResourceTotals } from "../podspec/resources.js";
import type { HostPathVolumeSource, PodSpec, VolumeMount } from "../podspec/types.js";
import type { PodPaths } from "./pod-paths.js";
import { currentMountPoints, mountTmpfs, unmountIfMounted } from "../../common/mounts.js";

/** A volume could not be made ready; the pod waits (ContainerCreating) and is retried. */
export class VolumeSetupError extends Error {
  constructor(
    readonly volume: string,
    message: string,
  ) {
    super(`MountVolume.SetUp failed for volume "${volume}" : ${message}`);
  }
}

export interface MountOps {
  mountTmpfs(dir: string, sizeBytes: number | undefined): Promise<void>;
  unmount(dir: string): Promise<void>;
  /** Mount points at or below `dir`. */
  mountsUnder(dir: string): Promise<string[]>;
}

export const hostMountOps: MountOps = {
  async mountTmpfs(dir, sizeBytes) {
    const options = ["nosuid", "nodev", "mode=0777", ...(sizeBytes ? [`size=${sizeBytes}`] : [])];
    await mountTmpfs(dir, options, `emptyDir ${dir}`);
  },
  unmount: unmountIfMounted,
  async mountsUnder(dir) {
    return (await currentMountPoints()).filter((p) => p === dir || p.startsWith(dir + sep));
  },
};

export class PodVolumes {
  constructor(
    private readonly paths: PodPaths,
    private readonly logger: Logger,
    private readonly mounts: MountOps = hostMountOps,
  ) {}

  /**
   * Makes every volume of the pod ready and returns each volume's host path. Idempotent: run
   * before each sync, it only does what is missing.
   */
  async setUp(spec: PodSpec): Promise<Map<string, string>> {
    const uid = spec.metadata.uid;
    const hostPaths = new Map<string, string>();
    await mkdir(this.paths.podDir(uid), { recursive: true, mode: 0o750 });
    for (const volume of spec.volumes) {
      const source = volume.source;
      if (source.type === "emptyDir") {
        const dir = this.paths.emptyDir(uid, volume.name);
        // 0777 so that a container running as any user can write, as with the kubelet.
        await mkdir(dir, { recursive: true });
        await chmod(dir, 0o777);
        if (source.medium === "Memory" && !(await this.isMountPoint(dir))) {
          const size = source.sizeLimit ?? podResourceTotals(spec).limits.memory;
          try {
            await this.mounts.mountTmpfs(dir, size === undefined ? undefined : quantityToBytes(size));
          } catch (err) {
            throw new VolumeSetupError(volume.name, `mounting a tmpfs: ${(err as Error).message}`);
          }
        }
        hostPaths.set(volume.name, dir);
      } else {
        await checkHostPath(volume.name, source);
        hostPaths.set(volume.name, source.path);
      }
    }
    return hostPaths;
  }

  /** Unmounts and deletes everything under the pod's dir. */
  async tearDown(uid: string): Promise<void> {
    const dir = this.paths.podDir(uid);
    const mounted = await this.mounts.mountsUnder(dir);
    // Deepest first, so a mount inside another comes off before its parent.
    for (const point of mounted.sort((a, b) => b.length - a.length)) {
      try {
        await this.mounts.unmount(point);
      } catch (err) {
        this.logger.warn({ err, mount: point }, "unmounting a pod volume failed");
      }
    }
    if ((await this.mounts.mountsUnder(dir)).length > 0) {
      this.logger.error({ dir }, "pod volumes are still mounted; leaving the pod's dir in place");
      return;
    }
    await rm(dir, { recursive: true, force: true });
  }

  private async isMountPoint(dir: string): Promise<boolean> {
    return (await this.mounts.mountsUnder(dir)).includes(dir);
  }
}

/**
 * The host path a volumeMount binds: the volume's path, or its subPath below it (created when
 * missing, as the kubelet does). A subPath that leads out of the volume through a symlink is refused.
 */
export async function mountSource(volumePath: string, mount: VolumeMount): Promise<string> {
  if (mount.subPath === undefined) return volumePath;
  const target = resolve(volumePath, mount.subPath);
  const rel = relative(volumePath, target);
  if (rel.startsWith("..") || resolve(volumePath, rel) !== target) {
    throw new VolumeSetupError(mount.name, `subPath "${mount.subPath}" leaves the volume`);
  }
  await mkdir(target, { recursive: true, mode: 0o777 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== "EEXIST") throw new VolumeSetupError(mount.name, `creating subPath: ${err.message}`);
  });
  const [realVolume, realTarget] = await Promise.all([realpath(volumePath), realpath(target)]);
  if (realTarget !== realVolume && !realTarget.startsWith(realVolume + sep)) {
    throw new VolumeSetupError(mount.name, `subPath "${mount.subPath}" leaves the volume`);
  }
  return target;
}

const TYPE_WORDS: Record<string, string> = {
  Directory: "a directory",
  File: "a file",
  Socket: "a socket file",
  CharDevice: "a character device",
  BlockDevice: "a block device",
};

async function checkHostPath(volume: string, source: HostPathVolumeSource): Promise<void> {
  const { path, hostPathType } = source;
  const fail = (what: string): VolumeSetupError =>
    new VolumeSetupError(volume, `hostPath type check failed: ${path} is not ${what}`);
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return undefined;
    throw new VolumeSetupError(volume, `${path}: ${err.message}`);
  });
  switch (hostPathType) {
    case "":
      return;
    case "DirectoryOrCreate":
      if (info === undefined) {
        await mkdir(path, { recursive: true, mode: 0o755 });
        return;
      }
      if (!info.isDirectory()) throw fail("a directory");
      return;
    case "FileOrCreate":
      if (info === undefined) {
        // Like the kubelet, the parent directory is not created.
        await writeFile(path, "", { mode: 0o644, flag: "wx" }).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== "EEXIST") throw new VolumeSetupError(volume, `creating ${path}: ${err.message}`);
        });
        return;
      }
      if (!info.isFile()) throw fail("a file");
      return;
    default: {
      const ok =
        info !== undefined &&
        ((hostPathType === "Directory" && info.isDirectory()) ||
          (hostPathType === "File" && info.isFile()) ||
          (hostPathType === "Socket" && info.isSocket()) ||
          (hostPathType === "CharDevice" && info.isCharacterDevice()) ||
          (hostPathType === "BlockDevice" && info.isBlockDevice()));
      if (!ok) throw fail(TYPE_WORDS[hostPathType] ?? hostPathType);
    }
  }
}

/** Creates a fresh termination-message file for one container instance and returns its path. */
export async function createTerminationLogFile(dir: string, instance: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o750 });
  const file = join(dir, instance);
  // 0666: the container's user, whoever it is, must be able to write its message.
  await writeFile(file, "");
  await chmod(file, 0o666);
  return file;
}
