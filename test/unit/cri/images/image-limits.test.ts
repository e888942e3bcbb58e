import { describe, expect, it } from "vitest";
import { InvalidArgumentError, ResourceExhaustedError } from "../../../../common/errors.js";
import {
  checkLayerCount,
  DEFAULT_IMAGE_LIMITS,
  ImageSizeBudget,
  imageLimitsOf,
  type ImageLimits,
} from "../../../../cri/images/image-limits.js";

const MiB = 1024 * 1024;
const limits: ImageLimits = {
  maxLayers: 3,
  maxLayerUncompressedBytes: 100 * MiB,
  maxImageUncompressedBytes: 150 * MiB,
  maxCompressionRatio: 10,
  compressionRatioFloorBytes: 4 * MiB,
  reservedFreeBytes: 10 * MiB,
};
const plenty = 1024 * MiB;

describe("layer count", () => {
  it("refuses more layers than the limit, naming the image and the limit", () => {
    expect(() => checkLayerCount(3, limits, "app:v1")).not.toThrow();
    expect(() => checkLayerCount(4, limits, "app:v1")).toThrow(InvalidArgumentError);
    expect(() => checkLayerCount(4, limits, "app:v1")).toThrow(
      /app:v1 has 4 layers, more than the limit of 3/,
    );
  });

  it("defaults to what overlayfs can stack under a container's own layer", () => {
    expect(DEFAULT_IMAGE_LIMITS.maxLayers).toBe(127);
  });
});

describe("size budget", () => {
  it("allows a layer up to its compression ratio, or the floor for small layers", () => {
    const budget = new ImageSizeBudget(limits, "app:v1", plenty, 0);
    const small = budget.layer(1000, "layer 0")();
    expect(small(4 * MiB)).toBeUndefined();
    expect(small(1)).toBeInstanceOf(ResourceExhaustedError);
    const large = budget.layer(5 * MiB, "layer 1")();
    expect(large(50 * MiB)).toBeUndefined();
    expect(large(1)?.message).toMatch(/app:v1: layer 1: inflates past 10 times/);
  });

  it("bounds one layer and the whole image", () => {
    const budget = new ImageSizeBudget({ ...limits, maxCompressionRatio: 1000 }, "app:v1", plenty, 0);
    const a = budget.layer(MiB, "layer 0")();
    expect(a(100 * MiB)).toBeUndefined();
    expect(a(1)?.message).toMatch(/uncompressed layer is larger than the limit/);
    const b = budget.layer(MiB, "layer 1")();
    expect(b(50 * MiB - 1)).toBeUndefined();
    expect(b(1)?.message).toMatch(/image's uncompressed layers are larger than the limit of 157286400 bytes/);
  });

  it("keeps the reserve free, counting the blobs the layers come in", () => {
    expect(() => new ImageSizeBudget(limits, "app:v1", 20 * MiB, 11 * MiB)).toThrow(ResourceExhaustedError);
    const budget = new ImageSizeBudget(limits, "app:v1", 20 * MiB, 2 * MiB);
    const meter = budget.layer(2 * MiB, "layer 0")();
    expect(meter(8 * MiB)).toBeUndefined();
    expect(meter(1)?.message).toMatch(/do not fit in the free space/);
  });

  it("takes back what a failed attempt counted when the layer is fetched again", () => {
    const budget = new ImageSizeBudget({ ...limits, maxCompressionRatio: 1000 }, "app:v1", plenty, 0);
    const meters = budget.layer(MiB, "layer 0");
    expect(meters()(90 * MiB)).toBeUndefined();
    const retry = meters();
    expect(retry(90 * MiB)).toBeUndefined();
    expect(budget.layer(MiB, "layer 1")()(60 * MiB)).toBeUndefined();
  });
});

describe("configured limits", () => {
  it("fills in defaults and refuses values that are not positive whole numbers", () => {
    expect(imageLimitsOf({ maxLayers: 5 }).maxLayers).toBe(5);
    expect(imageLimitsOf({}).maxCompressionRatio).toBe(DEFAULT_IMAGE_LIMITS.maxCompressionRatio);
    expect(() => imageLimitsOf({ maxLayers: 0 })).toThrow(/images: maxLayers/);
    expect(() => imageLimitsOf({ maxCompressionRatio: 1.5 })).toThrow(InvalidArgumentError);
    expect(imageLimitsOf({ reservedFreeBytes: 0 }).reservedFreeBytes).toBe(0);
  });
});
