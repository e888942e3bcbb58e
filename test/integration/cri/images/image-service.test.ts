// The CRI ImageService RPCs over a real store in a temp root.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ImageSpec } from "../../../../cri/api/generated/api.js";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  UnimplementedError,
} from "../../../../common/errors.js";
import { silentLogger } from "../../../../common/logger.js";
import { CriImageService } from "../../../../cri/images/image-service.js";
import { ImageStore } from "../../../../cri/images/store.js";
import { buildBusyboxImage, type BuiltImage } from "../../../../harness/oci-image.js";

let work: string;
let store: ImageStore;
let service: CriImageService;
let inUse: Set<string>;
let plain: BuiltImage;
let named: BuiltImage;

const NOW_NS = 1_700_000_000_123_456_789n;

function spec(image: string): ImageSpec {
  return { image, annotations: {}, userSpecifiedImage: "", runtimeHandler: "", imageRef: "" };
}

beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-imgsvc-"));
  store = new ImageStore({ root: join(work, "images"), logger: silentLogger() });
  await store.init();
  inUse = new Set();
  service = new CriImageService({
    store,
    isImageInUse: (id) => inUse.has(id),
    clock: { now: () => Number(NOW_NS / 1_000_000n), nowNanos: () => NOW_NS },
  });
  plain = await buildBusyboxImage(join(work, "plain"), { name: "busybox:latest", user: "1000:1000" });
  named = await buildBusyboxImage(join(work, "named"), {
    name: "example.com/app:v1",
    user: "berth",
    cmd: ["true"],
  });
  await store.importOciLayout(plain.dir);
  await store.importOciLayout(named.dir);
});

afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("CriImageService", () => {
  it("lists images with CRI fields, uid or username from the config's User", async () => {
    const { images } = await service.listImages({});
    const byId = new Map(images.map((i) => [i.id, i]));
    expect(byId.get(plain.imageId)).toEqual({
      id: plain.imageId,
      repoTags: ["docker.io/library/busybox:latest"],
      repoDigests: [`docker.io/library/busybox@${plain.manifestDigest}`],
      size: BigInt(plain.size),
      uid: { value: 1000n },
      username: "",
      pinned: false,
    });
    expect(byId.get(named.imageId)).toMatchObject({ username: "berth", repoTags: ["example.com/app:v1"] });
    expect(byId.get(named.imageId)?.uid).toBeUndefined();
  });

  it("filters the list by an image reference", async () => {
    expect(
      (await service.listImages({ filter: { image: spec("busybox") } })).images.map((i) => i.id),
    ).toEqual([plain.imageId]);
    expect((await service.listImages({ filter: { image: spec("nothere:1") } })).images).toEqual([]);
  });

  it("reports status by name, with verbose info as JSON, and no image for unknown names", async () => {
    const status = await service.imageStatus({ image: spec("example.com/app:v1"), verbose: true });
    expect(status.image?.id).toBe(named.imageId);
    const info = JSON.parse(status.info.info!);
    expect(info.config.cmd).toEqual(["true"]);
    expect(info.layers).toHaveLength(1);

    expect((await service.imageStatus({ image: spec(named.imageId), verbose: false })).info).toEqual({});
    expect(await service.imageStatus({ image: spec("missing:1"), verbose: false })).toEqual({ info: {} });
    await expect(service.imageStatus({ verbose: false })).rejects.toThrow(InvalidArgumentError);
  });

  it("removes images idempotently and refuses images in use", async () => {
    inUse.add(plain.imageId);
    await expect(service.removeImage({ image: spec("busybox") })).rejects.toThrow(FailedPreconditionError);
    inUse.clear();
    await service.removeImage({ image: spec("busybox") });
    expect(store.resolve(plain.imageId)).toBeUndefined();
    await service.removeImage({ image: spec("busybox") });
    await service.removeImage({ image: spec(plain.imageId) });
    expect((await service.listImages({})).images.map((i) => i.id)).toEqual([named.imageId]);
  });

  it("reports the image filesystem usage of the store root", async () => {
    const { imageFilesystems, containerFilesystems } = await service.imageFsInfo({});
    expect(containerFilesystems).toEqual([]);
    expect(imageFilesystems).toHaveLength(1);
    const fs = imageFilesystems[0]!;
    expect(fs.timestamp).toBe(NOW_NS);
    expect(fs.fsId).toEqual({ mountpoint: join(work, "images") });
    expect(fs.usedBytes!.value).toBeGreaterThan(2_000_000n);
    expect(fs.inodesUsed!.value).toBeGreaterThan(50n);
  });

  it("does not pull yet", async () => {
    await expect(service.pullImage({ image: spec("busybox") })).rejects.toThrow(UnimplementedError);
  });
});
