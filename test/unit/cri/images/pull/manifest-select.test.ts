import { describe, expect, it } from "vitest";
import { NotFoundError } from "../../../../../common/errors.js";
import { sha256Digest } from "../../../../../cri/images/digest.js";
import { MediaType } from "../../../../../cri/images/media-types.js";
import { BlobVerificationError } from "../../../../../cri/images/pull/blob-download.js";
import { acceptManifest, selectPlatformManifest } from "../../../../../cri/images/pull/manifest-select.js";

const manifest = {
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: { mediaType: MediaType.ociConfig, digest: sha256Digest("c"), size: 1 },
  layers: [],
};
const bytes = Buffer.from(JSON.stringify(manifest));
const digest = sha256Digest(bytes);

describe("acceptManifest", () => {
  it("names a manifest fetched by tag by its own digest", () => {
    const doc = acceptManifest({ bytes, contentType: MediaType.ociManifest, digestHeader: digest }, {}, "m");
    expect(doc.kind).toBe("manifest");
    expect(doc.descriptor).toEqual({ mediaType: MediaType.ociManifest, digest, size: bytes.byteLength });
  });

  it("checks a manifest fetched by digest against it, and the registry's digest header", () => {
    expect(() => acceptManifest({ bytes }, { digest: sha256Digest("other") }, "m")).toThrow(
      BlobVerificationError,
    );
    expect(() => acceptManifest({ bytes, digestHeader: sha256Digest("other") }, {}, "m")).toThrow(
      /the registry says/,
    );
    expect(() => acceptManifest({ bytes }, { digest, size: 3 }, "m")).toThrow(/descriptor says 3/);
  });

  it("tells indexes from manifests by media type, or by shape when the type is generic", () => {
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] }));
    expect(acceptManifest({ bytes: index, contentType: MediaType.dockerManifestList }, {}, "i").kind).toBe(
      "index",
    );
    expect(
      acceptManifest({ bytes: index, contentType: "application/json" }, {}, "i").descriptor.mediaType,
    ).toBe(MediaType.ociIndex);
    const noType = Buffer.from(JSON.stringify({ ...manifest, mediaType: undefined }));
    expect(acceptManifest({ bytes: noType, contentType: "text/plain" }, {}, "m").kind).toBe("manifest");
  });

  it("refuses schema 1, unknown documents and a type that contradicts the descriptor", () => {
    const schema1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: "x" }));
    expect(() => acceptManifest({ bytes: schema1 }, {}, "m")).toThrow(/schema 1/);
    expect(() => acceptManifest({ bytes: Buffer.from("{}") }, {}, "m")).toThrow(/unsupported manifest type/);
    expect(() => acceptManifest({ bytes: Buffer.from("[1]") }, {}, "m")).toThrow(/not a JSON object/);
    expect(() => acceptManifest({ bytes }, { mediaType: MediaType.dockerManifest }, "m")).toThrow(
      /its descriptor says/,
    );
  });
});

describe("selectPlatformManifest", () => {
  const entry = (arch: string, variant?: string) => ({
    mediaType: MediaType.ociManifest,
    digest: sha256Digest(arch + (variant ?? "")),
    size: 10,
    platform: { os: "linux", architecture: arch, ...(variant ? { variant } : {}) },
  });
  const attestation = { ...entry("unknown"), platform: { os: "unknown", architecture: "unknown" } };

  it("picks the entry for the platform, skipping others", () => {
    const index = {
      schemaVersion: 2,
      manifests: [entry("s390x"), attestation, entry("arm64", "v8"), entry("amd64")],
    };
    expect(selectPlatformManifest(index, { os: "linux", architecture: "amd64" }, "r", "i").digest).toBe(
      sha256Digest("amd64"),
    );
    expect(selectPlatformManifest(index, { os: "linux", architecture: "arm64" }, "r", "i").digest).toBe(
      sha256Digest("arm64v8"),
    );
  });

  it("falls back to an entry without a platform, else says what the index has", () => {
    const { platform: _p, ...bare } = entry("amd64");
    expect(
      selectPlatformManifest(
        { manifests: [entry("s390x"), bare] },
        { os: "linux", architecture: "amd64" },
        "r",
        "i",
      ).digest,
    ).toBe(bare.digest);
    const err = (() => {
      try {
        selectPlatformManifest(
          { manifests: [entry("s390x"), entry("ppc64le")] },
          { os: "linux", architecture: "amd64" },
          "busybox",
          "i",
        );
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err?.message).toContain("linux/s390x, linux/ppc64le");
  });
});
