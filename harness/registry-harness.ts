// Real registries on loopback for pull tests and the pull benchmark: Debian's docker-registry
// (the distribution registry) started with a generated config, images pushed with skopeo from
// OCI layouts, and small node servers in front of them (a proxy that counts, fails or tampers;
// a token server for Bearer auth). Every process started here is stopped by its PID.
import { spawn, type ChildProcess } from "node:child_process";
import { createSign, randomBytes, X509Certificate } from "node:crypto";
import { cp, mkdir, mkdtemp, open, readFile, readdir, rm, writeFile } from "node:fs/promises";
import http, { type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { stringify as toYaml } from "yaml";
import { sha256Digest } from "../cri/images/digest.js";
import { MediaType } from "../cri/images/media-types.js";
import { hostPlatform, type Platform } from "../cri/images/platform.js";
import { buildBusyboxImage, type BuiltImage, type BusyboxImageOptions } from "./oci-image.js";

export const REGISTRY_BINARY = "/usr/bin/docker-registry";
const LOOPBACK = "127.0.0.1";

export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

export interface RegistryAuth {
  htpasswd?: { path: string };
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
}

export interface RegistryOptions {
  auth?: RegistryAuth;
  tls?: { certFile: string; keyFile: string };
}

export interface RunningRegistry {
  pid: number;
  port: number;
  /** "127.0.0.1:<port>", the registry part of image references. */
  host: string;
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/** Starts docker-registry on a free loopback port with storage in a temp dir; resolves once it
 * answers /v2/. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<RunningRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "berth-registry-"));
  const port = await freePort();
  const auth: Record<string, unknown> = {};
  if (opts.auth?.htpasswd) auth.htpasswd = { realm: "berth-test", path: opts.auth.htpasswd.path };
  if (opts.auth?.token) {
    const t = opts.auth.token;
    auth.token = { realm: t.realm, service: t.service, issuer: t.issuer, rootcertbundle: t.rootCertBundle };
  }
  const config = {
    version: 0.1,
    log: { level: "warn", accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, "data") }, delete: { enabled: true } },
    http: {
      addr: `${LOOPBACK}:${port}`,
      secret: randomBytes(16).toString("hex"),
      ...(opts.tls ? { tls: { certificate: opts.tls.certFile, key: opts.tls.keyFile } } : {}),
    },
    ...(Object.keys(auth).length > 0 ? { auth } : {}),
  };
  const configFile = join(dir, "config.yml");
  await writeFile(configFile, toYaml(config));
  const log = await open(join(dir, "registry.log"), "w");
  const child = spawn(REGISTRY_BINARY, ["serve", configFile], { stdio: ["ignore", log.fd, log.fd] });
  await log.close();
  let spawnError: Error | undefined;
  child.on("error", (err) => (spawnError = err));
  const scheme = opts.tls ? "https" : "http";
  const registry: RunningRegistry = {
    pid: child.pid ?? -1,
    port,
    host: `${LOOPBACK}:${port}`,
    url: `${scheme}://${LOOPBACK}:${port}`,
    dir,
    stop: () => stopChild(child, dir),
  };
  try {
    await waitUntilServing(child, port, opts.tls !== undefined, dir, () => spawnError);
  } catch (err) {
    await registry.stop();
    throw err;
  }
  return registry;
}

async function waitUntilServing(
  child: ChildProcess,
  port: number,
  tls: boolean,
  dir: string,
  spawnError: () => Error | undefined,
): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const failed = spawnError();
    if (failed)
      throw new Error(`cannot run ${REGISTRY_BINARY} (Debian package docker-registry): ${failed.message}`);
    if (child.exitCode !== null) {
      const log = await readFile(join(dir, "registry.log"), "utf8").catch(() => "");
      throw new Error(`docker-registry exited with ${child.exitCode}: ${log}`);
    }
    // With TLS the plain HTTP probe gets a 400 ("client sent an HTTP request to an HTTPS server"),
    // which shows it is listening just as well.
    const status = await probe(port).catch(() => undefined);
    if (status !== undefined && (tls || status === 200 || status === 401)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not answer on port ${port}`);
}

function probe(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: LOOPBACK, port, path: "/v2/", agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.setTimeout(1000, () => req.destroy(new Error("timeout")));
  });
}

async function stopChild(child: ChildProcess, dir?: string): Promise<void> {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    process.kill(child.pid!, "SIGTERM");
    const timer = setTimeout(() => {
      if (child.exitCode === null) process.kill(child.pid!, "SIGKILL");
    }, 5000);
    await exited;
    clearTimeout(timer);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
}

export interface PushOptions {
  /** Push every image of an index (multi-platform), not just this host's. */
  all?: boolean;
  /** "user:password" for the destination registry. */
  creds?: string;
}

/** Pushes the layout image tagged `layoutTag` to `<registryHost>/<repo>:<tag>`, over plain HTTP
 * or HTTPS without verification. */
export async function pushLayout(
  layoutDir: string,
  layoutTag: string,
  registryHost: string,
  repoAndTag: string,
  opts: PushOptions = {},
): Promise<void> {
  // The tests push their own unsigned images: no signature policy applies.
  await execa("skopeo", [
    "--insecure-policy",
    "copy",
    "--quiet",
    "--dest-tls-verify=false",
    ...(opts.all ? ["--all"] : []),
    ...(opts.creds ? ["--dest-creds", opts.creds] : []),
    `oci:${layoutDir}:${layoutTag}`,
    `docker://${registryHost}/${repoAndTag}`,
  ]);
}

/** Copies an image out of a registry into an OCI layout with skopeo (the benchmark's yardstick). */
export async function skopeoPull(source: string, layoutDir: string, creds?: string): Promise<void> {
  await execa("skopeo", [
    "--insecure-policy",
    "copy",
    "--quiet",
    "--src-tls-verify=false",
    ...(creds ? ["--src-creds", creds] : []),
    `docker://${source}`,
    `oci:${layoutDir}:pulled`,
  ]);
}

/** The layout tag buildBusyboxImage writes for `name` (the part after the last colon). */
export function layoutTagOf(name: string): string {
  return name.slice(name.lastIndexOf(":") + 1);
}

export interface MultiPlatformLayout {
  dir: string;
  tag: string;
  indexDigest: string;
  native: BuiltImage;
  foreign: BuiltImage;
  foreignPlatform: Platform;
}

/** An OCI layout whose tag names an index of two images: one for a foreign platform (listed
 * first) and one for this host. */
export async function buildMultiPlatformLayout(work: string, tag: string): Promise<MultiPlatformLayout> {
  const host = hostPlatform();
  const foreignPlatform: Platform = {
    os: "linux",
    architecture: host.architecture === "arm64" ? "amd64" : "arm64",
  };
  const base: BusyboxImageOptions = { name: `berth.test/multi:${tag}` };
  const native = await buildBusyboxImage(join(work, "native"), {
    ...base,
    extraLayers: [[{ path: "etc/arch", content: `${host.architecture}\n` }]],
  });
  const foreign = await buildBusyboxImage(join(work, "foreign"), {
    ...base,
    platform: foreignPlatform,
    extraLayers: [[{ path: "etc/arch", content: `${foreignPlatform.architecture}\n` }]],
  });
  const dir = join(work, "multi");
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  for (const src of [native.dir, foreign.dir]) {
    for (const name of await readdir(join(src, "blobs", "sha256"))) {
      await cp(join(src, "blobs", "sha256", name), join(dir, "blobs", "sha256", name), { force: false });
    }
  }
  const entry = async (image: BuiltImage, platform: Platform) => ({
    mediaType: MediaType.ociManifest,
    digest: image.manifestDigest,
    size: (await readFile(join(image.dir, "blobs", "sha256", image.manifestDigest.slice(7)))).byteLength,
    platform,
  });
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [await entry(foreign, foreignPlatform), await entry(native, host)],
    }),
  );
  const indexDigest = sha256Digest(index);
  await writeFile(join(dir, "blobs", "sha256", indexDigest.slice(7)), index);
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: MediaType.ociIndex,
          digest: indexDigest,
          size: index.byteLength,
          annotations: { "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  return { dir, tag, indexDigest, native, foreign, foreignPlatform };
}

export interface ProxyOptions {
  /** Flip one byte in the body of responses to GETs whose path this matches (length kept). */
  tamper?: (path: string) => boolean;
  /** Answer the first `times` requests whose path matches with `status` instead of forwarding. */
  fail?: { match: (path: string) => boolean; status: number; times: number; retryAfter?: string };
  /** For the first `times` GETs whose path matches, send the head and `afterBytes` of the body,
   * then go silent with the connection open (a stalled download). */
  stall?: { match: (path: string) => boolean; afterBytes: number; times: number };
}

export interface RunningProxy {
  port: number;
  host: string;
  /** Paths of the GET requests seen, in order. */
  requests: string[];
  count(pathPart: string): number;
  stop(): Promise<void>;
}

/** An HTTP proxy on loopback in front of `upstreamPort`, to count, fail or corrupt requests. */
export async function startProxy(upstreamPort: number, opts: ProxyOptions = {}): Promise<RunningProxy> {
  const requests: string[] = [];
  let failuresLeft = opts.fail?.times ?? 0;
  let stallsLeft = opts.stall?.times ?? 0;
  const server = http.createServer((req, res) => {
    const path = req.url ?? "/";
    if (req.method === "GET") requests.push(path);
    if (opts.fail && failuresLeft > 0 && opts.fail.match(path)) {
      failuresLeft--;
      res.writeHead(opts.fail.status, opts.fail.retryAfter ? { "retry-after": opts.fail.retryAfter } : {});
      res.end();
      return;
    }
    let stallAt: number | undefined;
    if (opts.stall && stallsLeft > 0 && req.method === "GET" && opts.stall.match(path)) {
      stallsLeft--;
      stallAt = opts.stall.afterBytes;
    }
    forward(req, res, upstreamPort, req.method === "GET" && (opts.tamper?.(path) ?? false), stallAt);
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    host: `${LOOPBACK}:${port}`,
    requests,
    count: (part) => requests.filter((p) => p.includes(part)).length,
    stop: () => closeServer(server),
  };
}

function forward(
  req: IncomingMessage,
  res: ServerResponse,
  upstreamPort: number,
  tamper: boolean,
  stallAt?: number,
): void {
  const upstream = http.request(
    {
      host: LOOPBACK,
      port: upstreamPort,
      path: req.url,
      method: req.method,
      headers: req.headers,
      agent: false,
    },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      let offset = 0;
      up.on("data", (chunk: Buffer) => {
        // Past the gzip header, so the damage is in the compressed data.
        const target = 600;
        if (tamper && offset <= target && target < offset + chunk.byteLength) {
          chunk = Buffer.from(chunk);
          chunk[target - offset] = chunk[target - offset]! ^ 0xff;
        }
        if (stallAt !== undefined && offset + chunk.byteLength > stallAt) {
          res.write(chunk.subarray(0, Math.max(0, stallAt - offset)));
          offset = stallAt;
          up.destroy();
          return;
        }
        offset += chunk.byteLength;
        res.write(chunk);
      });
      up.on("end", () => {
        if (stallAt === undefined) res.end();
      });
      up.on("error", () => res.destroy());
    },
  );
  upstream.on("error", () => {
    res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface TokenServerOptions {
  username: string;
  password: string;
  service: string;
  issuer: string;
  keyPem: string;
  certPem: string;
  /** A refresh token the server also accepts (OAuth2 POST with grant_type=refresh_token). */
  identityToken?: string;
}

export interface RunningTokenServer {
  port: number;
  realm: string;
  /** Scopes of the token requests received, one entry per request. */
  requests: { scope: string; authenticated: boolean }[];
  stop(): Promise<void>;
}

/** A token server for the registry's token auth: grants what is asked to the one user, nothing
 * to anyone else, as ES256 JWTs carrying their certificate in x5c. */
export async function startTokenServer(opts: TokenServerOptions): Promise<RunningTokenServer> {
  const requests: { scope: string; authenticated: boolean }[] = [];
  const certDer = new X509Certificate(opts.certPem).raw.toString("base64");
  const expected = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString("base64")}`;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => answerToken(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  const answerToken = (req: IncomingMessage, res: ServerResponse, body: string) => {
    const url = new URL(req.url ?? "/", "http://token");
    const form = new URLSearchParams(req.method === "POST" ? body : "");
    const scopes =
      req.method === "POST"
        ? (form.get("scope") ?? "").split(" ").filter(Boolean)
        : url.searchParams.getAll("scope");
    const authHeader = req.headers.authorization;
    const refreshed =
      req.method === "POST" &&
      form.get("grant_type") === "refresh_token" &&
      opts.identityToken !== undefined &&
      form.get("refresh_token") === opts.identityToken;
    const authenticated = authHeader === expected || refreshed;
    requests.push({ scope: scopes.join(" "), authenticated });
    if ((authHeader !== undefined || req.method === "POST") && !authenticated) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ details: "bad credentials" }));
      return;
    }
    const access = authenticated
      ? scopes.map((s) => {
          const [type, name, actions] = s.split(":");
          return { type, name, actions: (actions ?? "").split(",").filter(Boolean) };
        })
      : [];
    const now = Math.floor(Date.now() / 1000);
    const token = signJwt(
      { typ: "JWT", alg: "ES256", x5c: [certDer] },
      {
        iss: opts.issuer,
        sub: authenticated ? opts.username : "",
        aud: opts.service,
        exp: now + 300,
        nbf: now - 10,
        iat: now,
        jti: randomBytes(8).toString("hex"),
        access,
      },
      opts.keyPem,
    );
    res.writeHead(200, { "content-type": "application/json" });
    const reply = req.method === "POST" ? { access_token: token } : { token };
    res.end(JSON.stringify({ ...reply, expires_in: 300, issued_at: new Date(now * 1000).toISOString() }));
  };
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const port = (server.address() as { port: number }).port;
  return { port, realm: `http://${LOOPBACK}:${port}/token`, requests, stop: () => closeServer(server) };
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

function signJwt(header: object, claims: object, keyPem: string): string {
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = createSign("SHA256").update(input).sign({ key: keyPem, dsaEncoding: "ieee-p1363" });
  return `${input}.${base64url(signature)}`;
}

export interface CertFiles {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
}

/** A CA and a server certificate for 127.0.0.1 signed by it, made with openssl. */
export async function makeServerCerts(dir: string): Promise<CertFiles> {
  await mkdir(dir, { recursive: true });
  const f = (name: string) => join(dir, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await execa("openssl", [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=berth test CA",
  ]);
  await execa("openssl", [
    "req",
    ...ec,
    "-keyout",
    f("server.key"),
    "-out",
    f("server.csr"),
    "-subj",
    "/CN=127.0.0.1",
  ]);
  await writeFile(f("ext.cnf"), "subjectAltName=IP:127.0.0.1\n");
  await execa("openssl", [
    "x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"), "-CAcreateserial",
    "-out", f("server.pem"), "-days", "2", "-extfile", f("ext.cnf"),
  ]); // prettier-ignore
  return { dir, caCert: f("ca.pem"), serverCert: f("server.pem"), serverKey: f("server.key") };
}

/** An EC key and self-signed certificate for signing registry tokens. */
export async function makeTokenSigningCert(
  dir: string,
): Promise<{ keyPem: string; certPem: string; certFile: string }> {
  await mkdir(dir, { recursive: true });
  const keyFile = join(dir, "token.key");
  const certFile = join(dir, "token.pem");
  await execa("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", "/CN=berth test token issuer",
  ]); // prettier-ignore
  return { keyPem: await readFile(keyFile, "utf8"), certPem: await readFile(certFile, "utf8"), certFile };
}

/** A bcrypt htpasswd file for one user, made with apache2-utils' htpasswd. */
export async function makeHtpasswd(path: string, username: string, password: string): Promise<void> {
  const { stdout } = await execa("htpasswd", ["-Bbn", username, password]).catch((err: Error) => {
    throw new Error(
      `htpasswd (Debian package apache2-utils) is needed for the basic auth test: ${err.message}`,
    );
  });
  await writeFile(path, `${stdout.trim()}\n`);
}

/** Writes <configDir>/<registryHost>/hosts.toml. */
export async function writeHostsToml(configDir: string, registryHost: string, toml: string): Promise<void> {
  await mkdir(join(configDir, registryHost), { recursive: true });
  await writeFile(join(configDir, registryHost, "hosts.toml"), toml);
}

/** hosts.toml content that makes `registryHost` plain HTTP at the same address (insecure). */
export function insecureHostsToml(registryHost: string): string {
  return `server = "http://${registryHost}"\n`;
}
