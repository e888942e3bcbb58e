// Authenticated pulls from real registries on loopback: docker-registry with htpasswd (Basic)
// auth, and docker-registry with token auth behind a token server run by the test (Bearer).
// Credentials come from CRI AuthConfig or a Docker config.json; secrets never show in errors.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuthConfig } from "../../../../../cri/api/generated/api.js";
import { RuntimeFailureError } from "../../../../../common/errors.js";
import { silentLogger } from "../../../../../common/logger.js";
import { ImagePuller } from "../../../../../cri/images/pull/puller.js";
import { ImageStore } from "../../../../../cri/images/store.js";
import { buildBusyboxImage, type BuiltImage } from "../../../../../harness/oci-image.js";
import {
  insecureHostsToml,
  makeHtpasswd,
  makeTokenSigningCert,
  pushLayout,
  startRegistry,
  startTokenServer,
  writeHostsToml,
  type RunningRegistry,
  type RunningTokenServer,
} from "../../../../../harness/registry-harness.js";

const USER = "berth-user";
const PASSWORD = "s3cret-Passw0rd";
const IDENTITY_TOKEN = "refresh-token-0123456789";

let work: string;
let hostsDir: string;
let image: BuiltImage;
let basicRegistry: RunningRegistry;
let tokenRegistry: RunningRegistry;
let tokenServer: RunningTokenServer;

function auth(fields: Partial<AuthConfig>): AuthConfig {
  return {
    username: "",
    password: "",
    auth: "",
    serverAddress: "",
    identityToken: "",
    registryToken: "",
    ...fields,
  };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "berth-pull-auth-"));
  hostsDir = join(work, "certs.d");
  image = await buildBusyboxImage(join(work, "img"), {
    name: "berth.test/private/app:v1",
    extraLayers: [[{ path: "secret.txt", content: "private\n" }]],
  });

  const htpasswd = join(work, "htpasswd");
  await makeHtpasswd(htpasswd, USER, PASSWORD);
  basicRegistry = await startRegistry({ auth: { htpasswd: { path: htpasswd } } });
  await writeHostsToml(hostsDir, basicRegistry.host, insecureHostsToml(basicRegistry.host));
  await pushLayout(image.dir, "v1", basicRegistry.host, "private/app:v1", { creds: `${USER}:${PASSWORD}` });

  const signing = await makeTokenSigningCert(join(work, "token"));
  const service = "berth-test-registry";
  const issuer = "berth-test-issuer";
  tokenServer = await startTokenServer({
    username: USER,
    password: PASSWORD,
    service,
    issuer,
    keyPem: signing.keyPem,
    certPem: signing.certPem,
    identityToken: IDENTITY_TOKEN,
  });
  tokenRegistry = await startRegistry({
    auth: { token: { realm: tokenServer.realm, service, issuer, rootCertBundle: signing.certFile } },
  });
  await writeHostsToml(hostsDir, tokenRegistry.host, insecureHostsToml(tokenRegistry.host));
  await pushLayout(image.dir, "v1", tokenRegistry.host, "private/app:v1", { creds: `${USER}:${PASSWORD}` });
});

afterAll(async () => {
  await basicRegistry?.stop();
  await tokenRegistry?.stop();
  await tokenServer?.stop();
  await rm(work, { recursive: true, force: true });
});

let storeRoot: string;
let store: ImageStore;
let puller: ImagePuller;

beforeEach(async () => {
  storeRoot = await mkdtemp(join(tmpdir(), "berth-pull-auth-store-"));
  store = new ImageStore({ root: storeRoot, logger: silentLogger() });
  await store.init();
  puller = new ImagePuller({ store, logger: silentLogger(), hostsConfigDir: hostsDir });
  tokenServer.requests.length = 0;
});

afterEach(async () => {
  await puller.close();
  await rm(storeRoot, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected the pull to fail");
}

describe("basic auth (htpasswd)", () => {
  it("is denied without credentials, and stores nothing", async () => {
    const err = await failure(puller.pull(`${basicRegistry.host}/private/app:v1`));
    expect(err).toBeInstanceOf(RuntimeFailureError);
    expect(err.message).toMatch(/access denied.*401/);
    expect(store.list()).toEqual([]);
  });

  it("pulls with CRI username and password", async () => {
    const result = await puller.pull(`${basicRegistry.host}/private/app:v1`, {
      auth: auth({ username: USER, password: PASSWORD }),
    });
    expect(result.imageRef).toBe(image.imageId);
  });

  it("pulls with CRI auth (base64 user:password)", async () => {
    const encoded = Buffer.from(`${USER}:${PASSWORD}`).toString("base64");
    const result = await puller.pull(`${basicRegistry.host}/private/app:v1`, {
      auth: auth({ auth: encoded }),
    });
    expect(result.imageRef).toBe(image.imageId);
  });

  it("pulls with credentials from a Docker config.json", async () => {
    const configPath = join(work, "docker-config.json");
    const encoded = Buffer.from(`${USER}:${PASSWORD}`).toString("base64");
    await writeFile(
      configPath,
      JSON.stringify({ auths: { [`http://${basicRegistry.host}`]: { auth: encoded } } }),
    );
    const withConfig = new ImagePuller({
      store,
      logger: silentLogger(),
      hostsConfigDir: hostsDir,
      dockerConfigPath: configPath,
    });
    const result = await withConfig.pull(`${basicRegistry.host}/private/app:v1`);
    await withConfig.close();
    expect(result.imageRef).toBe(image.imageId);
  });

  it("is denied with a wrong password, which the error does not show", async () => {
    const err = await failure(
      puller.pull(`${basicRegistry.host}/private/app:v1`, {
        auth: auth({ username: USER, password: "wrong-Passw0rd-xyz" }),
      }),
    );
    expect(err).toBeInstanceOf(RuntimeFailureError);
    expect(err.message).toMatch(/credentials were refused/);
    expect(err.message).not.toContain("wrong-Passw0rd-xyz");
  });

  it("does not send CRI credentials meant for another server", async () => {
    const err = await failure(
      puller.pull(`${basicRegistry.host}/private/app:v1`, {
        auth: auth({ username: USER, password: PASSWORD, serverAddress: "other.example.com" }),
      }),
    );
    expect(err.message).toMatch(/none given/);
  });
});

describe("token auth (Bearer)", () => {
  it("gets a token for the repository's pull scope once and reuses it", async () => {
    const result = await puller.pull(`${tokenRegistry.host}/private/app:v1`, {
      auth: auth({ username: USER, password: PASSWORD }),
    });
    expect(result.imageRef).toBe(image.imageId);
    expect(tokenServer.requests).toEqual([{ scope: "repository:private/app:pull", authenticated: true }]);

    // A second pull with the same puller (new store content) uses the cached token.
    await store.remove(image.imageId, () => false);
    await puller.pull(`${tokenRegistry.host}/private/app:v1`, {
      auth: auth({ username: USER, password: PASSWORD }),
    });
    expect(tokenServer.requests).toHaveLength(1);
  });

  it("is denied when the token grants nothing (anonymous)", async () => {
    const err = await failure(puller.pull(`${tokenRegistry.host}/private/app:v1`));
    expect(err).toBeInstanceOf(RuntimeFailureError);
    expect(err.message).toMatch(/access denied/);
    expect(tokenServer.requests[0]).toEqual({ scope: "repository:private/app:pull", authenticated: false });
    expect(store.list()).toEqual([]);
  });

  it("is denied when the token server refuses the credentials", async () => {
    const err = await failure(
      puller.pull(`${tokenRegistry.host}/private/app:v1`, {
        auth: auth({ username: USER, password: "nope-nope" }),
      }),
    );
    expect(err.message).toMatch(/token server .* refused user "berth-user"/);
    expect(err.message).not.toContain("nope-nope");
  });

  it("exchanges a CRI identity token for an access token", async () => {
    const result = await puller.pull(`${tokenRegistry.host}/private/app:v1`, {
      auth: auth({ identityToken: IDENTITY_TOKEN }),
    });
    expect(result.imageRef).toBe(image.imageId);
    expect(tokenServer.requests).toEqual([{ scope: "repository:private/app:pull", authenticated: true }]);
  });

  it("sends a CRI registry token as is, without asking the token server", async () => {
    const url = `${tokenServer.realm}?service=berth-test-registry&scope=repository:private/app:pull`;
    const res = await fetch(url, {
      headers: { authorization: `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}` },
    });
    const { token } = (await res.json()) as { token: string };
    tokenServer.requests.length = 0;
    const result = await puller.pull(`${tokenRegistry.host}/private/app:v1`, {
      auth: auth({ registryToken: token }),
    });
    expect(result.imageRef).toBe(image.imageId);
    expect(tokenServer.requests).toEqual([]);
  });
});
