// Checks manifests fetched from a registry and picks this host's image out of an OCI index or
// a Docker manifest list. A manifest asked for by digest must hash to it; one asked for by tag
// is named by its own hash (and must match the registry's Docker-Content-Digest, if sent).
import { NotFoundError } from "../../../common/errors.js";
import { sha256Digest } from "../digest.js";
import { isIndexMediaType, isManifestMediaType, MediaType } from "../media-types.js";
import { parseDescriptor, platformMatches, type Descriptor, type JsonObject } from "../oci-layout.js";
import { formatPlatform, type Platform } from "../platform.js";
import { BlobVerificationError, DigestMismatchError } from "./blob-download.js";
import type { FetchedManifest } from "./registry-client.js";

const SCHEMA1_TYPES = new Set([
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
]);

export interface ManifestDocument {
  descriptor: Descriptor;
  bytes: Buffer;
  json: JsonObject;
  kind: "index" | "manifest";
}

export interface ManifestExpectation {
  /** Set when fetched by digest, or from an index entry. */
  digest?: string;
  size?: number;
  mediaType?: string;
}

export function acceptManifest(
  fetched: FetchedManifest,
  expected: ManifestExpectation,
  label: string,
): ManifestDocument {
  const { bytes } = fetched;
  const digest = sha256Digest(bytes);
  if (expected.digest !== undefined && digest !== expected.digest) {
    throw new DigestMismatchError(`${label}: content has digest ${digest}, expected ${expected.digest}`);
  }
  if (expected.size !== undefined && bytes.byteLength !== expected.size) {
    throw new BlobVerificationError(
      `${label}: ${bytes.byteLength} bytes, its descriptor says ${expected.size}`,
    );
  }
  if (
    expected.digest === undefined &&
    fetched.digestHeader?.startsWith("sha256:") &&
    fetched.digestHeader !== digest
  ) {
    throw new BlobVerificationError(
      `${label}: content has digest ${digest}, the registry says ${fetched.digestHeader}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new BlobVerificationError(`${label}: not valid JSON`);
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new BlobVerificationError(`${label}: not a JSON object`);
  }
  const doc = json as JsonObject;
  const declared = typeof doc.mediaType === "string" ? doc.mediaType : undefined;
  if (declared !== undefined && expected.mediaType !== undefined && declared !== expected.mediaType) {
    throw new BlobVerificationError(
      `${label}: says media type ${declared}, its descriptor says ${expected.mediaType}`,
    );
  }
  const stated = declared ?? expected.mediaType ?? fetched.contentType ?? "";
  if (SCHEMA1_TYPES.has(stated) || doc.schemaVersion === 1) {
    throw new BlobVerificationError(`${label}: Docker schema 1 manifests are not supported`);
  }
  const mediaType = isIndexMediaType(stated) || isManifestMediaType(stated) ? stated : inferMediaType(doc);
  if (mediaType === "") throw new BlobVerificationError(`${label}: unsupported manifest type ${stated}`);
  const kind = isIndexMediaType(mediaType) ? "index" : "manifest";
  return { descriptor: { mediaType, digest, size: bytes.byteLength }, bytes, json: doc, kind };
}

/** Some registries send generic content types; the document's shape still tells. */
function inferMediaType(doc: JsonObject): string {
  if (Array.isArray(doc.manifests)) return MediaType.ociIndex;
  if (doc.config !== undefined && Array.isArray(doc.layers)) return MediaType.ociManifest;
  return "";
}

/**
 * The entry of an index for `platform`: the first whose platform matches, else the first that
 * names no platform. NotFoundError listing what the index offers when none fits.
 */
export function selectPlatformManifest(
  index: JsonObject,
  platform: Platform,
  reference: string,
  field: string,
): Descriptor {
  if (!Array.isArray(index.manifests)) throw new BlobVerificationError(`${field}: index without manifests`);
  const entries = index.manifests.map((m, i) => parseDescriptor(m, `${field}.manifests[${i}]`));
  const usable = entries.filter((e) => isManifestMediaType(e.mediaType) || isIndexMediaType(e.mediaType));
  const match =
    usable.find((e) => e.platform !== undefined && platformMatches(e.platform, platform)) ??
    usable.find((e) => e.platform === undefined);
  if (!match) {
    const offered = entries
      .map((e) => (e.platform ? formatPlatform(e.platform) : undefined))
      .filter((p): p is string => p !== undefined);
    throw new NotFoundError(
      `image for ${formatPlatform(platform)} (the index has ${offered.join(", ") || "no platforms"})`,
      reference,
    );
  }
  return match;
}
