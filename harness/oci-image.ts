// Builds OCI image layouts on disk for tests, around the host's static busybox
// (/bin/busybox from Debian's busybox-static). Output is deterministic: fixed mtimes, fixed
// gzip header and JSON key order, so identical inputs give identical digests.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { gzipSync } from "node:zlib";
import tar, { type Header } from "tar-stream";
import { sha256Digest } from "../cri/images/digest.js";
import { Annotation, MediaType } from "../cri/images/media-types.js";
import { hostPlatform, type Platform } from "../cri/images/platform.js";

export const BUSYBOX_PATH = "/bin/busybox";
export const DEFAULT_IMAGE_NAME = "berth.test/library/busybox:latest";
export const FIXED_MTIME = new Date("2024-01-01T00:00:00Z");
const DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Applets linked in /bin; all exist in Debian's busybox-static. */
export const BUSYBOX_APPLETS = [
  "sh", "ash", "ls", "cat", "echo", "sleep", "id", "env", "httpd", "nc", "wget", "true", "false", "ps",
  "hostname", "top", "mkdir", "touch", "rm", "head", "tail", "yes", "dd", "printf", "grep", "wc", "date",
  "seq", "kill", "pidof", "stat", "readlink", "ln", "cp", "mount", "umount", "cut", "tr", "sort", "mv",
  "chmod", "chown", "whoami", "uname", "test", "[", "sed", "awk", "tee", "xargs", "find", "pwd",
  "basename", "dirname", "timeout", "sync", "df", "du", "nproc", "uniq", "sha256sum", "mkfifo", "rmdir",
  "realpath", "usleep", "killall", "free", "ip", "ifconfig", "nslookup", "ping", "cmp", "diff",
]; // prettier-ignore

export interface LayerEntrySpec {
  /** Path inside the image, without a leading slash (one is tolerated). */
  path: string;
  /** Default "file". `whiteout` deletes `path` from the layers below; `opaque` hides a directory's
   * lower contents (the directory is emitted too). */
  type?: "file" | "dir" | "symlink" | "hardlink" | "whiteout" | "opaque";
  content?: string | Uint8Array;
  /** Target of a symlink or hardlink. */
  target?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

export interface BusyboxImageOptions {
  /** Full reference written to the index annotations; null writes no name at all. */
  name?: string | null;
  /** Same as `name`, for callers that think of it as the tag. */
  tag?: string;
  entrypoint?: string[];
  cmd?: string[];
  /** Replaces the default env (PATH only). */
  env?: string[];
  workingDir?: string;
  user?: string;
  stopSignal?: string;
  labels?: Record<string, string>;
  exposedPorts?: string[];
  volumes?: string[];
  /** Layers stacked above busybox, bottom first. */
  extraLayers?: LayerEntrySpec[][];
  /** Gzip the extra layers (default true); false writes plain tars. */
  compressExtraLayers?: boolean;
  mediaTypes?: "oci" | "docker";
  /** Wrap the manifest in a nested index beside a decoy manifest of another platform. */
  nestedIndex?: boolean;
  /** Defaults to the host's; a different one makes an image the store should not pick. */
  platform?: Platform;
}

export interface BuiltImage {
  dir: string;
  name: string | null;
  /** `sha256:<config digest>`, the id berth gives the image. */
  imageId: string;
  configDigest: string;
  manifestDigest: string;
  layerDigests: string[];
  diffIds: string[];
  /** Compressed layer sizes plus the config size. */
  size: number;
}

interface BlobRef {
  mediaType: string;
  digest: string;
  size: number;
}

interface LayerBlob extends BlobRef {
  diffId: string;
  data: Buffer;
}

let busyboxLayerCache: Promise<Buffer> | undefined;

/** The uncompressed base layer; built once per process since busybox is a couple of MB. */
function busyboxLayerTar(): Promise<Buffer> {
  busyboxLayerCache ??= buildBusyboxLayerTar();
  return busyboxLayerCache;
}

async function buildBusyboxLayerTar(): Promise<Buffer> {
  const busybox = await readFile(BUSYBOX_PATH);
  const entries: LayerEntrySpec[] = [
    { path: "bin", type: "dir", mode: 0o755 },
    { path: "bin/busybox", content: busybox, mode: 0o755 },
    ...BUSYBOX_APPLETS.map((a): LayerEntrySpec => ({ path: `bin/${a}`, type: "symlink", target: "busybox" })),
    { path: "usr", type: "dir", mode: 0o755 },
    { path: "usr/bin", type: "dir", mode: 0o755 },
    { path: "usr/bin/env", type: "symlink", target: "/bin/busybox" },
    { path: "etc", type: "dir", mode: 0o755 },
    {
      path: "etc/passwd",
      mode: 0o644,
      content:
        "root:x:0:0:root:/root:/bin/sh\n" +
        "berth:x:1000:1000:berth:/home/berth:/bin/sh\n" +
        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    },
    {
      path: "etc/group",
      mode: 0o644,
      content: "root:x:0:\nberth:x:1000:\nextra:x:2000:berth\nnogroup:x:65534:\n",
    },
    { path: "etc/hostname", mode: 0o644, content: "busybox\n" },
    { path: "home", type: "dir", mode: 0o755 },
    { path: "home/berth", type: "dir", mode: 0o755, uid: 1000, gid: 1000 },
    { path: "root", type: "dir", mode: 0o700 },
    { path: "tmp", type: "dir", mode: 0o1777 },
    { path: "var", type: "dir", mode: 0o755 },
    { path: "var/tmp", type: "dir", mode: 0o1777 },
    { path: "proc", type: "dir", mode: 0o555 },
    { path: "sys", type: "dir", mode: 0o555 },
    { path: "dev", type: "dir", mode: 0o755 },
  ];
  return packTar(entries.flatMap(toTarEntries));
}

interface TarEntry {
  header: Partial<Header> & { name: string };
  data?: Uint8Array;
}

function toTarEntries(spec: LayerEntrySpec): TarEntry[] {
  const path = spec.path.replace(/^\/+/, "");
  const base = { uid: spec.uid ?? 0, gid: spec.gid ?? 0, mtime: FIXED_MTIME };
  switch (spec.type ?? "file") {
    case "file": {
      const data =
        typeof spec.content === "string" ? Buffer.from(spec.content) : (spec.content ?? new Uint8Array());
      return [
        {
          header: { ...base, name: path, type: "file", mode: spec.mode ?? 0o644, size: data.byteLength },
          data,
        },
      ];
    }
    case "dir":
      return [{ header: { ...base, name: `${path}/`, type: "directory", mode: spec.mode ?? 0o755 } }];
    case "symlink":
      return [
        { header: { ...base, name: path, type: "symlink", mode: 0o777, linkname: requireTarget(spec) } },
      ];
    case "hardlink":
      return [
        {
          header: {
            ...base,
            name: path,
            type: "link",
            mode: spec.mode ?? 0o644,
            linkname: requireTarget(spec),
          },
        },
      ];
    case "whiteout": {
      const dir = posix.dirname(path);
      const name = `${dir === "." ? "" : `${dir}/`}.wh.${posix.basename(path)}`;
      return [{ header: { ...base, name, type: "file", mode: 0o644, size: 0 }, data: new Uint8Array() }];
    }
    case "opaque":
      return [
        { header: { ...base, name: `${path}/`, type: "directory", mode: spec.mode ?? 0o755 } },
        {
          header: { ...base, name: `${path}/.wh..wh..opq`, type: "file", mode: 0o644, size: 0 },
          data: new Uint8Array(),
        },
      ];
  }
}

function requireTarget(spec: LayerEntrySpec): string {
  if (spec.target === undefined) throw new Error(`layer entry ${spec.path}: a link needs a target`);
  return spec.target;
}

/** Packs raw tar entries; hostile images use this directly to write what no sane tool would. */
export async function packTar(entries: TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack) chunks.push(Buffer.from(chunk as Uint8Array));
  })();
  for (const { header, data } of entries) {
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      if (data !== undefined) pack.entry(header, Buffer.from(data), done);
      else pack.entry(header, done);
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

function layerBlob(tarData: Buffer, compress: boolean, mediaTypes: "oci" | "docker"): LayerBlob {
  // Level 1 keeps tests quick; zlib's gzip header carries no timestamp, so output is stable.
  const data = compress ? gzipSync(tarData, { level: 1 }) : tarData;
  const mediaType =
    mediaTypes === "docker"
      ? compress
        ? MediaType.dockerLayerGzip
        : MediaType.dockerLayer
      : compress
        ? MediaType.ociLayerGzip
        : MediaType.ociLayer;
  return {
    mediaType,
    digest: sha256Digest(data),
    size: data.byteLength,
    diffId: sha256Digest(tarData),
    data,
  };
}

let busyboxBlobCache: Map<string, LayerBlob> | undefined;

async function busyboxLayerBlob(mediaTypes: "oci" | "docker"): Promise<LayerBlob> {
  busyboxBlobCache ??= new Map();
  let blob = busyboxBlobCache.get(mediaTypes);
  if (!blob) {
    blob = layerBlob(await busyboxLayerTar(), true, mediaTypes);
    busyboxBlobCache.set(mediaTypes, blob);
  }
  return blob;
}

/** Writes an OCI layout with busybox as the bottom layer. */
export async function buildBusyboxImage(dir: string, opts: BusyboxImageOptions = {}): Promise<BuiltImage> {
  const mediaTypes = opts.mediaTypes ?? "oci";
  const layers = [await busyboxLayerBlob(mediaTypes)];
  for (const specs of opts.extraLayers ?? []) {
    layers.push(
      layerBlob(await packTar(specs.flatMap(toTarEntries)), opts.compressExtraLayers ?? true, mediaTypes),
    );
  }
  return writeLayout(dir, layers, opts);
}

export type HostileKind =
  "dotdot-path" | "absolute-escape" | "symlink-parent" | "hardlink-out" | "device-node";

export interface HostileImage extends BuiltImage {
  /** Where a naive extractor would have written outside its root; must stay absent. */
  escapeTarget: string;
}

/** An image whose single layer tries to break out of its unpack directory. A harmless file comes
 * first so the unpacker has partial output to clean up when it rejects the hostile entry. */
export async function buildHostileLayerImage(dir: string, kind: HostileKind): Promise<HostileImage> {
  const escapeTarget = `/tmp/berth-hostile-${kind}`;
  const base = { uid: 0, gid: 0, mtime: FIXED_MTIME };
  const deep = "../".repeat(40);
  const entries: TarEntry[] = [
    { header: { ...base, name: "ok/", type: "directory", mode: 0o755 } },
    {
      header: { ...base, name: "ok/file.txt", type: "file", mode: 0o644, size: 3 },
      data: Buffer.from("ok\n"),
    },
  ];
  const file = (name: string): TarEntry => ({
    header: { ...base, name, type: "file", mode: 0o644, size: 4 },
    data: Buffer.from("bad\n"),
  });
  switch (kind) {
    case "dotdot-path":
      entries.push(file(`ok/${deep}${escapeTarget.slice(1)}`));
      break;
    case "absolute-escape":
      // Short enough for a plain ustar name, so the leading slash survives in the header.
      entries.push(file(`/${"../".repeat(16)}${escapeTarget.slice(1)}`));
      break;
    case "symlink-parent":
      entries.push({ header: { ...base, name: "evil", type: "symlink", mode: 0o777, linkname: "/" } });
      entries.push(file(`evil${escapeTarget}`));
      break;
    case "hardlink-out":
      entries.push({
        header: { ...base, name: "passwd-link", type: "link", mode: 0o644, linkname: `${deep}etc/passwd` },
      });
      break;
    case "device-node":
      entries.push({
        header: { ...base, name: "ok/disk", type: "block-device", mode: 0o600, devmajor: 8, devminor: 0 },
      });
      break;
  }
  const layer = layerBlob(await packTar(entries), true, "oci");
  const built = await writeLayout(dir, [layer], { name: `berth.test/hostile/${kind}:latest` });
  return { ...built, escapeTarget };
}

async function writeBlob(dir: string, data: Uint8Array): Promise<BlobRef & { digest: string }> {
  const digest = sha256Digest(data);
  await writeFile(join(dir, "blobs", "sha256", digest.slice("sha256:".length)), data);
  return { mediaType: "", digest, size: data.byteLength };
}

function imageConfig(
  layers: LayerBlob[],
  opts: BusyboxImageOptions,
  platform: Platform,
): Record<string, unknown> {
  const config: Record<string, unknown> = { Env: opts.env ?? [DEFAULT_PATH_ENV] };
  if (opts.entrypoint) config.Entrypoint = opts.entrypoint;
  config.Cmd = opts.cmd ?? (opts.entrypoint ? undefined : ["sh"]);
  if (opts.workingDir !== undefined) config.WorkingDir = opts.workingDir;
  if (opts.user !== undefined) config.User = opts.user;
  if (opts.stopSignal !== undefined) config.StopSignal = opts.stopSignal;
  if (opts.labels) config.Labels = opts.labels;
  if (opts.exposedPorts) config.ExposedPorts = Object.fromEntries(opts.exposedPorts.map((p) => [p, {}]));
  if (opts.volumes) config.Volumes = Object.fromEntries(opts.volumes.map((v) => [v, {}]));
  return {
    created: FIXED_MTIME.toISOString(),
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    config,
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({ created: FIXED_MTIME.toISOString(), created_by: "berth test helper" })),
  };
}

async function writeLayout(dir: string, layers: LayerBlob[], opts: BusyboxImageOptions): Promise<BuiltImage> {
  const mediaTypes = opts.mediaTypes ?? "oci";
  const platform = opts.platform ?? hostPlatform();
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  for (const layer of layers) await writeBlob(dir, layer.data);

  const configBlob = await writeBlob(dir, Buffer.from(JSON.stringify(imageConfig(layers, opts, platform))));
  const manifestBlob = await writeManifest(dir, configBlob, layers, mediaTypes);
  const manifestDescriptor = {
    mediaType: mediaTypes === "docker" ? MediaType.dockerManifest : MediaType.ociManifest,
    digest: manifestBlob.digest,
    size: manifestBlob.size,
  };

  const name = opts.name === undefined ? (opts.tag ?? DEFAULT_IMAGE_NAME) : opts.name;
  const annotations = name === null ? undefined : nameAnnotations(name);
  let topDescriptor: Record<string, unknown> = { ...manifestDescriptor, annotations };
  if (opts.nestedIndex) {
    topDescriptor = {
      ...(await writeNestedIndex(dir, manifestDescriptor, platform, mediaTypes)),
      annotations,
    };
  }
  const index = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [topDescriptor] };
  await writeFile(join(dir, "index.json"), JSON.stringify(index));

  return {
    dir,
    name,
    imageId: configBlob.digest,
    configDigest: configBlob.digest,
    manifestDigest: manifestBlob.digest,
    layerDigests: layers.map((l) => l.digest),
    diffIds: layers.map((l) => l.diffId),
    size: layers.reduce((sum, l) => sum + l.size, configBlob.size),
  };
}

async function writeManifest(
  dir: string,
  config: BlobRef,
  layers: LayerBlob[],
  mediaTypes: "oci" | "docker",
): Promise<BlobRef> {
  const manifest = {
    schemaVersion: 2,
    mediaType: mediaTypes === "docker" ? MediaType.dockerManifest : MediaType.ociManifest,
    config: {
      mediaType: mediaTypes === "docker" ? MediaType.dockerConfig : MediaType.ociConfig,
      digest: config.digest,
      size: config.size,
    },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  return writeBlob(dir, Buffer.from(JSON.stringify(manifest)));
}

/** An index holding a decoy manifest for a foreign platform first, then the real one. The decoy
 * refers to blobs that do not exist, so picking it makes the import fail loudly. */
async function writeNestedIndex(
  dir: string,
  manifest: BlobRef,
  platform: Platform,
  mediaTypes: "oci" | "docker",
): Promise<BlobRef> {
  const decoyArch = platform.architecture === "s390x" ? "ppc64le" : "s390x";
  const decoy = {
    mediaType: manifest.mediaType,
    digest: sha256Digest(`decoy manifest for ${decoyArch}`),
    size: 1234,
    platform: { os: "linux", architecture: decoyArch },
  };
  const index = {
    schemaVersion: 2,
    mediaType: mediaTypes === "docker" ? MediaType.dockerManifestList : MediaType.ociIndex,
    manifests: [decoy, { ...manifest, platform }],
  };
  const blob = await writeBlob(dir, Buffer.from(JSON.stringify(index)));
  return { ...blob, mediaType: index.mediaType };
}

function nameAnnotations(name: string): Record<string, string> {
  const tagMatch = /:([\w][\w.-]*)$/.exec(name.replace(/@.*$/, ""));
  return {
    [Annotation.containerdImageName]: name,
    ...(tagMatch?.[1] ? { [Annotation.ociRefName]: tagMatch[1] } : {}),
  };
}
