// Reads an OCI image layout directory (oci-layout, index.json, blobs/sha256/...) as untrusted
// input: descriptors are validated before any digest becomes a path, JSON blobs are size-capped
// and verified against their digest, and nested indexes are followed to this host's manifest.
import { open } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgumentError } from "../../common/errors.js";
import { digestHex, sha256Digest } from "./digest.js";
import { isIndexMediaType, isManifestMediaType } from "./media-types.js";
import { platformMatches, type Platform } from "./platform.js";

/** Manifests, indexes and configs are small; anything bigger is refused rather than buffered. */
export const MAX_JSON_BLOB_BYTES = 8 * 1024 * 1024;
const MAX_INDEX_DEPTH = 4;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function parseDescriptor(value: unknown, field: string): Descriptor {
  if (!isObject(value)) throw new InvalidArgumentError(field, "not a descriptor object");
  const { mediaType, digest, size, platform, annotations } = value;
  if (typeof mediaType !== "string" || mediaType === "") {
    throw new InvalidArgumentError(`${field}.mediaType`, "missing");
  }
  if (typeof digest !== "string") throw new InvalidArgumentError(`${field}.digest`, "missing");
  digestHex(digest, `${field}.digest`);
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new InvalidArgumentError(`${field}.size`, "must be a non-negative integer");
  }
  const descriptor: Descriptor = { mediaType, digest, size };
  if (isObject(platform) && typeof platform.os === "string" && typeof platform.architecture === "string") {
    descriptor.platform = {
      os: platform.os,
      architecture: platform.architecture,
      ...(typeof platform.variant === "string" ? { variant: platform.variant } : {}),
    };
  }
  if (isObject(annotations)) {
    descriptor.annotations = Object.fromEntries(
      Object.entries(annotations).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
  }
  return descriptor;
}

export { platformMatches } from "./platform.js";

export class OciLayout {
  constructor(readonly dir: string) {}

  /** Path of a blob named by an already validated descriptor. */
  blobPath(desc: Descriptor, field: string): string {
    return join(this.dir, "blobs", "sha256", digestHex(desc.digest, field));
  }

  /** The top-level descriptors of index.json. */
  async readIndex(): Promise<Descriptor[]> {
    const index = await this.readJsonFile(join(this.dir, "index.json"), "index.json");
    return manifestsOf(index, "index.json");
  }

  /** Reads a JSON blob, checking its size and digest against the descriptor. */
  async readJsonBlob(desc: Descriptor, field: string): Promise<{ json: JsonObject; bytes: Buffer }> {
    if (desc.size > MAX_JSON_BLOB_BYTES) {
      throw new InvalidArgumentError(field, `${desc.size} bytes is too large for a ${desc.mediaType}`);
    }
    const bytes = await readCapped(this.blobPath(desc, field), MAX_JSON_BLOB_BYTES, field);
    if (bytes.byteLength !== desc.size) {
      throw new InvalidArgumentError(
        field,
        `blob ${desc.digest} is ${bytes.byteLength} bytes, descriptor says ${desc.size}`,
      );
    }
    const actual = sha256Digest(bytes);
    if (actual !== desc.digest) {
      throw new InvalidArgumentError(
        field,
        `blob content has digest ${actual}, descriptor says ${desc.digest}`,
      );
    }
    const json = parseJsonObject(bytes, field);
    if (typeof json.mediaType === "string" && json.mediaType !== desc.mediaType) {
      throw new InvalidArgumentError(
        field,
        `blob says media type ${json.mediaType}, descriptor says ${desc.mediaType}`,
      );
    }
    return { json, bytes };
  }

  /**
   * Follows `desc` through any nested indexes to the image manifest for `platform`: entries that
   * name a matching platform first, then entries that name none. Undefined when none fits.
   */
  async resolveManifest(
    desc: Descriptor,
    platform: Platform,
    field: string,
    depth = 0,
  ): Promise<Descriptor | undefined> {
    if (isManifestMediaType(desc.mediaType)) {
      return desc.platform && !platformMatches(desc.platform, platform) ? undefined : desc;
    }
    if (!isIndexMediaType(desc.mediaType)) {
      throw new InvalidArgumentError(`${field}.mediaType`, `unsupported media type ${desc.mediaType}`);
    }
    if (depth >= MAX_INDEX_DEPTH) throw new InvalidArgumentError(field, "indexes nested too deeply");
    const { json } = await this.readJsonBlob(desc, field);
    const children = manifestsOf(json, field).map((child, i) => ({ child, i }));
    const matching = children.filter(
      ({ child }) => child.platform && platformMatches(child.platform, platform),
    );
    const unplatformed = children.filter(({ child }) => !child.platform);
    for (const { child, i } of [...matching, ...unplatformed]) {
      const found = await this.resolveManifest(child, platform, `${field}.manifests[${i}]`, depth + 1);
      if (found) return found;
    }
    return undefined;
  }

  private async readJsonFile(path: string, field: string): Promise<JsonObject> {
    return parseJsonObject(await readCapped(path, MAX_JSON_BLOB_BYTES, field), field);
  }
}

function manifestsOf(index: JsonObject, field: string): Descriptor[] {
  if (index.schemaVersion !== 2) throw new InvalidArgumentError(`${field}.schemaVersion`, "must be 2");
  if (!Array.isArray(index.manifests)) throw new InvalidArgumentError(`${field}.manifests`, "missing");
  return index.manifests.map((m, i) => parseDescriptor(m, `${field}.manifests[${i}]`));
}

/** Parses a JSON document that must be an object; errors name `field`. */
export function parseJsonObject(bytes: Buffer, field: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new InvalidArgumentError(field, `not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(value)) throw new InvalidArgumentError(field, "not a JSON object");
  return value;
}

async function readCapped(path: string, cap: number, field: string): Promise<Buffer> {
  let fh;
  try {
    fh = await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new InvalidArgumentError(field, `${path} does not exist`);
    }
    throw err;
  }
  try {
    const { size } = await fh.stat();
    if (size > cap) throw new InvalidArgumentError(field, `${path} is larger than ${cap} bytes`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}
