import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuthConfig } from "../../../../../cri/api/generated/api.js";
import { InvalidArgumentError } from "../../../../../common/errors.js";
import {
  chainLookups,
  credentialsFingerprint,
  credentialsFromCriAuth,
  credentialsKey,
  criAuthLookup,
  describeCredentials,
  dockerConfigLookup,
} from "../../../../../cri/images/pull/credentials.js";

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
const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("credentialsKey", () => {
  it.each([
    ["https://index.docker.io/v1/", "docker.io"],
    ["registry-1.docker.io", "docker.io"],
    ["docker.io", "docker.io"],
    ["http://LOCALHOST:5000/v2/", "localhost:5000"],
    ["quay.io", "quay.io"],
  ])("%s -> %s", (address, key) => {
    expect(credentialsKey(address)).toBe(key);
  });
});

describe("credentialsFromCriAuth", () => {
  it("prefers a registry token, then an identity token, then username/password, then auth", () => {
    expect(credentialsFromCriAuth(undefined)).toBeUndefined();
    expect(credentialsFromCriAuth(auth({}))).toBeUndefined();
    expect(credentialsFromCriAuth(auth({ registryToken: "rt", username: "u" }))).toEqual({
      registryToken: "rt",
    });
    expect(credentialsFromCriAuth(auth({ identityToken: "it", username: "u" }))).toEqual({
      identityToken: "it",
      username: "u",
    });
    expect(credentialsFromCriAuth(auth({ username: "u", password: "p", auth: b64("x:y") }))).toEqual({
      username: "u",
      password: "p",
    });
    expect(credentialsFromCriAuth(auth({ auth: b64("x:y:z") }))).toEqual({ username: "x", password: "y:z" });
    expect(() => credentialsFromCriAuth(auth({ auth: b64("nocolon") }))).toThrow(InvalidArgumentError);
  });
});

describe("criAuthLookup", () => {
  it("applies to every host without a server address, to that host only with one", async () => {
    const any = criAuthLookup(auth({ username: "u", password: "p" }))!;
    expect(await any("mirror.example.com")).toEqual({ username: "u", password: "p" });
    const only = criAuthLookup(
      auth({ username: "u", password: "p", serverAddress: "https://index.docker.io/v1/" }),
    )!;
    expect(await only("registry-1.docker.io")).toEqual({ username: "u", password: "p" });
    expect(await only("mirror.example.com")).toBeUndefined();
    expect(criAuthLookup(undefined)).toBeUndefined();
  });
});

describe("dockerConfigLookup", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-dockercfg-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("finds auths entries by registry, in the forms Docker writes them", async () => {
    const path = join(dir, "config.json");
    await writeFile(
      path,
      JSON.stringify({
        auths: {
          "https://index.docker.io/v1/": { auth: b64("hubuser:hubpass") },
          "localhost:5000": { username: "lu", password: "lp" },
          "http://tokens.example.com": { auth: b64("tu:"), identitytoken: "refresh" },
          "reg.example.com": { registrytoken: "bearer-token" },
          "empty.example.com": {},
        },
        credsStore: "desktop",
      }),
    );
    const lookup = dockerConfigLookup(path);
    expect(await lookup("registry-1.docker.io")).toEqual({ username: "hubuser", password: "hubpass" });
    expect(await lookup("localhost:5000")).toEqual({ username: "lu", password: "lp" });
    expect(await lookup("tokens.example.com")).toEqual({ identityToken: "refresh", username: "tu" });
    expect(await lookup("reg.example.com")).toEqual({ registryToken: "bearer-token" });
    expect(await lookup("empty.example.com")).toBeUndefined();
    expect(await lookup("other.example.com")).toBeUndefined();
  });

  it("has nothing when the file is missing, and names a malformed file", async () => {
    expect(await dockerConfigLookup(join(dir, "absent.json"))("x")).toBeUndefined();
    const bad = join(dir, "bad.json");
    await writeFile(bad, "{nope");
    await expect(dockerConfigLookup(bad)("x")).rejects.toThrow(bad);
  });

  it("chains lookups, the first with credentials winning", async () => {
    const path = join(dir, "config.json");
    await writeFile(path, JSON.stringify({ auths: { "a.example.com": { auth: b64("file:1") } } }));
    const lookup = chainLookups(
      criAuthLookup(auth({ username: "cri", password: "2", serverAddress: "b.example.com" })),
      dockerConfigLookup(path),
    );
    expect(await lookup("a.example.com")).toEqual({ username: "file", password: "1" });
    expect(await lookup("b.example.com")).toEqual({ username: "cri", password: "2" });
    expect(await lookup("c.example.com")).toBeUndefined();
  });
});

describe("describing credentials", () => {
  it("names the kind and user, never the secret", () => {
    const creds = { username: "alice", password: "hunter2" };
    expect(describeCredentials(creds)).toBe('user "alice"');
    expect(describeCredentials({ identityToken: "tok" })).toBe("identity token");
    expect(describeCredentials(undefined)).toBe("anonymous");
    const fingerprint = credentialsFingerprint(creds);
    expect(fingerprint).not.toContain("hunter2");
    expect(fingerprint).not.toBe(credentialsFingerprint({ username: "alice", password: "other" }));
  });
});
