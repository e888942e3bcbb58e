// Pulls from a real docker-registry on loopback (plain HTTP, configured insecure by hosts.toml):
// by tag, by digest, multi-platform indexes, layers already present, concurrent pulls, and the
// CRI PullImage RPC over it.
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from "vitest";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NotFoundError, UnavailableError, UnimplementedError } from "../../../../../common/errors.js";
import { silentLogger } from "../../../../../common/logger.js";
import { CriImageService } from "../../../../../cri/images/image-service.js";
import type { PullProgressEvent } from "../../../../../cri/images/pull/progress.js";
import { ImagePuller, type ImagePullerOptions } from "../../../../../cri/images/pull/puller.js";
import { ImageStore } from "../../../../../cri/images/store.js";
import { buildBusyboxImage, type BuiltImage } from "../../../../../harness/oci-image.js";
import {
  buildMultiPlatformLayout,
  insecureHostsToml,
  layoutTagOf,
  pushLayout,
  startProxy,
  startRegistry,
  writeHostsToml,
  type MultiPlatformLayout,
  type RunningProxy,
  type RunningRegistry,
} from "../../../../../harness/registry-harness.js";

let work: string;
let registry: RunningRegistry;
let proxy: RunningProxy;
let hostsDir: string;
let app: BuiltImage;
let sibling: BuiltImage;
let multi: MultiPlatformLayout;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-pull-"));
  registry = await startRegistry();
  proxy = await startProxy(registry.port);
  hostsDir = join(work, "certs.d");
  await writeHostsToml(hostsDir, registry.host, insecureHostsToml(registry.host));
  await writeHostsToml(hostsDir, proxy.host, insecureHostsToml(proxy.host));

  app = await buildBusyboxImage(join(work, "app"), {
    name: "berth.test/pull/app:v1",
    cmd: ["echo", "hello"],
    extraLayers: [
      [{ path: "app/hello.txt", content: "hello\n" }],
      [{ path: "app/config", content: "x=1\n" }],
    ],
  });
  await pushLayout(app.dir, "v1", registry.host, "pull/app:v1");
  // Shares the busybox layer with app.
  sibling = await buildBusyboxImage(join(work, "sibling"), {
    name: "berth.test/pull/sibling:v1",
    extraLayers: [[{ path: "sibling.txt", content: "sibling\n" }]],
  });
  await pushLayout(sibling.dir, layoutTagOf(sibling.name!), registry.host, "pull/sibling:v1");
  multi = await buildMultiPlatformLayout(join(work, "multi-src"), "multi");
  await pushLayout(multi.dir, multi.tag, registry.host, "pull/multi:latest", { all: true });
});

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

let storeRoot: string;
let store: ImageStore;
let puller: ImagePuller;

async function newPuller(extra: Partial<ImagePullerOptions> = {}): Promise<ImagePuller> {
  return new ImagePuller({ store, logger: silentLogger(), hostsConfigDir: hostsDir, ...extra });
}

beforeEach(async () => {
  storeRoot = await mkdtemp(join(tmpdir(), "berth-pull-store-"));
  store = new ImageStore({ root: storeRoot, logger: silentLogger() });
  await store.init();
  puller = await newPuller();
  proxy.requests.length = 0;
});

afterEach(async () => {
  await puller.close();
  await rm(storeRoot, { recursive: true, force: true });
});

describe("ImagePuller against docker-registry", () => {
  it("pulls by tag: image id is the config digest, named by tag and repo digest", async () => {
    const events: PullProgressEvent[] = [];
    const result = await puller.pull(`${registry.host}/pull/app:v1`, { onProgress: (e) => events.push(e) });

    expect(result.imageRef).toBe(app.imageId);
    expect(result.resolvedDigest).toBe(app.manifestDigest);
    expect(result.image.repoTags).toEqual([`${registry.host}/pull/app:v1`]);
    expect(result.image.repoDigests).toEqual([`${registry.host}/pull/app@${app.manifestDigest}`]);
    expect(result.image.diffIds).toEqual(app.diffIds);
    expect(result.image.config.cmd).toEqual(["echo", "hello"]);
    expect(result.stats).toMatchObject({ layersFetched: 3, layersReused: 0 });
    expect(store.resolve(`${registry.host}/pull/app:v1`)?.id).toBe(app.imageId);

    const dirs = store.layerDirs(result.image);
    expect(await readdir(join(dirs[1]!, "app"))).toEqual(["hello.txt"]);
    expect(await readdir(join(dirs[0]!, "bin"))).toContain("busybox");

    expect(events[0]).toMatchObject({ type: "resolved", manifestDigest: app.manifestDigest });
    expect(events.at(-1)).toMatchObject({ type: "done", imageId: app.imageId });
    for (const digest of app.layerDigests) {
      const states = events
        .filter((e) => e.type === "layer" && e.digest === digest)
        .map((e) => e.type === "layer" && e.state);
      expect(states[0]).toBe("waiting");
      expect(states).toContain("downloading");
      expect(states).toContain("unpacking");
      expect(states.at(-1)).toBe("done");
    }
    // Nothing left in the ingest area.
    expect(await readdir(join(storeRoot, "ingest"))).toEqual([]);
  });

  it("pulls by digest: only a repo digest, no tag", async () => {
    const result = await puller.pull(`${registry.host}/pull/app@${app.manifestDigest}`);
    expect(result.imageRef).toBe(app.imageId);
    expect(result.image.repoTags).toEqual([]);
    expect(result.image.repoDigests).toEqual([`${registry.host}/pull/app@${app.manifestDigest}`]);
  });

  it("picks this host's image from a multi-platform index and names it by the index digest", async () => {
    const result = await puller.pull(`${registry.host}/pull/multi`);
    expect(result.imageRef).toBe(multi.native.imageId);
    expect(result.resolvedDigest).toBe(multi.indexDigest);
    expect(result.image.manifestDigest).toBe(multi.native.manifestDigest);
    expect(result.image.repoTags).toEqual([`${registry.host}/pull/multi:latest`]);
    expect(result.image.repoDigests).toEqual([`${registry.host}/pull/multi@${multi.indexDigest}`]);
    // The index's digest finds the image too.
    expect(store.resolve(`${registry.host}/pull/multi@${multi.indexDigest}`)?.id).toBe(multi.native.imageId);
    expect(store.list()).toHaveLength(1);
  });

  it("does not fetch a layer the store already has", async () => {
    const viaProxy = await newPuller();
    await viaProxy.pull(`${proxy.host}/pull/app:v1`);
    proxy.requests.length = 0;
    const events: PullProgressEvent[] = [];
    const result = await viaProxy.pull(`${proxy.host}/pull/sibling:v1`, {
      onProgress: (e) => events.push(e),
    });
    await viaProxy.close();

    const busyboxLayer = sibling.layerDigests[0]!;
    expect(busyboxLayer).toBe(app.layerDigests[0]);
    expect(proxy.count(`/blobs/${busyboxLayer}`)).toBe(0);
    expect(proxy.count(`/blobs/${sibling.layerDigests[1]!}`)).toBe(1);
    expect(result.stats).toMatchObject({ layersFetched: 1, layersReused: 1 });
    expect(events).toContainEqual(
      expect.objectContaining({ type: "layer", digest: busyboxLayer, state: "already-exists" }),
    );
  });

  it("two concurrent pulls of one image fetch each layer once", async () => {
    const [a, b] = await Promise.all([
      puller.pull(`${proxy.host}/pull/app:v1`),
      puller.pull(`${proxy.host}/pull/app:v1`),
    ]);
    expect(a.imageRef).toBe(app.imageId);
    expect(b.imageRef).toBe(app.imageId);
    for (const digest of app.layerDigests) expect(proxy.count(`/blobs/${digest}`)).toBe(1);
    expect(a.stats.layersFetched + b.stats.layersFetched).toBe(3);
    expect(store.list()).toHaveLength(1);
  });

  it("pulling again changes nothing and fetches no layer", async () => {
    const viaProxy = await newPuller();
    await viaProxy.pull(`${proxy.host}/pull/app:v1`);
    proxy.requests.length = 0;
    const again = await viaProxy.pull(`${proxy.host}/pull/app:v1`);
    await viaProxy.close();
    expect(again.stats).toEqual({ layersFetched: 0, layersReused: 3, bytesFetched: 0 });
    expect(proxy.requests.filter((p) => p.includes("/blobs/") && !p.includes(app.configDigest))).toEqual([]);
  });

  it("reports an unknown tag or repository as not found, storing nothing", async () => {
    await expect(puller.pull(`${registry.host}/pull/app:nope`)).rejects.toThrow(NotFoundError);
    await expect(puller.pull(`${registry.host}/pull/absent:v1`)).rejects.toThrow(NotFoundError);
    expect(store.list()).toEqual([]);
    expect(await readdir(join(storeRoot, "blobs", "sha256"))).toEqual([]);
  });

  it("refuses plain HTTP to a registry not configured insecure", async () => {
    const strict = new ImagePuller({
      store,
      logger: silentLogger(),
      hostsConfigDir: join(work, "empty-certs.d"),
    });
    // berth speaks TLS to it; the plain HTTP registry cannot answer that.
    await expect(strict.pull(`${registry.host}/pull/app:v1`)).rejects.toThrow(UnavailableError);
    await strict.close();
    expect(store.list()).toEqual([]);
  });
});

describe("CriImageService.pullImage", () => {
  it("returns the image id as image_ref and the image is then listed", async () => {
    const service = new CriImageService({
      store,
      isImageInUse: () => false,
      clock: { now: () => 0, nowNanos: () => 0n },
      puller,
    });
    const spec = {
      image: `${registry.host}/pull/app:v1`,
      annotations: {},
      userSpecifiedImage: "",
      runtimeHandler: "",
      imageRef: "",
    };
    const response = await service.pullImage({ image: spec });
    expect(response).toEqual({ imageRef: app.imageId });
    const { images } = await service.listImages({});
    expect(images.map((i) => i.id)).toEqual([app.imageId]);
    expect(images[0]?.repoDigests).toEqual([`${registry.host}/pull/app@${app.manifestDigest}`]);
  });

  it("is unimplemented without a puller", async () => {
    const service = new CriImageService({
      store,
      isImageInUse: () => false,
      clock: { now: () => 0, nowNanos: () => 0n },
    });
    const spec = {
      image: "busybox",
      annotations: {},
      userSpecifiedImage: "",
      runtimeHandler: "",
      imageRef: "",
    };
    await expect(service.pullImage({ image: spec })).rejects.toThrow(UnimplementedError);
  });
});
