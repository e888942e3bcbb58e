// Pulls that must fail cleanly, or succeed despite passing failures, against a real registry
// behind a node proxy: a tampered layer, hostile layers, size limits, 503/429 retried with
// backoff, an endpoint that keeps failing. A failed pull stores nothing.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DataLossError,
  InvalidArgumentError,
  ResourceExhaustedError,
  RuntimeFailureError,
  UnavailableError,
} from "../../../../../common/errors.js";
import { silentLogger } from "../../../../../common/logger.js";
import { ImagePuller, type ImagePullerOptions } from "../../../../../cri/images/pull/puller.js";
import { ImageStore } from "../../../../../cri/images/store.js";
import {
  buildBusyboxImage,
  buildHostileLayerImage,
  type BuiltImage,
  type HostileImage,
  type HostileKind,
} from "../../../../../harness/oci-image.js";
import {
  insecureHostsToml,
  pushLayout,
  startProxy,
  startRegistry,
  writeHostsToml,
  type ProxyOptions,
  type RunningProxy,
  type RunningRegistry,
} from "../../../../../harness/registry-harness.js";

const HOSTILE_KINDS: HostileKind[] = ["dotdot-path", "symlink-parent", "hardlink-out", "device-node"];

let work: string;
let registry: RunningRegistry;
let image: BuiltImage;
const hostile = new Map<HostileKind, HostileImage>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-pull-fail-"));
  registry = await startRegistry();
  image = await buildBusyboxImage(join(work, "img"), {
    name: "berth.test/fail/app:v1",
    extraLayers: [[{ path: "top.txt", content: "top layer\n".repeat(200) }]],
  });
  await pushLayout(image.dir, "v1", registry.host, "fail/app:v1");
  for (const kind of HOSTILE_KINDS) {
    const built = await buildHostileLayerImage(join(work, `hostile-${kind}`), kind);
    await pushLayout(built.dir, "latest", registry.host, `hostile/${kind}:latest`);
    hostile.set(kind, built);
  }
});

afterAll(async () => {
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

let storeRoot: string;
let hostsDir: string;
let store: ImageStore;
let proxy: RunningProxy | undefined;
let puller: ImagePuller | undefined;
let pauses: number[];

beforeEach(async () => {
  storeRoot = await mkdtemp(join(tmpdir(), "berth-pull-fail-store-"));
  hostsDir = join(storeRoot, "certs.d");
  store = new ImageStore({ root: join(storeRoot, "store"), logger: silentLogger() });
  await store.init();
  pauses = [];
});

afterEach(async () => {
  await puller?.close();
  await proxy?.stop();
  puller = undefined;
  proxy = undefined;
  await rm(storeRoot, { recursive: true, force: true });
});

/** A puller reaching the registry through a fresh proxy; pauses are recorded, not slept. */
async function viaProxy(opts: ProxyOptions = {}, extra: Partial<ImagePullerOptions> = {}): Promise<string> {
  proxy = await startProxy(registry.port, opts);
  await writeHostsToml(hostsDir, proxy.host, insecureHostsToml(proxy.host));
  puller = new ImagePuller({
    store,
    logger: silentLogger(),
    hostsConfigDir: hostsDir,
    random: () => 1,
    sleep: async (ms) => {
      pauses.push(ms);
    },
    ...extra,
  });
  return proxy.host;
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the pull to fail");
}

async function expectStoreEmpty(): Promise<void> {
  const root = join(storeRoot, "store");
  expect(store.list()).toEqual([]);
  expect(await readdir(join(root, "blobs", "sha256"))).toEqual([]);
  expect(await readdir(join(root, "layers", "sha256"))).toEqual([]);
  expect(await readdir(join(root, "layers", "tmp"))).toEqual([]);
  expect(await readdir(join(root, "ingest"))).toEqual([]);
  expect(await readdir(join(root, "images"))).toEqual([]);
}

describe("content that is not what it claims", () => {
  it("fails on a tampered layer, names the digest mismatch, and stores nothing", async () => {
    const tampered = image.layerDigests[0]!;
    const host = await viaProxy({ tamper: (path) => path.endsWith(`/blobs/${tampered}`) });
    const err = await failure(puller!.pull(`${host}/fail/app:v1`));
    expect(err).toBeInstanceOf(DataLossError);
    expect(err.message).toContain(`content has digest`);
    expect(err.message).toContain(`expected ${tampered}`);
    // A mismatch is not retried: the same bytes would come again.
    expect(proxy!.count(`/blobs/${tampered}`)).toBe(1);
    await expectStoreEmpty();
  });

  it.each(HOSTILE_KINDS)(
    "rejects a hostile layer (%s), writing nothing outside and storing nothing",
    async (kind) => {
      const built = hostile.get(kind)!;
      const host = await viaProxy();
      const err = await failure(puller!.pull(`${host}/hostile/${kind}:latest`));
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect(existsSync(built.escapeTarget)).toBe(false);
      await expectStoreEmpty();
    },
  );

  it("stops a layer that inflates past the limit while it downloads", async () => {
    const host = await viaProxy({}, { maxLayerUncompressedBytes: 256 * 1024 });
    const err = await failure(puller!.pull(`${host}/fail/app:v1`));
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect(err.message).toContain(`${host}/fail/app:v1`);
    expect(err.message).toMatch(/uncompressed layer is larger than the limit of 262144 bytes/);
    await expectStoreEmpty();
  });

  it("refuses a manifest over the size limit", async () => {
    const host = await viaProxy({}, { maxManifestBytes: 64 });
    const err = await failure(puller!.pull(`${host}/fail/app:v1`));
    expect(err).toBeInstanceOf(RuntimeFailureError);
    expect(err.message).toMatch(/more than the limit of 64 bytes/);
    await expectStoreEmpty();
  });
});

describe("passing failures", () => {
  it("retries a layer after 503s, with growing pauses", async () => {
    const layer = image.layerDigests[1]!;
    const host = await viaProxy({
      fail: { match: (p) => p.endsWith(`/blobs/${layer}`), status: 503, times: 2 },
    });
    const result = await puller!.pull(`${host}/fail/app:v1`);
    expect(result.imageRef).toBe(image.imageId);
    expect(proxy!.count(`/blobs/${layer}`)).toBe(3);
    // random() = 1: the full ceiling, 250 ms then 500 ms.
    expect(pauses).toEqual([250, 500]);
  });

  it("retries a download that stalls mid-way, after the idle timeout", async () => {
    const layer = image.layerDigests[0]!;
    const host = await viaProxy(
      { stall: { match: (p) => p.endsWith(`/blobs/${layer}`), afterBytes: 10_000, times: 1 } },
      { idleTimeoutMs: 300 },
    );
    const result = await puller!.pull(`${host}/fail/app:v1`);
    expect(result.imageRef).toBe(image.imageId);
    expect(proxy!.count(`/blobs/${layer}`)).toBe(2);
    expect(pauses).toHaveLength(1);
  });

  it("honours Retry-After on 429", async () => {
    const host = await viaProxy({
      fail: { match: (p) => p.includes("/manifests/"), status: 429, times: 1, retryAfter: "3" },
    });
    const result = await puller!.pull(`${host}/fail/app:v1`);
    expect(result.imageRef).toBe(image.imageId);
    expect(pauses).toEqual([3000]);
  });

  it("gives up after the bounded attempts and stores nothing", async () => {
    const layer = image.layerDigests[0]!;
    const host = await viaProxy(
      { fail: { match: (p) => p.endsWith(`/blobs/${layer}`), status: 500, times: 100 } },
      { retry: { attempts: 3 } },
    );
    const err = await failure(puller!.pull(`${host}/fail/app:v1`));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toMatch(/HTTP 500/);
    expect(proxy!.count(`/blobs/${layer}`)).toBe(3);
    expect(pauses).toHaveLength(2);
    await expectStoreEmpty();
  });
});
