// The bounds an image must stay within to be stored, whether it is pulled or imported: how many
// layers it has, how far each layer and the whole image inflate, and how much of the image
// filesystem it may take. Layer counts are checked from the manifest before anything is fetched;
// sizes are counted as the uncompressed bytes stream by, so an image bomb is cut off early
// instead of filling the disk.
import { statfs } from "node:fs/promises";
import { InvalidArgumentError, ResourceExhaustedError } from "../../common/errors.js";

export interface ImageLimits {
  /** Layers one image may have. overlayfs stacks at most 128 lowerdirs on common kernels, and a
   * container's own upper layer takes one more: 127 image layers is the most that can run. */
  maxLayers: number;
  /** Uncompressed bytes one layer may hold. */
  maxLayerUncompressedBytes: number;
  /** Uncompressed bytes the layers one pull or import unpacks may hold in all. */
  maxImageUncompressedBytes: number;
  /** A layer may inflate to at most this many times its compressed size ... */
  maxCompressionRatio: number;
  /** ... once it is past this many bytes (small layers compress well and do no harm). */
  compressionRatioFloorBytes: number;
  /** Free bytes of the image filesystem that a pull or import never uses. */
  reservedFreeBytes: number;
}

export const DEFAULT_IMAGE_LIMITS: ImageLimits = {
  maxLayers: 127,
  maxLayerUncompressedBytes: 32 * 1024 ** 3,
  maxImageUncompressedBytes: 64 * 1024 ** 3,
  maxCompressionRatio: 100,
  compressionRatioFloorBytes: 64 * 1024 ** 2,
  reservedFreeBytes: 1024 ** 3,
};

/** Fills in the defaults; refuses values that are not positive whole numbers (`field` names them). */
export function imageLimitsOf(partial: Partial<ImageLimits> = {}, field = "images"): ImageLimits {
  const limits = { ...DEFAULT_IMAGE_LIMITS, ...dropUndefined(partial) };
  for (const [key, value] of Object.entries(limits)) {
    const min = key === "reservedFreeBytes" ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < min) {
      throw new InvalidArgumentError(`${field}: ${key}`, `must be a whole number >= ${min}`);
    }
  }
  return limits;
}

/** Refuses an image with more layers than the limit, before any of them is fetched. */
export function checkLayerCount(layers: number, limits: ImageLimits, image: string): void {
  if (layers > limits.maxLayers) {
    throw new InvalidArgumentError(
      "image",
      `${image} has ${layers} layers, more than the limit of ${limits.maxLayers}`,
    );
  }
}

/** Bytes available to unprivileged writers on the filesystem of `path`. */
export async function freeBytesOf(path: string): Promise<number> {
  const st = await statfs(path);
  return st.bavail * st.bsize;
}

/**
 * The size budget of one pull or import. `compressedBytes` is what the layers it fetches take
 * as blobs; the rest of the free space (minus the reserve) is what they may unpack to.
 */
export class ImageSizeBudget {
  private unpacked = 0;
  private readonly diskBudget: number;

  constructor(
    private readonly limits: ImageLimits,
    private readonly image: string,
    freeBytes: number,
    compressedBytes: number,
  ) {
    this.diskBudget = freeBytes - limits.reservedFreeBytes - compressedBytes;
    if (this.diskBudget < 0) {
      throw new ResourceExhaustedError(
        `${image}: its ${compressedBytes} compressed bytes do not fit in the ${freeBytes} bytes free on the ` +
          `image filesystem, less the ${limits.reservedFreeBytes} bytes kept free`,
      );
    }
  }

  /**
   * Meters for one layer whose blob is `compressedBytes` long (`label` names it in errors): one
   * per attempt to fetch it, each taking back what the attempt before it counted.
   */
  layer(compressedBytes: number, label: string): () => LayerSizeMeter {
    const ratioCap = Math.max(
      this.limits.compressionRatioFloorBytes,
      compressedBytes * this.limits.maxCompressionRatio,
    );
    let counted = 0;
    return () => {
      this.unpacked -= counted;
      counted = 0;
      return (bytes) => {
        counted += bytes;
        this.unpacked += bytes;
        return this.refusal(counted, compressedBytes, ratioCap, label);
      };
    };
  }

  private refusal(
    layerBytes: number,
    compressedBytes: number,
    ratioCap: number,
    label: string,
  ): ResourceExhaustedError | undefined {
    const where = `${this.image}: ${label}`;
    if (layerBytes > this.limits.maxLayerUncompressedBytes) {
      return new ResourceExhaustedError(
        `${where}: uncompressed layer is larger than the limit of ${this.limits.maxLayerUncompressedBytes} bytes`,
      );
    }
    if (layerBytes > ratioCap) {
      return new ResourceExhaustedError(
        `${where}: inflates past ${this.limits.maxCompressionRatio} times its ${compressedBytes} compressed ` +
          `bytes (the compression ratio limit, over ${this.limits.compressionRatioFloorBytes} bytes)`,
      );
    }
    if (this.unpacked > this.limits.maxImageUncompressedBytes) {
      return new ResourceExhaustedError(
        `${where}: the image's uncompressed layers are larger than the limit of ${this.limits.maxImageUncompressedBytes} bytes`,
      );
    }
    if (this.unpacked > this.diskBudget) {
      return new ResourceExhaustedError(
        `${where}: the image's uncompressed layers do not fit in the free space of the image ` +
          `filesystem, less the ${this.limits.reservedFreeBytes} bytes kept free`,
      );
    }
    return undefined;
  }
}

/** Counts `bytes` more of a layer's uncompressed content; an error once a limit is passed. */
export type LayerSizeMeter = (bytes: number) => ResourceExhaustedError | undefined;

function dropUndefined<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
