// Image garbage collection with kubelet's policy: when the image filesystem is used above
// the high threshold, remove unused images, least recently used first, until usage is at
// or below the low threshold. An image that any container (running or not) was created
// from is never removed.
import { statfs } from "node:fs/promises";
import type { Logger } from "../../common/logger.js";
import type { ImageRecord } from "./image-record.js";
import type { ImageStore } from "./store.js";

export interface ImageGcPolicy {
  /** Percent of the filesystem's capacity above which GC runs (kubelet: 85). */
  highThresholdPercent: number;
  /** Percent GC frees down to (kubelet: 80). */
  lowThresholdPercent: number;
  /** Images younger than this are left alone (kubelet: 2 minutes), so a fresh pull is not collected before use. */
  minAgeMs: number;
}

export const DEFAULT_IMAGE_GC_POLICY: ImageGcPolicy = {
  highThresholdPercent: 85,
  lowThresholdPercent: 80,
  minAgeMs: 2 * 60_000,
};

export interface DiskUsage {
  capacityBytes: number;
  availableBytes: number;
}

export interface ImageGcCandidate {
  image: ImageRecord;
  /** When a container last used the image (or when it was stored), ms since the epoch. */
  lastUsedMs: number;
}

/**
 * Which images to remove, pure: the oldest-used unused images, until the bytes they free
 * bring usage down to the low threshold. Empty when usage is below the high threshold.
 */
export function chooseImagesToCollect(
  disk: DiskUsage,
  candidates: ImageGcCandidate[],
  policy: ImageGcPolicy,
  nowMs: number,
): ImageRecord[] {
  const used = disk.capacityBytes - disk.availableBytes;
  const usedPercent = disk.capacityBytes > 0 ? (used * 100) / disk.capacityBytes : 0;
  if (usedPercent < policy.highThresholdPercent) return [];
  let toFree = used - (disk.capacityBytes * policy.lowThresholdPercent) / 100;
  const chosen: ImageRecord[] = [];
  const ordered = candidates
    .filter((c) => nowMs - c.lastUsedMs >= policy.minAgeMs)
    .sort((a, b) => a.lastUsedMs - b.lastUsedMs);
  for (const c of ordered) {
    if (toFree <= 0) break;
    chosen.push(c.image);
    toFree -= c.image.size;
  }
  return chosen;
}

export interface ImageGcDeps {
  store: ImageStore;
  /** Ids of the images that containers (running or not) were created from. */
  imagesInUse: () => Set<string>;
  logger: Logger;
  policy?: ImageGcPolicy;
  now?: () => number;
  diskUsage?: (path: string) => Promise<DiskUsage>;
}

/** One GC pass; returns the ids removed. */
export async function collectImages(deps: ImageGcDeps): Promise<string[]> {
  const policy = deps.policy ?? DEFAULT_IMAGE_GC_POLICY;
  const now = deps.now?.() ?? Date.now();
  const disk = await (deps.diskUsage ?? statfsUsage)(deps.store.root);
  const use = deps.imagesInUse();
  const candidates = deps.store
    .list()
    .filter((image) => !use.has(image.id))
    .map((image) => ({ image, lastUsedMs: image.importedAt }));
  const removed: string[] = [];
  for (const image of chooseImagesToCollect(disk, candidates, policy, now)) {
    try {
      await deps.store.remove(image.id, (id) => deps.imagesInUse().has(id));
      removed.push(image.id);
      deps.logger.info(
        { image: image.id, tags: image.repoTags, bytes: image.size },
        "image garbage-collected",
      );
    } catch (err) {
      deps.logger.warn({ err, image: image.id }, "image garbage collection skipped an image");
    }
  }
  return removed;
}

async function statfsUsage(path: string): Promise<DiskUsage> {
  const s = await statfs(path);
  return { capacityBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize };
}
