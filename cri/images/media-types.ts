// Media types of the OCI image spec and of Docker's v2 schema 2, which berth accepts alike.
export const MediaType = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  ociLayerNondistributableGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  ociLayerNondistributable: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
} as const;

const INDEX_TYPES = new Set<string>([MediaType.ociIndex, MediaType.dockerManifestList]);
const MANIFEST_TYPES = new Set<string>([MediaType.ociManifest, MediaType.dockerManifest]);
const CONFIG_TYPES = new Set<string>([MediaType.ociConfig, MediaType.dockerConfig]);
// Layers are unpacked by content (gzip is detected by its magic bytes), so plain and gzip
// variants are equally welcome; zstd is not (no decompressor in Node 20).
const LAYER_TYPES = new Set<string>([
  MediaType.ociLayer,
  MediaType.ociLayerGzip,
  MediaType.ociLayerNondistributable,
  MediaType.ociLayerNondistributableGzip,
  MediaType.dockerLayerGzip,
  MediaType.dockerLayer,
  MediaType.dockerForeignLayerGzip,
]);

export const isIndexMediaType = (t: string | undefined): boolean => t !== undefined && INDEX_TYPES.has(t);
export const isManifestMediaType = (t: string | undefined): boolean =>
  t !== undefined && MANIFEST_TYPES.has(t);
export const isConfigMediaType = (t: string | undefined): boolean => t !== undefined && CONFIG_TYPES.has(t);
export const isLayerMediaType = (t: string | undefined): boolean => t !== undefined && LAYER_TYPES.has(t);

/** Annotation keys that name an image in an OCI layout's index. */
export const Annotation = {
  containerdImageName: "io.containerd.image.name",
  ociRefName: "org.opencontainers.image.ref.name",
} as const;
