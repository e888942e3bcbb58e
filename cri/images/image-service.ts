// The CRI ImageService over berth's local image store. Images arrive by registry pulls (through
// the ImagePuller the service is given) or by ImageStore.importOciLayout.
import type { Clock } from "../../common/clock.js";
import { InvalidArgumentError, NotFoundError, UnimplementedError } from "../../common/errors.js";
import type {
  Image,
  ImageFsInfoRequest,
  ImageFsInfoResponse,
  ImageStatusRequest,
  ImageStatusResponse,
  ListImagesRequest,
  ListImagesResponse,
  PullImageRequest,
  PullImageResponse,
  RemoveImageRequest,
  RemoveImageResponse,
} from "../api/generated/api.js";
import { imageUser, type ImageRecord } from "./image-record.js";
import type { ImagePuller } from "./pull/puller.js";
import type { ImageStore } from "./store.js";

export interface CriImageServiceOptions {
  store: ImageStore;
  /** True while any container (running or not) was created from the image. */
  isImageInUse: (imageId: string) => boolean;
  clock: Clock;
  /** Fetches images from registries; without one, PullImage is unimplemented. */
  puller?: ImagePuller;
}

export class CriImageService {
  private readonly store: ImageStore;
  private readonly isImageInUse: (imageId: string) => boolean;
  private readonly clock: Clock;
  private readonly puller: ImagePuller | undefined;

  constructor(opts: CriImageServiceOptions) {
    this.store = opts.store;
    this.isImageInUse = opts.isImageInUse;
    this.clock = opts.clock;
    this.puller = opts.puller;
  }

  async listImages(request: ListImagesRequest): Promise<ListImagesResponse> {
    const ref = request.filter?.image?.image ?? "";
    if (ref !== "") {
      const image = this.store.resolve(ref);
      return { images: image ? [toCriImage(image)] : [] };
    }
    return { images: this.store.list().map(toCriImage) };
  }

  async imageStatus(request: ImageStatusRequest): Promise<ImageStatusResponse> {
    const ref = requireImageRef(request.image?.image);
    const image = this.store.resolve(ref);
    // CRI: an absent image is not an error; the response simply has no image.
    if (!image) return { info: {} };
    return { image: toCriImage(image), info: request.verbose ? verboseInfo(image) : {} };
  }

  async removeImage(request: RemoveImageRequest): Promise<RemoveImageResponse> {
    const ref = requireImageRef(request.image?.image);
    try {
      await this.store.remove(ref, this.isImageInUse);
    } catch (err) {
      // CRI: removing an image that is not there succeeds.
      if (!(err instanceof NotFoundError)) throw err;
    }
    return {};
  }

  async imageFsInfo(_request: ImageFsInfoRequest): Promise<ImageFsInfoResponse> {
    const usage = await this.store.fsUsage();
    return {
      imageFilesystems: [
        {
          timestamp: this.clock.nowNanos(),
          fsId: { mountpoint: this.store.root },
          usedBytes: { value: BigInt(usage.bytes) },
          inodesUsed: { value: BigInt(usage.inodes) },
        },
      ],
      containerFilesystems: [],
    };
  }

  /** Pulls the image with the request's credentials; image_ref is the image id (the config's
   * digest), as containerd returns it. */
  async pullImage(request: PullImageRequest, signal?: AbortSignal): Promise<PullImageResponse> {
    const ref = requireImageRef(request.image?.image);
    if (!this.puller) throw new UnimplementedError("PullImage without a registry puller");
    const result = await this.puller.pull(ref, {
      ...(request.auth ? { auth: request.auth } : {}),
      ...(signal ? { signal } : {}),
    });
    return { imageRef: result.imageRef };
  }
}

function requireImageRef(ref: string | undefined): string {
  if (!ref) throw new InvalidArgumentError("image.image", "must name an image");
  return ref;
}

export function toCriImage(record: ImageRecord): Image {
  const user = imageUser(record.config.user);
  return {
    id: record.id,
    repoTags: record.repoTags,
    repoDigests: record.repoDigests,
    size: BigInt(record.size),
    ...(user.uid !== undefined ? { uid: { value: BigInt(user.uid) } } : {}),
    username: user.username ?? "",
    pinned: false,
  };
}

function verboseInfo(record: ImageRecord): Record<string, string> {
  return {
    info: JSON.stringify({
      id: record.id,
      manifestDigest: record.manifestDigest,
      os: record.os,
      architecture: record.architecture,
      created: record.created,
      config: record.config,
      layers: record.layers,
    }),
  };
}
