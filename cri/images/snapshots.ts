// Per-container root filesystems: an overlay mount whose lowerdirs are the image's unpacked
// layers and whose upper/work dirs belong to the container alone. Layout under the injected root:
//   <root>/<containerId>/{upper,work,merged}
// prepare() and remove() are idempotent so that a retried create or a second cleanup after a
// crash is harmless.
import { mkdir, rm, statfs } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { execa } from "execa";
import { FailedPreconditionError, InvalidArgumentError, RuntimeFailureError } from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { isMountPoint } from "../../common/mounts.js";

/** statfs f_type of overlayfs: its upperdir and workdir cannot themselves live on overlayfs. */
const OVERLAYFS_SUPER_MAGIC = 0x794c7630;
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** The kernel takes mount options in one page. */
const FALLBACK_PAGE_SIZE = 4096;

export interface SnapshotManagerOptions {
  root: string;
  logger: Logger;
}

export class SnapshotManager {
  readonly root: string;
  private readonly logger: Logger;
  private pageSize?: number;

  constructor(opts: SnapshotManagerOptions) {
    this.root = opts.root;
    this.logger = opts.logger;
  }

  private dir(containerId: string): string {
    if (!CONTAINER_ID.test(containerId) || containerId === "." || containerId === "..") {
      throw new InvalidArgumentError("containerId", `"${containerId}" is not a valid snapshot name`);
    }
    return join(this.root, containerId);
  }

  mergedPath(containerId: string): string {
    return join(this.dir(containerId), "merged");
  }

  /**
   * Mounts the container's overlay rootfs and returns its path. `lowerDirs` are the image's layer
   * dirs bottom layer first (as ImageStore.layerDirs returns them). Already mounted: returns it.
   */
  async prepare(containerId: string, lowerDirs: string[]): Promise<string> {
    const dir = this.dir(containerId);
    const merged = join(dir, "merged");
    if (await this.isMounted(containerId)) return merged;
    for (const lower of lowerDirs) {
      // ':' separates lowerdirs and ',' options; berth's layer paths never contain them.
      if (/[:,]/.test(lower)) throw new InvalidArgumentError("lowerDirs", `"${lower}" contains ':' or ','`);
    }

    await mkdir(this.root, { recursive: true, mode: 0o711 });
    const fsType = (await statfs(this.root)).type;
    if (fsType === OVERLAYFS_SUPER_MAGIC) {
      throw new FailedPreconditionError(
        `snapshot root ${this.root} is on overlayfs, which cannot hold an upperdir`,
      );
    }
    const upper = join(dir, "upper");
    const work = join(dir, "work");
    try {
      for (const d of [dir, upper, work, merged]) await mkdir(d, { recursive: true, mode: 0o755 });
      // overlayfs needs at least one lowerdir; an image without layers gets an empty one.
      let lowers = [...lowerDirs];
      if (lowers.length === 0) {
        const empty = join(dir, "empty-lower");
        await mkdir(empty, { recursive: true, mode: 0o755 });
        lowers = [empty];
      }
      const { options, cwd } = await this.mountOptions(lowers, upper, work);
      const result = await execa("mount", ["-t", "overlay", "overlay", "-o", options, merged], {
        reject: false,
        ...(cwd ? { cwd } : {}),
      });
      if (result.failed) {
        throw new RuntimeFailureError(
          `mounting overlay rootfs of ${containerId} failed: ${result.stderr || result.shortMessage}`,
        );
      }
    } catch (err) {
      // Not mounted (we checked above and the mount did not happen): nothing half-made stays.
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    this.logger.debug({ containerId, layers: lowerDirs.length }, "container rootfs mounted");
    return merged;
  }

  /**
   * Overlay takes the topmost lowerdir first. When absolute paths would not fit in a page, the
   * lowerdirs are given relative to their common parent and mount runs there (the kernel resolves
   * them against the caller's working directory); past that, the image has too many layers.
   */
  private async mountOptions(
    lowersBottomFirst: string[],
    upper: string,
    work: string,
  ): Promise<{ options: string; cwd?: string }> {
    const topFirst = [...lowersBottomFirst].reverse();
    const limit = (await this.systemPageSize()) - 1;
    const build = (lowers: string[]) => `lowerdir=${lowers.join(":")},upperdir=${upper},workdir=${work}`;
    const absolute = build(topFirst);
    if (Buffer.byteLength(absolute) <= limit) return { options: absolute };

    const cwd = commonParent(topFirst);
    const relativeOptions = build(topFirst.map((l) => relative(cwd, l)));
    if (Buffer.byteLength(relativeOptions) <= limit) return { options: relativeOptions, cwd };
    throw new FailedPreconditionError(
      `overlay mount options for ${lowersBottomFirst.length} layers are ${Buffer.byteLength(relativeOptions)} bytes, ` +
        `over the kernel's limit of ${limit}; the image has too many layers`,
    );
  }

  private async systemPageSize(): Promise<number> {
    if (this.pageSize === undefined) {
      const result = await execa("getconf", ["PAGESIZE"], { reject: false });
      const parsed = Number(result.stdout);
      this.pageSize = !result.failed && Number.isInteger(parsed) && parsed > 0 ? parsed : FALLBACK_PAGE_SIZE;
    }
    return this.pageSize;
  }

  async isMounted(containerId: string): Promise<boolean> {
    const merged = this.mergedPath(containerId);
    return isMountPoint(merged);
  }

  /** Unmounts (if mounted) and deletes the container's snapshot. Unknown ids are fine. */
  async remove(containerId: string): Promise<void> {
    const dir = this.dir(containerId);
    const merged = join(dir, "merged");
    // Stacked mounts on one point are possible after a retried prepare; peel them all.
    for (let attempt = 0; attempt < 8 && (await this.isMounted(containerId)); attempt++) {
      const result = await execa("umount", [merged], { reject: false });
      if (result.failed && !/not mounted/.test(result.stderr)) {
        throw new RuntimeFailureError(
          `unmounting rootfs of ${containerId} failed: ${result.stderr || result.shortMessage}`,
        );
      }
    }
    // Never delete under a live mount: that would reach into the container's view of its files.
    if (await this.isMounted(containerId)) {
      throw new RuntimeFailureError(`rootfs of ${containerId} is still mounted at ${merged}`);
    }
    await rm(dir, { recursive: true, force: true });
    this.logger.debug({ containerId }, "container rootfs removed");
  }
}

function commonParent(paths: string[]): string {
  let parent = dirname(paths[0]!);
  const within = (p: string) => p.startsWith(parent.endsWith(sep) ? parent : parent + sep);
  while (!paths.every(within) && parent !== dirname(parent)) parent = dirname(parent);
  return parent;
}
