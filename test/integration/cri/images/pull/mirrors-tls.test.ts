// Registry host configuration against real registries: mirrors from hosts.toml tried in order
// before the registry itself (which may be down), capabilities, and HTTPS with a private CA
// (hosts.toml `ca`, Docker-style certs.d *.crt, skip_verify).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { copyFile, mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UnavailableError } from "../../../../../common/errors.js";
import { silentLogger } from "../../../../../common/logger.js";
import { ImagePuller } from "../../../../../cri/images/pull/puller.js";
import { ImageStore } from "../../../../../cri/images/store.js";
import { buildBusyboxImage, type BuiltImage } from "../../../../../harness/oci-image.js";
import {
  freePort,
  makeServerCerts,
  pushLayout,
  startProxy,
  startRegistry,
  writeHostsToml,
  type RunningProxy,
  type RunningRegistry,
} from "../../../../../harness/registry-harness.js";

let work: string;
let image: BuiltImage;
let mirror: RunningRegistry;
let mirrorProxy: RunningProxy;
let emptyMirror: RunningRegistry;
let upstream: RunningRegistry;
let tlsRegistry: RunningRegistry;
let caFile: string;
let deadHost: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-pull-mirror-"));
  image = await buildBusyboxImage(join(work, "img"), {
    name: "berth.test/mirrored/app:v1",
    extraLayers: [[{ path: "mirrored.txt", content: "from a mirror\n" }]],
  });
  mirror = await startRegistry();
  mirrorProxy = await startProxy(mirror.port);
  await pushLayout(image.dir, "v1", mirror.host, "mirrored/app:v1");
  emptyMirror = await startRegistry();
  upstream = await startRegistry();
  await pushLayout(image.dir, "v1", upstream.host, "mirrored/app:v1");
  // Nothing listens here: the registry that is down.
  deadHost = `127.0.0.1:${await freePort()}`;

  const certs = await makeServerCerts(join(work, "certs"));
  caFile = certs.caCert;
  tlsRegistry = await startRegistry({ tls: { certFile: certs.serverCert, keyFile: certs.serverKey } });
  await pushLayout(image.dir, "v1", tlsRegistry.host, "mirrored/app:v1");
});

afterAll(async () => {
  await mirrorProxy?.stop();
  for (const r of [mirror, emptyMirror, upstream, tlsRegistry]) await r?.stop();
  await rm(work, { recursive: true, force: true });
});

let storeRoot: string;
let hostsDir: string;
let store: ImageStore;
const pullers: ImagePuller[] = [];

function newPuller(): ImagePuller {
  const puller = new ImagePuller({
    store,
    logger: silentLogger(),
    hostsConfigDir: hostsDir,
    retry: { attempts: 2, baseDelayMs: 10 },
  });
  pullers.push(puller);
  return puller;
}

beforeEach(async () => {
  storeRoot = await mkdtemp(join(tmpdir(), "berth-pull-mirror-store-"));
  hostsDir = join(storeRoot, "certs.d");
  store = new ImageStore({ root: join(storeRoot, "store"), logger: silentLogger() });
  await store.init();
  mirrorProxy.requests.length = 0;
});

afterEach(async () => {
  for (const p of pullers.splice(0)) await p.close();
  await rm(storeRoot, { recursive: true, force: true });
});

describe("mirrors", () => {
  it("pulls from a mirror, keeping the repository path, while the registry itself is down", async () => {
    await writeHostsToml(
      hostsDir,
      deadHost,
      `server = "http://${deadHost}"\n\n[host."http://${mirrorProxy.host}"]\n  capabilities = ["pull", "resolve"]\n`,
    );
    const result = await newPuller().pull(`${deadHost}/mirrored/app:v1`);
    expect(result.imageRef).toBe(image.imageId);
    // Named after the registry asked for, not the mirror.
    expect(result.image.repoTags).toEqual([`${deadHost}/mirrored/app:v1`]);
    expect(result.image.repoDigests).toEqual([`${deadHost}/mirrored/app@${image.manifestDigest}`]);
    expect(mirrorProxy.count("/v2/mirrored/app/manifests/v1")).toBe(1);
    for (const digest of image.layerDigests)
      expect(mirrorProxy.count(`/v2/mirrored/app/blobs/${digest}`)).toBe(1);
  });

  it("tries mirrors in order: one down, one without the image, then the registry", async () => {
    await writeHostsToml(
      hostsDir,
      upstream.host,
      [
        `server = "http://${upstream.host}"`,
        `[host."http://${deadHost}"]`,
        `  capabilities = ["pull", "resolve"]`,
        `[host."http://${emptyMirror.host}"]`,
        `  capabilities = ["pull", "resolve"]`,
        "",
      ].join("\n"),
    );
    const result = await newPuller().pull(`${upstream.host}/mirrored/app:v1`);
    expect(result.imageRef).toBe(image.imageId);
  });

  it("resolves tags only where allowed: a pull-only mirror serves digests, not tags", async () => {
    await writeHostsToml(
      hostsDir,
      deadHost,
      `server = "http://${deadHost}"\n[host."http://${mirrorProxy.host}"]\n  capabilities = ["pull"]\n`,
    );
    await expect(newPuller().pull(`${deadHost}/mirrored/app:v1`)).rejects.toThrow(UnavailableError);
    expect(mirrorProxy.count("/manifests/v1")).toBe(0);
    const byDigest = await newPuller().pull(`${deadHost}/mirrored/app@${image.manifestDigest}`);
    expect(byDigest.imageRef).toBe(image.imageId);
  });
});

describe("HTTPS with a private CA", () => {
  it("fails verification without the CA, saying how to trust it", async () => {
    const err = await newPuller()
      .pull(`${tlsRegistry.host}/mirrored/app:v1`)
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/ca.*hosts\.toml/);
  });

  it("trusts the CA named in hosts.toml", async () => {
    await writeHostsToml(
      hostsDir,
      tlsRegistry.host,
      `server = "https://${tlsRegistry.host}"\nca = "${caFile}"\n`,
    );
    expect((await newPuller().pull(`${tlsRegistry.host}/mirrored/app:v1`)).imageRef).toBe(image.imageId);
  });

  it("trusts *.crt files of the host's certs.d folder when there is no hosts.toml", async () => {
    await mkdir(join(hostsDir, tlsRegistry.host), { recursive: true });
    await copyFile(caFile, join(hostsDir, tlsRegistry.host, "ca.crt"));
    expect((await newPuller().pull(`${tlsRegistry.host}/mirrored/app:v1`)).imageRef).toBe(image.imageId);
  });

  it("skips verification when skip_verify is set", async () => {
    await writeHostsToml(hostsDir, tlsRegistry.host, `skip_verify = true\n`);
    expect((await newPuller().pull(`${tlsRegistry.host}/mirrored/app:v1`)).imageRef).toBe(image.imageId);
  });
});
