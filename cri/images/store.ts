// berth's local image store: content-addressed blobs, each layer unpacked once by diffID, and
// one JSON record per image. Layout under the injected root:
//   blobs/sha256/<hex>                 manifests, configs and layer blobs, verified on the way in
//   layers/sha256/<diffid-hex>/fs      an unpacked layer, ready to be an overlay lowerdir
//   layers/tmp/                        staging for unpacks and deletes; emptied by init()
//   ingest/                            blobs being copied in; emptied by init()
//   images/<config-hex>.json           ImageRecord
// A layer appears under layers/sha256 only by rename of a complete, synced directory, so a
// crash never leaves a half layer visible. Records are written atomically.
import { mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { execa } from "execa";
import { readJsonIfExists, removeFileDurable, writeJsonAtomic } from "../../common/atomic-file.js";
import { systemClock, type Clock } from "../../common/clock.js";
import {
  BerthError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  RuntimeFailureError,
} from "../../common/errors.js";
import type { Logger } from "../../common/logger.js";
import { copyVerifiedBlob, writeBlobBytes } from "./blob-ingest.js";
import { digestHex, isSha256Digest } from "./digest.js";
import { measureTree, type FsUsage } from "./fs-usage.js";
import {
  checkLayerCount,
  freeBytesOf,
  ImageSizeBudget,
  imageLimitsOf,
  type ImageLimits,
  type LayerSizeMeter,
} from "./image-limits.js";
import { runtimeConfigOf, type ImageLayer, type ImageRecord } from "./image-record.js";
import { unpackLayer } from "./layer-unpack.js";
import { Annotation, isConfigMediaType, isLayerMediaType, MediaType } from "./media-types.js";
import {
  OciLayout,
  parseDescriptor,
  type Descriptor,
  parseJsonObject,
  type JsonObject,
} from "./oci-layout.js";
import { formatPlatform, hostPlatform, platformMismatch, type Platform } from "./platform.js";
import { formatReference, normalizeReference, repositoryName, type ImageReference } from "./reference.js";

export interface ImageStoreOptions {
  root: string;
  logger: Logger;
  /** The platform whose manifests are picked from multi-platform indexes; the host's by default. */
  platform?: Platform;
  clock?: Clock;
  /** Layer count and size bounds of imported images, and the default of pulls. */
  limits?: Partial<ImageLimits>;
}

export interface ImportOptions {
  /** Names the imported image instead of the layout's annotations. */
  tag?: string;
}

export interface ImageStoreStats {
  /** Layer unpacks done since this store was created; a layer already there is not unpacked again. */
  layersUnpacked: number;
}

/** Content held against garbage collection; see ImageStore.leaseContent. */
export interface ContentLease {
  /** Lets go of the content; with collectGarbage, also removes what no image uses (after a
   * failed pull, so nothing it brought in stays behind). */
  release(opts?: { collectGarbage?: boolean }): Promise<void>;
}

/** A manifest and config fetched and verified by the caller (see addVerifiedImage). */
export interface VerifiedImage {
  manifest: { descriptor: Descriptor; bytes: Buffer };
  config: { descriptor: Descriptor; bytes: Buffer };
  /** Digest the names resolved to; the repo digests name it. */
  resolvedDigest: string;
  names: ImageReference[];
  /** Names the manifest in error messages. */
  field?: string;
}

const IMAGE_FILE = /^([a-f0-9]{64})\.json$/;
const HEX_ID = /^(?:sha256:)?([a-f0-9]{64})$/;
const HEX_ID_PREFIX = /^(?:sha256:)?([a-f0-9]{12,63})$/;

export class ImageStore {
  readonly root: string;
  private readonly logger: Logger;
  /** The platform this store's images must be built for. */
  readonly platform: Platform;
  /** The bounds every image must stay within. */
  readonly limits: ImageLimits;
  private readonly clock: Clock;
  private readonly images = new Map<string, ImageRecord>();
  /** Unpacks in progress by diffID hex, so concurrent imports of one layer share one unpack. */
  private readonly unpacking = new Map<string, Promise<void>>();
  /** Digest hexes (blobs and diffIDs) held by imports in progress; garbage collection spares them. */
  private readonly pins = new Map<string, number>();
  private lockTail: Promise<unknown> = Promise.resolve();
  /** Bumped by every change on disk; fsUsage() recomputes only when it moved. */
  private generation = 0;
  private usage?: { generation: number; value: FsUsage };
  private usageInFlight?: { generation: number; promise: Promise<FsUsage> };
  private readonly counters: ImageStoreStats = { layersUnpacked: 0 };

  constructor(opts: ImageStoreOptions) {
    this.root = opts.root;
    this.logger = opts.logger;
    this.platform = opts.platform ?? hostPlatform();
    this.clock = opts.clock ?? systemClock;
    this.limits = imageLimitsOf(opts.limits);
  }

  get stats(): ImageStoreStats {
    return { ...this.counters };
  }

  private get blobsDir(): string {
    return join(this.root, "blobs", "sha256");
  }
  private get layersDir(): string {
    return join(this.root, "layers", "sha256");
  }
  private get layersTmpDir(): string {
    return join(this.root, "layers", "tmp");
  }
  private get ingestDir(): string {
    return join(this.root, "ingest");
  }
  private get imagesDir(): string {
    return join(this.root, "images");
  }
  private blobPath(hex: string): string {
    return join(this.blobsDir, hex);
  }
  private layerDir(hex: string): string {
    return join(this.layersDir, hex);
  }
  private imageFile(id: string): string {
    return join(this.imagesDir, `${digestHex(id, "image id")}.json`);
  }

  /** Loads the records from disk, clears what interrupted work left behind, and drops content
   * no image refers to. Call once before anything else. */
  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o711 });
    for (const dir of [this.blobsDir, this.layersDir, this.layersTmpDir, this.ingestDir, this.imagesDir]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    }
    const leftovers = [...(await readdir(this.layersTmpDir)), ...(await readdir(this.ingestDir))];
    await emptyDir(this.layersTmpDir);
    await emptyDir(this.ingestDir);
    if (leftovers.length > 0) {
      this.logger.info({ count: leftovers.length }, "removed leftovers of interrupted image imports");
    }

    this.images.clear();
    for (const name of await readdir(this.imagesDir)) {
      const match = IMAGE_FILE.exec(name);
      if (!match) {
        // Temp files of an interrupted atomic write start with a dot.
        if (name.startsWith(".")) await rm(join(this.imagesDir, name), { force: true });
        continue;
      }
      const record = await readJsonIfExists<ImageRecord>(join(this.imagesDir, name)).catch((err: unknown) => {
        this.logger.error({ file: name, err }, "unreadable image record ignored");
        return undefined;
      });
      if (!record || record.id !== `sha256:${match[1]}` || !Array.isArray(record.diffIds)) {
        this.logger.error({ file: name }, "malformed image record ignored");
        continue;
      }
      this.images.set(record.id, record);
      for (const diffId of record.diffIds) {
        if (!(await pathExists(join(this.layerDir(digestHex(diffId, "diffId")), "fs")))) {
          this.logger.error({ image: record.id, diffId }, "image record refers to a missing layer");
        }
      }
    }
    await this.withLock(() => this.collectGarbageLocked());
    this.generation++;
  }

  list(): ImageRecord[] {
    return [...this.images.values()].map((r) => structuredClone(r));
  }

  /**
   * Finds an image by full id (with or without "sha256:"), a unique id prefix of at least 12
   * hex digits, a tag or a repo digest (in any form that normalizes to one, e.g. "busybox").
   * Undefined when nothing matches; InvalidArgumentError when an id prefix is ambiguous.
   */
  resolve(ref: string): ImageRecord | undefined {
    const found = this.resolveRecord(ref);
    return found && structuredClone(found);
  }

  private resolveRecord(ref: string): ImageRecord | undefined {
    const full = HEX_ID.exec(ref);
    if (full) return this.images.get(`sha256:${full[1]}`);

    let normalized: string | undefined;
    try {
      normalized = formatReference(normalizeReference(ref, "image"));
    } catch {
      normalized = undefined;
    }
    if (normalized !== undefined) {
      for (const record of this.images.values()) {
        if (record.repoTags.includes(normalized) || record.repoDigests.includes(normalized)) return record;
      }
    }

    const prefix = HEX_ID_PREFIX.exec(ref);
    if (prefix) {
      const matches = [...this.images.values()].filter((r) => r.id.startsWith(`sha256:${prefix[1]}`));
      if (matches.length > 1) throw new InvalidArgumentError("image", `id prefix "${ref}" is ambiguous`);
      return matches[0];
    }
    return undefined;
  }

  /** Unpacked layer directories of `image`, bottom layer first. */
  layerDirs(image: ImageRecord): string[] {
    return image.diffIds.map((d) => join(this.layerDir(digestHex(d, "diffId")), "fs"));
  }

  /** Bytes and inodes used under the store root; recomputed only after the store changed. */
  async fsUsage(): Promise<FsUsage> {
    const generation = this.generation;
    if (this.usage?.generation === generation) return { ...this.usage.value };
    if (this.usageInFlight?.generation !== generation) {
      const promise = measureTree(this.root).then((value) => {
        if (this.generation === generation) this.usage = { generation, value };
        return value;
      });
      promise
        .finally(() => {
          if (this.usageInFlight?.promise === promise) this.usageInFlight = undefined;
        })
        .catch(() => {});
      this.usageInFlight = { generation, promise };
    }
    return { ...(await this.usageInFlight.promise) };
  }

  /**
   * Imports the images of an OCI layout directory (Docker v2 media types accepted too), picking
   * this store's platform from multi-platform indexes. Every blob is verified against its
   * descriptor; importing an image again merges its names.
   */
  async importOciLayout(dir: string, opts: ImportOptions = {}): Promise<ImageRecord[]> {
    const layout = new OciLayout(dir);
    const explicitName = opts.tag !== undefined ? normalizeReference(opts.tag, "tag") : undefined;
    const targets = new Map<string, { manifest: Descriptor; names: ImageReference[]; field: string }>();
    for (const [i, desc] of (await layout.readIndex()).entries()) {
      const field = `index.json manifests[${i}]`;
      const manifest = await layout.resolveManifest(desc, this.platform, field);
      if (!manifest) {
        this.logger.debug({ dir, field }, "layout entry has no manifest for this platform");
        continue;
      }
      const names = explicitName ? [explicitName] : namesFromAnnotations(desc.annotations, field);
      const target = targets.get(manifest.digest);
      if (target) target.names.push(...names);
      else targets.set(manifest.digest, { manifest, names, field });
    }
    if (targets.size === 0) {
      throw new InvalidArgumentError("dir", `${dir} holds no image for ${formatPlatform(this.platform)}`);
    }
    if (explicitName && targets.size > 1) {
      throw new InvalidArgumentError(
        "tag",
        `${dir} holds ${targets.size} images; one tag cannot name them all`,
      );
    }
    const records: ImageRecord[] = [];
    for (const { manifest, names, field } of targets.values()) {
      records.push(await this.importManifest(layout, manifest, names, field));
    }
    return records;
  }

  private async importManifest(
    layout: OciLayout,
    manifestDesc: Descriptor,
    names: ImageReference[],
    field: string,
  ): Promise<ImageRecord> {
    const { json: manifest, bytes: manifestBytes } = await layout.readJsonBlob(manifestDesc, field);
    const { config: configDesc, layers: layerDescs } = parseImageManifest(manifest, field);
    const imageName = names[0] ? formatReference(names[0]) : `image ${manifestDesc.digest}`;
    checkLayerCount(layerDescs.length, this.limits, imageName);
    const { json: config, bytes: configBytes } = await layout.readJsonBlob(configDesc, `${field}.config`);
    const diffIds = diffIdsOf(config, layerDescs.length, `${field}.config`);
    this.checkConfigPlatform(config, `${field}.config`);
    for (const name of names) {
      if (name.digest !== undefined && name.digest !== manifestDesc.digest) {
        throw new InvalidArgumentError(
          "tag",
          `${formatReference(name)} does not match manifest ${manifestDesc.digest}`,
        );
      }
    }

    const lease = await this.leaseContent([
      manifestDesc.digest,
      configDesc.digest,
      ...layerDescs.map((l) => l.digest),
      ...diffIds,
    ]);
    let imported = false;
    try {
      const budget = await this.sizeBudget(imageName, layerDescs, diffIds);
      await this.writeBlob(manifestDesc.digest, manifestBytes);
      await this.writeBlob(configDesc.digest, configBytes);
      const layers: ImageLayer[] = [];
      for (const [i, layerDesc] of layerDescs.entries()) {
        const layerField = `${field}.layers[${i}]`;
        await this.copyBlob(layout, layerDesc, layerField);
        await this.ensureLayer(
          layerDesc,
          diffIds[i]!,
          layerField,
          budget.layer(layerDesc.size, layerField)(),
        );
        layers.push({
          digest: layerDesc.digest,
          mediaType: layerDesc.mediaType,
          size: layerDesc.size,
          diffId: diffIds[i]!,
        });
      }
      const record = await this.commit(
        this.imageRecordOf(manifestDesc, configDesc, config, layers, diffIds),
        names,
      );
      imported = true;
      return record;
    } finally {
      // A failed import leaves nothing behind that no image uses.
      await lease.release({ collectGarbage: !imported });
    }
  }

  /** The size budget of the layers an import must unpack; refused up front when their blobs alone
   * would not fit in the free space. */
  private async sizeBudget(image: string, layers: Descriptor[], diffIds: string[]): Promise<ImageSizeBudget> {
    let missing = 0;
    for (const [i, desc] of layers.entries()) {
      if (!(await this.hasLayer(diffIds[i]!))) missing += desc.size;
    }
    return new ImageSizeBudget(this.limits, image, await freeBytesOf(this.root), missing);
  }

  private imageRecordOf(
    manifestDesc: Descriptor,
    configDesc: Descriptor,
    config: JsonObject,
    layers: ImageLayer[],
    diffIds: string[],
  ): ImageRecord {
    return {
      id: configDesc.digest,
      repoTags: [],
      repoDigests: [],
      size: layers.reduce((sum, l) => sum + l.size, configDesc.size),
      manifestDigest: manifestDesc.digest,
      manifestMediaType: manifestDesc.mediaType,
      configSize: configDesc.size,
      layers,
      diffIds,
      os: typeof config.os === "string" ? config.os : this.platform.os,
      architecture:
        typeof config.architecture === "string" ? config.architecture : this.platform.architecture,
      config: runtimeConfigOf(config),
      ...(typeof config.created === "string" ? { created: config.created } : {}),
      importedAt: this.clock.now(),
    };
  }

  // Hooks for registry pulls, which fetch and verify content themselves and hand it over in
  // three steps: lease the digests, add each layer as it arrives, then add the image.

  /** Holds `digests` (blobs and diffIDs) against garbage collection until the lease is released,
   * so content a pull found or brought in is still there when its image is added. */
  async leaseContent(digests: string[]): Promise<ContentLease> {
    const held = digests.map((d) => digestHex(d, "digest"));
    await this.withLock(async () => held.forEach((hex) => this.pins.set(hex, (this.pins.get(hex) ?? 0) + 1)));
    let released = false;
    return {
      release: async ({ collectGarbage = false } = {}) => {
        if (released) return;
        released = true;
        await this.withLock(async () => {
          for (const hex of held) {
            const count = (this.pins.get(hex) ?? 1) - 1;
            if (count > 0) this.pins.set(hex, count);
            else this.pins.delete(hex);
          }
          if (collectGarbage) await this.collectGarbageLocked();
        });
      },
    };
  }

  /** True when the layer with this diffID is unpacked and ready. */
  hasLayer(diffId: string): Promise<boolean> {
    return pathExists(this.layerDir(digestHex(diffId, "diffId")));
  }

  /** True when the blob with this digest is stored. */
  hasBlob(digest: string): Promise<boolean> {
    return pathExists(this.blobPath(digestHex(digest, "digest")));
  }

  /** A fresh file path for a blob being downloaded: beside the blobs (so adding it is a rename)
   * and in a directory init() empties, so an interrupted download leaves nothing behind. */
  newIngestPath(digest: string): string {
    return join(this.ingestDir, `${digestHex(digest, "digest")}-${randomBytes(6).toString("hex")}`);
  }

  /**
   * Adds a layer whose blob the caller verified against `blob` (size and digest) into `blobFile`,
   * a path from newIngestPath (moved in, or removed when the blob is already stored), or
   * undefined when the blob is already stored. Then unpacks it unless a layer with `diffId` is
   * already there, sharing an unpack under way. Call with the digests leased.
   */
  async addVerifiedLayer(
    blobFile: string | undefined,
    blob: Descriptor,
    diffId: string,
    field: string,
  ): Promise<void> {
    const hex = digestHex(blob.digest, `${field}.digest`);
    if (blobFile !== undefined) {
      if (await pathExists(this.blobPath(hex))) await rm(blobFile, { force: true });
      else await rename(blobFile, this.blobPath(hex));
      this.generation++;
    }
    if (!(await this.hasLayer(diffId)) && !(await this.hasBlob(blob.digest))) {
      throw new FailedPreconditionError(`${field}: blob ${blob.digest} is not in the store`);
    }
    await this.ensureLayer(blob, diffId, field);
  }

  /**
   * Adds an image whose manifest and config the caller fetched and verified, after every layer
   * went in through addVerifiedLayer. Validated like an import; names get repo digests with
   * `resolvedDigest` (what the name resolved to: an index's digest for a multi-platform image).
   */
  async addVerifiedImage(image: VerifiedImage): Promise<ImageRecord> {
    const field = image.field ?? "manifest";
    const manifest = parseJsonObject(image.manifest.bytes, field);
    const { config: configDesc, layers: layerDescs } = parseImageManifest(manifest, field);
    if (configDesc.digest !== image.config.descriptor.digest) {
      throw new InvalidArgumentError(
        `${field}.config`,
        `does not match config ${image.config.descriptor.digest}`,
      );
    }
    const config = parseJsonObject(image.config.bytes, `${field}.config`);
    const diffIds = diffIdsOf(config, layerDescs.length, `${field}.config`);
    this.checkConfigPlatform(config, `${field}.config`);
    const layers: ImageLayer[] = layerDescs.map((desc, i) => ({
      digest: desc.digest,
      mediaType: desc.mediaType,
      size: desc.size,
      diffId: diffIds[i]!,
    }));
    for (const [i, diffId] of diffIds.entries()) {
      if (!(await this.hasLayer(diffId))) {
        throw new FailedPreconditionError(`${field}.layers[${i}]: layer ${diffId} is not in the store`);
      }
    }
    await this.writeBlob(image.manifest.descriptor.digest, image.manifest.bytes);
    await this.writeBlob(configDesc.digest, image.config.bytes);
    return this.commit(
      this.imageRecordOf(image.manifest.descriptor, configDesc, config, layers, diffIds),
      image.names,
      image.resolvedDigest,
    );
  }

  private checkConfigPlatform(config: JsonObject, field: string): void {
    const mismatch = platformMismatch(config, this.platform);
    if (mismatch) throw new InvalidArgumentError(field, `image is for ${mismatch}`);
  }

  /** Stores the record, merging names with an earlier import and moving tags off other images.
   * Repo digests name `repoDigest`, the manifest's digest unless the name resolved to an index. */
  private commit(
    record: ImageRecord,
    names: ImageReference[],
    repoDigest: string = record.manifestDigest,
  ): Promise<ImageRecord> {
    return this.withLock(async () => {
      const existing = this.images.get(record.id);
      const tags = names.filter((n) => n.digest === undefined).map(formatReference);
      const digests = names.map((n) => `${repositoryName(n)}@${repoDigest}`);
      const merged: ImageRecord = {
        ...record,
        repoTags: union(existing?.repoTags ?? [], tags),
        repoDigests: union(existing?.repoDigests ?? [], digests),
        importedAt: existing?.importedAt ?? record.importedAt,
      };
      for (const other of this.images.values()) {
        if (other.id === merged.id || !other.repoTags.some((t) => tags.includes(t))) continue;
        const retagged = { ...other, repoTags: other.repoTags.filter((t) => !tags.includes(t)) };
        await writeJsonAtomic(this.imageFile(other.id), retagged);
        this.images.set(other.id, retagged);
      }
      await writeJsonAtomic(this.imageFile(merged.id), merged);
      this.images.set(merged.id, merged);
      this.generation++;
      this.logger.info({ image: merged.id, tags: merged.repoTags }, "image stored");
      return structuredClone(merged);
    });
  }

  /**
   * Removes the image `ref` names, with all its names, and the layers and blobs no other image
   * uses. NotFoundError when nothing matches; FailedPreconditionError when a container uses it.
   */
  async remove(ref: string, isInUse: (imageId: string) => boolean): Promise<ImageRecord> {
    return this.withLock(async () => {
      const image = this.resolveRecord(ref);
      if (!image) throw new NotFoundError("image", ref);
      if (isInUse(image.id)) {
        throw new FailedPreconditionError(`image ${image.id} is in use by a container and cannot be removed`);
      }
      await removeFileDurable(this.imageFile(image.id));
      this.images.delete(image.id);
      this.generation++;
      await this.collectGarbageLocked();
      this.logger.info({ image: image.id, tags: image.repoTags }, "image removed");
      return structuredClone(image);
    });
  }

  /** Deletes blobs and layers that no image record or import in progress refers to. Layers are
   * first renamed into layers/tmp so a crash mid-delete leaves no half layer under its name. */
  private async collectGarbageLocked(): Promise<void> {
    const blobNames = await readdir(this.blobsDir);
    const layerNames = await readdir(this.layersDir);
    const usedBlobs = new Set(this.pins.keys());
    const usedLayers = new Set(this.pins.keys());
    for (const image of this.images.values()) {
      usedBlobs.add(digestHex(image.id, "id"));
      usedBlobs.add(digestHex(image.manifestDigest, "manifestDigest"));
      for (const layer of image.layers) usedBlobs.add(digestHex(layer.digest, "layer digest"));
      for (const diffId of image.diffIds) usedLayers.add(digestHex(diffId, "diffId"));
    }
    let removed = 0;
    for (const name of blobNames) {
      if (usedBlobs.has(name)) continue;
      await rm(this.blobPath(name), { force: true, recursive: true });
      removed++;
    }
    for (const name of layerNames) {
      if (usedLayers.has(name)) continue;
      const trash = join(this.layersTmpDir, `delete-${name}-${randomBytes(4).toString("hex")}`);
      await rename(this.layerDir(name), trash);
      await rm(trash, { recursive: true, force: true });
      removed++;
    }
    if (removed > 0) {
      this.generation++;
      this.logger.debug({ removed }, "unused image content removed");
    }
  }

  private writeBlob(digest: string, bytes: Buffer): Promise<void> {
    return writeBlobBytes(this.blobsDir, this.ingestDir, digest, bytes);
  }

  private copyBlob(layout: OciLayout, desc: Descriptor, field: string): Promise<void> {
    return copyVerifiedBlob(this.blobsDir, this.ingestDir, layout.blobPath(desc, field), desc, field);
  }

  /** Makes sure the layer with `diffId` is unpacked, sharing an unpack already under way. */
  private async ensureLayer(
    blob: Descriptor,
    diffId: string,
    field: string,
    meter?: LayerSizeMeter,
  ): Promise<void> {
    const hex = digestHex(diffId, `${field} diffId`);
    if (await pathExists(this.layerDir(hex))) return;
    let inFlight = this.unpacking.get(hex);
    if (!inFlight) {
      inFlight = this.unpackOnce(blob, diffId, hex, field, meter).finally(() => this.unpacking.delete(hex));
      this.unpacking.set(hex, inFlight);
    }
    await inFlight;
  }

  private async unpackOnce(
    blob: Descriptor,
    diffId: string,
    hex: string,
    field: string,
    meter: LayerSizeMeter | undefined,
  ): Promise<void> {
    if (await pathExists(this.layerDir(hex))) return;
    const staging = join(this.layersTmpDir, `unpack-${hex}-${randomBytes(4).toString("hex")}`);
    await mkdir(staging, { mode: 0o700 });
    try {
      const blobPath = this.blobPath(digestHex(blob.digest, field));
      const result = await unpackLayer(blobPath, join(staging, "fs"), {
        label: `${field} (${blob.digest})`,
        ...(meter ? { meter } : {}),
      });
      this.counters.layersUnpacked++;
      if (result.diffId !== diffId) {
        throw new InvalidArgumentError(
          field,
          `layer content has diffID ${result.diffId}, the config lists ${diffId}`,
        );
      }
      await writeJsonAtomic(join(staging, "layer.json"), { blob: blob.digest, ...result });
      await syncFilesystem(staging);
      try {
        await rename(staging, this.layerDir(hex));
      } catch (err) {
        // Another berth process got there first; its copy is as good as ours.
        if (!["ENOTEMPTY", "EEXIST"].includes((err as NodeJS.ErrnoException).code ?? "")) throw err;
        return;
      }
      await syncDirectory(this.layersDir);
      this.generation++;
      this.logger.debug({ ...result }, "layer unpacked");
    } catch (err) {
      if (err instanceof BerthError) throw err;
      throw new RuntimeFailureError(`${field}: storing layer ${diffId} failed: ${(err as Error).message}`);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lockTail.then(fn, fn);
    this.lockTail = run.catch(() => undefined);
    return run;
  }
}

/**
 * Names an image from its layout annotations: containerd's full-name annotation, else the OCI
 * ref name when it is a full reference (by the OCI spec it is often only a tag such as "1.0",
 * which names no repository and is ignored).
 */
function namesFromAnnotations(
  annotations: Record<string, string> | undefined,
  field: string,
): ImageReference[] {
  const full = annotations?.[Annotation.containerdImageName];
  if (full) return [normalizeReference(full, `${field}.annotations["${Annotation.containerdImageName}"]`)];
  const refName = annotations?.[Annotation.ociRefName];
  if (refName?.includes("/")) {
    return [normalizeReference(refName, `${field}.annotations["${Annotation.ociRefName}"]`)];
  }
  return [];
}

/** The config and layer descriptors of an image manifest (OCI or Docker v2 schema 2), checked:
 * schema version, a config media type, and layer media types berth can unpack. */
export function parseImageManifest(
  manifest: JsonObject,
  field: string,
): { config: Descriptor; layers: Descriptor[] } {
  if (manifest.schemaVersion !== 2) throw new InvalidArgumentError(`${field}.schemaVersion`, "must be 2");
  const config = parseDescriptor(manifest.config, `${field}.config`);
  if (!isConfigMediaType(config.mediaType)) {
    throw new InvalidArgumentError(`${field}.config.mediaType`, `unsupported media type ${config.mediaType}`);
  }
  if (!Array.isArray(manifest.layers)) throw new InvalidArgumentError(`${field}.layers`, "missing");
  const layers = manifest.layers.map((l, i) => {
    const desc = parseDescriptor(l, `${field}.layers[${i}]`);
    if (!isLayerMediaType(desc.mediaType)) {
      const why = desc.mediaType === MediaType.ociLayerZstd ? "zstd layers are not supported" : "unsupported";
      throw new InvalidArgumentError(`${field}.layers[${i}].mediaType`, `${desc.mediaType}: ${why}`);
    }
    return desc;
  });
  return { config, layers };
}

/** The rootfs.diff_ids of an image config, one per manifest layer. */
export function diffIdsOf(config: JsonObject, layerCount: number, field: string): string[] {
  const rootfs = config.rootfs as { diff_ids?: unknown } | undefined;
  const diffIds = rootfs?.diff_ids;
  if (
    !Array.isArray(diffIds) ||
    !diffIds.every((d): d is string => typeof d === "string" && isSha256Digest(d))
  ) {
    throw new InvalidArgumentError(`${field}.rootfs.diff_ids`, "must be a list of sha256 digests");
  }
  if (diffIds.length !== layerCount) {
    throw new InvalidArgumentError(
      `${field}.rootfs.diff_ids`,
      `lists ${diffIds.length} layers, the manifest ${layerCount}`,
    );
  }
  return diffIds;
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

async function emptyDir(dir: string): Promise<void> {
  for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
}

/** Flushes the whole filesystem holding `path` (syncfs), so an unpacked layer is on disk before
 * its directory is renamed into view. Node has no syncfs; coreutils' `sync -f` does it. */
async function syncFilesystem(path: string): Promise<void> {
  await execa("sync", ["-f", path]);
}

async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
