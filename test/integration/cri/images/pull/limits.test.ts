// Images are bounded, over berth's CRI socket against a real registry: a layer that inflates far
// past its compressed size, an image larger than its limit or than the free space, too many
// layers, and a stalled blob under a short client deadline. Each is refused with a clear status
// and leaves nothing in the store. The limits are set low so the images stay small.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { InvalidArgumentError, ResourceExhaustedError } from "../../../../../common/errors.js";
import { PullImageRequest } from "../../../../../cri/api/generated/api.js";
import { connectCri } from "../../../../../cri/grpc-client.js";
import type { ImageLimits } from "../../../../../cri/images/image-limits.js";
import { buildBusyboxImage, type BuiltImage, type LayerEntrySpec } from "../../../../../harness/oci-image.js";
import { grpcError, waitFor } from "../../../../../harness/cri-fixtures.js";
import {
  insecureHostsToml,
  pushLayout,
  startProxy,
  startRegistry,
  writeHostsToml,
  type RunningProxy,
  type RunningRegistry,
} from "../../../../../harness/registry-harness.js";
import { startHarness, type Harness } from "../../../../../harness/runtime-harness.js";

const MiB = 1024 * 1024;
const LIMITS: Partial<ImageLimits> = {
  maxLayers: 4,
  maxCompressionRatio: 10,
  compressionRatioFloorBytes: MiB,
  maxImageUncompressedBytes: 4 * MiB,
};

let work: string;
let registry: RunningRegistry;
let proxy: RunningProxy;
let hostsDir: string;
const images = new Map<string, BuiltImage>();

/** Builds busybox with `extraLayers` on top and pushes it as limits/<name>:v1. */
async function publish(name: string, extraLayers: LayerEntrySpec[][]): Promise<void> {
  const built = await buildBusyboxImage(join(work, name), {
    name: `berth.test/limits/${name}:v1`,
    extraLayers,
  });
  await pushLayout(built.dir, "v1", registry.host, `limits/${name}:v1`);
  images.set(name, built);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-pull-limits-"));
  registry = await startRegistry();
  // 16 MiB of zeros gzip to about 16 KiB: a thousandfold inflation.
  await publish("bomb", [[{ path: "zeros", content: Buffer.alloc(16 * MiB) }]]);
  // Incompressible: busybox and this layer together pass the 4 MiB image limit.
  await publish("big", [[{ path: "noise", content: randomBytes(3 * MiB) }]]);
  await publish(
    "deep",
    [1, 2, 3, 4].map((i) => [{ path: `layer-${i}.txt`, content: `${i}\n` }]),
  );
  await publish("slow", [[{ path: "noise", content: randomBytes(256 * 1024) }]]);
  const stalled = images.get("slow")!.layerDigests.at(-1)!;
  proxy = await startProxy(registry.port, {
    stall: { match: (p) => p.endsWith(`/blobs/${stalled}`), afterBytes: 4096, times: 1000 },
  });
  hostsDir = join(work, "certs.d");
  await writeHostsToml(hostsDir, proxy.host, insecureHostsToml(proxy.host));
});

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  await rm(work, { recursive: true, force: true });
});

async function expectStoreEmpty(h: Harness): Promise<void> {
  const root = h.runtime.images.root;
  expect((await h.cri.images.listImages({})).images).toEqual([]);
  for (const dir of ["blobs/sha256", "layers/sha256", "layers/tmp", "ingest", "images"]) {
    expect(await readdir(join(root, dir)), dir).toEqual([]);
  }
}

function pullRequest(name: string): PullImageRequest {
  return PullImageRequest.fromPartial({ image: { image: `${proxy.host}/limits/${name}:v1` } });
}

describe("image limits over the CRI socket", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ registryHostsDir: hostsDir, imageLimits: LIMITS });
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  it("refuses a layer that inflates past the compression ratio limit while it downloads", async () => {
    const err = await grpcError(h.cri.images.pullImage(pullRequest("bomb")));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toContain(`${proxy.host}/limits/bomb:v1`);
    expect(err.details).toMatch(/inflates past 10 times its \d+ compressed bytes/);
    await expectStoreEmpty(h);
  });

  it("refuses an image whose layers inflate past the image size limit", async () => {
    const err = await grpcError(h.cri.images.pullImage(pullRequest("big")));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toContain(`${proxy.host}/limits/big:v1`);
    expect(err.details).toMatch(/uncompressed layers are larger than the limit of 4194304 bytes/);
    await expectStoreEmpty(h);
  });

  it("refuses an image with too many layers from its manifest, before fetching any blob", async () => {
    const before = proxy.count("/blobs/");
    const err = await grpcError(h.cri.images.pullImage(pullRequest("deep")));
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain(`${proxy.host}/limits/deep:v1 has 5 layers, more than the limit of 4`);
    expect(proxy.count("/blobs/")).toBe(before);
    await expectStoreEmpty(h);
  });

  it("ends a pull of a stalled blob at the caller's deadline, leaving no temp file or content", async () => {
    const impatient = connectCri(h.socket, 2000);
    try {
      const err = await grpcError(impatient.images.pullImage(pullRequest("slow")));
      expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    } finally {
      impatient.close();
    }
    // The busybox layer arrived before the deadline; the pull's cleanup removes it with the
    // partial download once it stops (the registry connection would idle for a minute).
    await waitFor(
      async () => {
        const root = h.runtime.images.root;
        const left = await Promise.all(
          ["ingest", "blobs/sha256", "layers/sha256"].map((d) => readdir(join(root, d))),
        );
        return left.every((entries) => entries.length === 0);
      },
      15_000,
      "the stopped pull's content removed",
    );
    await expectStoreEmpty(h);
    // The stalled blob was asked for, so the deadline (not a refusal) is what ended the pull.
    expect(proxy.count(`/blobs/${images.get("slow")!.layerDigests.at(-1)!}`)).toBeGreaterThan(0);
  });

  it("applies the same limits to an OCI layout import", async () => {
    const bomb = await h.runtime.images.importOciLayout(images.get("bomb")!.dir).catch((e: unknown) => e);
    expect(bomb).toBeInstanceOf(ResourceExhaustedError);
    expect((bomb as Error).message).toMatch(/berth\.test\/limits\/bomb:v1: .*inflates past 10 times/);
    const deep = await h.runtime.images.importOciLayout(images.get("deep")!.dir).catch((e: unknown) => e);
    expect(deep).toBeInstanceOf(InvalidArgumentError);
    expect((deep as Error).message).toMatch(/has 5 layers, more than the limit of 4/);
    await expectStoreEmpty(h);
  });
});

describe("free space of the image filesystem", () => {
  let h: Harness;

  beforeAll(async () => {
    // A reserve larger than any disk: nothing fits.
    h = await startHarness({
      registryHostsDir: hostsDir,
      imageLimits: { reservedFreeBytes: Number.MAX_SAFE_INTEGER },
    });
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  it("refuses a pull whose layers would not fit beside the reserve, before fetching any layer", async () => {
    const layers = images.get("big")!.layerDigests;
    const before = layers.map((layer) => proxy.count(`/blobs/${layer}`));
    const err = await grpcError(h.cri.images.pullImage(pullRequest("big")));
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(/limits\/big:v1: .*do not fit in the \d+ bytes free on the image filesystem/);
    expect(layers.map((layer) => proxy.count(`/blobs/${layer}`))).toEqual(before);
    await expectStoreEmpty(h);
  });
});
