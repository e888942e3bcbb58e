import { describe, expect, it } from "vitest";
import { chooseImagesToCollect, DEFAULT_IMAGE_GC_POLICY } from "../../../../cri/images/image-gc.js";
import type { ImageRecord } from "../../../../cri/images/image-record.js";

function image(id: string, size: number): ImageRecord {
  return { id, size, repoTags: [id], importedAt: 0 } as unknown as ImageRecord;
}

const GB = 1e9;
const now = 10 * 60_000;

describe("image GC policy", () => {
  it("does nothing below the high threshold", () => {
    const disk = { capacityBytes: 100 * GB, availableBytes: 16 * GB };
    expect(
      chooseImagesToCollect(disk, [{ image: image("a", GB), lastUsedMs: 0 }], DEFAULT_IMAGE_GC_POLICY, now),
    ).toEqual([]);
  });

  it("removes least recently used images until usage is at the low threshold", () => {
    const disk = { capacityBytes: 100 * GB, availableBytes: 10 * GB }; // 90% used: free 10 GB
    const chosen = chooseImagesToCollect(
      disk,
      [
        { image: image("new", 6 * GB), lastUsedMs: 5 * 60_000 },
        { image: image("old", 6 * GB), lastUsedMs: 60_000 },
        { image: image("older", 6 * GB), lastUsedMs: 0 },
      ],
      DEFAULT_IMAGE_GC_POLICY,
      now,
    );
    expect(chosen.map((i) => i.id)).toEqual(["older", "old"]);
  });

  it("leaves images younger than the minimum age", () => {
    const disk = { capacityBytes: 100 * GB, availableBytes: 1 * GB };
    const chosen = chooseImagesToCollect(
      disk,
      [{ image: image("fresh", GB), lastUsedMs: now - 1000 }],
      DEFAULT_IMAGE_GC_POLICY,
      now,
    );
    expect(chosen).toEqual([]);
  });
});
