// What berth records about one stored image, and how the parts of an OCI image config that
// matter for running it are read. One JSON file per image holds an ImageRecord.

export interface ImageRuntimeConfig {
  env: string[];
  entrypoint: string[];
  cmd: string[];
  workingDir: string;
  /** As written in the image: "", "name", "uid", "uid:gid", "name:group". */
  user: string;
  stopSignal: string;
  labels: Record<string, string>;
  /** "80/tcp" and the like. */
  exposedPorts: string[];
  volumes: string[];
}

export interface ImageLayer {
  /** Digest of the blob as stored (compressed or not). */
  digest: string;
  mediaType: string;
  /** Size of the blob in bytes. */
  size: number;
  /** Digest of the uncompressed tar, the key of the unpacked layer. */
  diffId: string;
}

export interface ImageRecord {
  /** "sha256:<config digest>". */
  id: string;
  /** Normalized "domain/path:tag" names. */
  repoTags: string[];
  /** Normalized "domain/path@sha256:<manifest digest>" names. */
  repoDigests: string[];
  /** Compressed layer sizes plus the config size, as containerd reports an image's size. */
  size: number;
  manifestDigest: string;
  manifestMediaType: string;
  configSize: number;
  /** Bottom layer first. */
  layers: ImageLayer[];
  /** Bottom layer first; the same as layers[i].diffId, kept for readers that need only these. */
  diffIds: string[];
  os: string;
  architecture: string;
  config: ImageRuntimeConfig;
  /** The config's "created" (RFC 3339), when it has one. */
  created?: string;
  /** When berth stored it, ms since the epoch. */
  importedAt: number;
}

function stringArray(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

function objectKeys(value: unknown): string[] {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? Object.keys(value) : [];
}

function stringRecord(value: unknown): Record<string, string> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}

const asString = (value: unknown): string => (typeof value === "string" ? value : "");

/** Reads the runtime part ("config") of an OCI/Docker image config, tolerating absent fields. */
export function runtimeConfigOf(imageConfig: Record<string, unknown>): ImageRuntimeConfig {
  const raw = imageConfig.config;
  const c: Record<string, unknown> =
    raw !== null && typeof raw === "object" ? (raw as Record<string, unknown>) : {};
  return {
    env: stringArray(c.Env),
    entrypoint: stringArray(c.Entrypoint),
    cmd: stringArray(c.Cmd),
    workingDir: asString(c.WorkingDir),
    user: asString(c.User),
    stopSignal: asString(c.StopSignal),
    labels: stringRecord(c.Labels),
    exposedPorts: objectKeys(c.ExposedPorts),
    volumes: objectKeys(c.Volumes),
  };
}

/**
 * Splits an image's User the way containerd reports it over CRI: a numeric user (before any
 * ":group") is a uid, anything else a username.
 */
export function imageUser(user: string): { uid?: number; username?: string } {
  const name = user.split(":")[0] ?? "";
  if (name === "") return {};
  if (/^\d+$/.test(name)) return { uid: Number(name) };
  return { username: name };
}
