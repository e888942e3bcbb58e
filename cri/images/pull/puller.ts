// Pulls images from registries into the image store, the way CRI's PullImage does:
//   1. resolve the reference (tag or digest) to a manifest on the first endpoint that has it
//      (mirrors from hosts.toml in order, then the registry itself);
//   2. follow an index to this host's platform, fetch and check the config;
//   3. bring in the layers the store lacks, a bounded number at a time, each streamed to disk
//      and verified (size, digest, uncompressed size and diffID) before it is unpacked; a layer
//      another pull is already fetching is awaited rather than fetched twice;
//   4. add the image to the store, named by its tag and by repo@<resolved digest>.
// Passing failures (reset connections, 429, 5xx) are retried with backoff; an endpoint that
// fails otherwise hands over to the next. A failed pull leaves nothing behind in the store.
import { rm } from "node:fs/promises";
import type { AuthConfig } from "../../api/generated/api.js";
import { systemClock, type Clock } from "../../../common/clock.js";
import {
  BerthError,
  DataLossError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  RuntimeFailureError,
  UnavailableError,
} from "../../../common/errors.js";
import type { Logger } from "../../../common/logger.js";
import { isSha256Digest, sha256Digest } from "../digest.js";
import {
  checkLayerCount,
  freeBytesOf,
  ImageSizeBudget,
  imageLimitsOf,
  type ImageLimits,
  type LayerSizeMeter,
} from "../image-limits.js";
import type { ImageRecord } from "../image-record.js";
import { parseJsonObject, type Descriptor, type JsonObject } from "../oci-layout.js";
import { platformMismatch, type Platform } from "../platform.js";
import { formatReference, normalizeReference, repositoryName, type ImageReference } from "../reference.js";
import { diffIdsOf, parseImageManifest, type ImageStore } from "../store.js";
import type { AuthChallenge } from "./auth-challenge.js";
import { BlobVerificationError, DigestMismatchError, downloadBlob } from "./blob-download.js";
import { chainLookups, criAuthLookup, describeCredentials, dockerConfigLookup } from "./credentials.js";
import { RegistryHosts, type HostCapability, type RegistryEndpoint } from "./hosts-config.js";
import { BodyTooLargeError, HttpTransport, readBody } from "./http-transport.js";
import { acceptManifest, selectPlatformManifest, type ManifestDocument } from "./manifest-select.js";
import type { LayerState, PullProgressListener } from "./progress.js";
import { RegistryAuthenticator, TokenCache } from "./registry-auth.js";
import { RegistryClient, retryClassifier, tokenRequester, type RetrySettings } from "./registry-client.js";
import { isAbortError, RegistryRequestError } from "./registry-error.js";
import { DEFAULT_RETRY_POLICY, realSleep, withRetries, type RetryPolicy, type Sleep } from "./retry.js";

export const DEFAULT_MAX_CONCURRENT_DOWNLOADS = 3;
export const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const DEFAULT_MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const MAX_INDEX_DEPTH = 4;
/** Byte counts of a download are reported at most this often; state changes always. */
const PROGRESS_INTERVAL_MS = 100;

export interface ImagePullerOptions {
  store: ImageStore;
  logger: Logger;
  /** Per-registry hosts.toml folders; /etc/berth/certs.d by default. */
  hostsConfigDir?: string;
  /** A Docker-style config.json consulted for credentials the pull request does not carry. */
  dockerConfigPath?: string;
  /** The platform picked from indexes; the store's by default. */
  platform?: Platform;
  maxConcurrentDownloads?: number;
  maxManifestBytes?: number;
  maxConfigBytes?: number;
  /** Layer count and size bounds; the store's by default. A layer or image inflating past them
   * fails the pull while it downloads. */
  limits?: Partial<ImageLimits>;
  /** Shorthand for limits.maxLayerUncompressedBytes. */
  maxLayerUncompressedBytes?: number;
  retry?: Partial<RetryPolicy>;
  /** A connection silent this long fails its request (and is retried). */
  idleTimeoutMs?: number;
  userAgent?: string;
  clock?: Clock;
  sleep?: Sleep;
  random?: () => number;
}

export interface PullOptions {
  /** Credentials as CRI sends them; they take precedence over the Docker config file. */
  auth?: AuthConfig;
  onProgress?: PullProgressListener;
  signal?: AbortSignal;
}

export interface PullStats {
  layersFetched: number;
  /** Layers the store had, or another pull fetched meanwhile. */
  layersReused: number;
  bytesFetched: number;
}

export interface PullResult {
  image: ImageRecord;
  /** The image id (sha256 of its config): PullImage's image_ref, as containerd returns it. */
  imageRef: string;
  /** The normalized reference pulled, e.g. "docker.io/library/busybox:latest". */
  reference: string;
  /** What the reference resolved to; an index's digest for a multi-platform image. */
  resolvedDigest: string;
  /** "<repository>@<resolvedDigest>". */
  repoDigest: string;
  stats: PullStats;
}

type LayerReport = (state: LayerState, bytesDone: number) => void;

interface SharedLayer {
  promise: Promise<void>;
  watchers: Set<LayerReport>;
}

export class ImagePuller {
  private readonly store: ImageStore;
  private readonly logger: Logger;
  private readonly hosts: RegistryHosts;
  private readonly dockerConfigPath: string | undefined;
  private readonly platform: Platform;
  private readonly maxConcurrentDownloads: number;
  private readonly maxManifestBytes: number;
  private readonly maxConfigBytes: number;
  private readonly limits: ImageLimits;
  private readonly retry: RetrySettings;
  private readonly idleTimeoutMs: number | undefined;
  private readonly userAgent: string;
  private readonly clock: Clock;
  private readonly tokens: TokenCache;
  private readonly challenges = new Map<string, AuthChallenge>();
  private readonly transports = new Map<string, Promise<HttpTransport>>();
  /** Layer downloads under way, by blob digest, shared by concurrent pulls. */
  private readonly inFlight = new Map<string, SharedLayer>();

  constructor(opts: ImagePullerOptions) {
    this.store = opts.store;
    this.logger = opts.logger;
    this.hosts = new RegistryHosts({
      logger: opts.logger,
      ...(opts.hostsConfigDir !== undefined ? { configDir: opts.hostsConfigDir } : {}),
    });
    this.dockerConfigPath = opts.dockerConfigPath;
    this.platform = opts.platform ?? opts.store.platform;
    this.maxConcurrentDownloads = Math.max(
      1,
      opts.maxConcurrentDownloads ?? DEFAULT_MAX_CONCURRENT_DOWNLOADS,
    );
    this.maxManifestBytes = opts.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES;
    this.maxConfigBytes = opts.maxConfigBytes ?? DEFAULT_MAX_CONFIG_BYTES;
    this.limits = imageLimitsOf({
      ...opts.store.limits,
      ...opts.limits,
      ...(opts.maxLayerUncompressedBytes !== undefined
        ? { maxLayerUncompressedBytes: opts.maxLayerUncompressedBytes }
        : {}),
    });
    this.clock = opts.clock ?? systemClock;
    this.retry = {
      policy: { ...DEFAULT_RETRY_POLICY, ...opts.retry },
      sleep: opts.sleep ?? realSleep,
      random: opts.random ?? Math.random,
      now: () => this.clock.now(),
    };
    this.idleTimeoutMs = opts.idleTimeoutMs;
    this.userAgent = opts.userAgent ?? "berth/0.1";
    this.tokens = new TokenCache(this.clock);
  }

  /**
   * Pulls `ref` ("busybox", "registry:5000/app:v1", "app@sha256:...") into the store.
   * Errors: InvalidArgumentError for a bad reference or an image berth cannot run;
   * NotFoundError when no endpoint has it (or none for this platform); UnavailableError when no
   * endpoint can be reached; RuntimeFailureError for refused access or corrupt content.
   */
  async pull(ref: string, opts: PullOptions = {}): Promise<PullResult> {
    const named = normalizeReference(ref, "image");
    if (named.digest !== undefined && !isSha256Digest(named.digest)) {
      throw new InvalidArgumentError("image", `only sha256 digests can be pulled, not ${named.digest}`);
    }
    const reference = formatReference(named);
    const started = this.clock.now();
    const controller = new AbortController();
    const onAbort = () => controller.abort(opts.signal?.reason);
    if (opts.signal?.aborted) onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const session = new PullSession(this.sessionContext(), named, opts, controller.signal);
    try {
      const result = await this.pullWith(session, named, reference, opts.onProgress, controller);
      opts.onProgress?.({
        type: "done",
        reference,
        imageId: result.imageRef,
        elapsedMs: this.clock.now() - started,
      });
      this.logger.info(
        { reference, image: result.imageRef, elapsedMs: this.clock.now() - started, ...result.stats },
        "image pulled",
      );
      return result;
    } catch (err) {
      if (opts.signal?.aborted) {
        // The caller's deadline passed or it gave up: its signal's reason says which.
        const reason: unknown = opts.signal.reason;
        const why = reason instanceof BerthError ? reason.message : "cancelled";
        throw new DeadlineExceededError(`pull of ${reference} stopped: ${why}`);
      }
      throw err;
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Closes idle registry connections. */
  async close(): Promise<void> {
    for (const transport of this.transports.values()) {
      (await transport.catch(() => undefined))?.close();
    }
    this.transports.clear();
  }

  private async pullWith(
    session: PullSession,
    named: ImageReference,
    reference: string,
    onProgress: PullProgressListener | undefined,
    controller: AbortController,
  ): Promise<PullResult> {
    const top = await session.resolve(named.digest ?? named.tag!);
    let manifest = top;
    for (let depth = 1; manifest.kind === "index"; depth++) {
      if (depth > MAX_INDEX_DEPTH) throw new RuntimeFailureError(`${reference}: indexes nested too deeply`);
      const entry = selectPlatformManifest(
        manifest.json,
        this.platform,
        reference,
        `index ${manifest.descriptor.digest}`,
      );
      manifest = await session.manifestByDescriptor(entry);
    }
    const label = `manifest ${manifest.descriptor.digest}`;
    const { config: configDesc, layers } = parseImageManifest(manifest.json, label);
    checkLayerCount(layers.length, this.limits, reference);
    const configBytes = await session.fetchConfig(configDesc);
    const config = parseJsonObject(configBytes, `${label} config`);
    const diffIds = diffIdsOf(config, layers.length, `${label} config`);
    this.checkPlatform(config, reference);

    onProgress?.({
      type: "resolved",
      reference,
      resolvedDigest: top.descriptor.digest,
      manifestDigest: manifest.descriptor.digest,
      layers: layers.map((l) => ({ digest: l.digest, size: l.size })),
    });

    const lease = await this.store.leaseContent([
      manifest.descriptor.digest,
      configDesc.digest,
      ...layers.map((l) => l.digest),
      ...diffIds,
    ]);
    let stored = false;
    try {
      const budget = await this.sizeBudget(reference, layers, diffIds);
      const stats = await this.obtainLayers(session, layers, diffIds, budget, onProgress, controller);
      const image = await this.store.addVerifiedImage({
        manifest: { descriptor: manifest.descriptor, bytes: manifest.bytes },
        config: { descriptor: configDesc, bytes: configBytes },
        resolvedDigest: top.descriptor.digest,
        names: [named],
        field: label,
      });
      stored = true;
      return {
        image,
        imageRef: image.id,
        reference,
        resolvedDigest: top.descriptor.digest,
        repoDigest: `${repositoryName(named)}@${top.descriptor.digest}`,
        stats,
      };
    } finally {
      await lease.release({ collectGarbage: !stored });
    }
  }

  /** The size budget of the layers this pull must fetch: refused up front when their blobs
   * alone would not fit in the image filesystem's free space. */
  private async sizeBudget(
    reference: string,
    layers: Descriptor[],
    diffIds: string[],
  ): Promise<ImageSizeBudget> {
    let missing = 0;
    for (const [i, desc] of layers.entries()) {
      if (!(await this.store.hasLayer(diffIds[i]!))) missing += desc.size;
    }
    return new ImageSizeBudget(this.limits, reference, await freeBytesOf(this.store.root), missing);
  }

  private checkPlatform(config: JsonObject, reference: string): void {
    const mismatch = platformMismatch(config, this.platform);
    if (mismatch) throw new InvalidArgumentError("image", `${reference} is for ${mismatch}`);
  }

  /** Brings every layer into the store; on the first failure the others are stopped, and the
   * failure (not the stops it caused) is what the pull reports. */
  private async obtainLayers(
    session: PullSession,
    layers: Descriptor[],
    diffIds: string[],
    budget: ImageSizeBudget,
    onProgress: PullProgressListener | undefined,
    controller: AbortController,
  ): Promise<PullStats> {
    const limiter = new Limiter(this.maxConcurrentDownloads);
    const stats: PullStats = { layersFetched: 0, layersReused: 0, bytesFetched: 0 };
    const reporters = layers.map((desc, index) => this.layerReporter(desc, index, onProgress));
    reporters.forEach((report) => report("waiting", 0));
    const results = await Promise.allSettled(
      layers.map(async (desc, i) => {
        try {
          const meters = budget.layer(desc.size, `layer ${i} (${desc.digest})`);
          const fetched = await this.obtainLayer(
            session,
            desc,
            diffIds[i]!,
            i,
            reporters[i]!,
            limiter,
            meters,
          );
          if (fetched) {
            stats.layersFetched++;
            stats.bytesFetched += desc.size;
          } else {
            stats.layersReused++;
          }
        } catch (err) {
          controller.abort();
          throw err;
        }
      }),
    );
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failures.length > 0) {
      throw (failures.find((f) => !isAbortError(f.reason)) ?? failures[0]!).reason;
    }
    return stats;
  }

  private layerReporter(
    desc: Descriptor,
    index: number,
    onProgress: PullProgressListener | undefined,
  ): LayerReport {
    let lastState: LayerState | undefined;
    let lastAt = 0;
    return (state, bytesDone) => {
      if (!onProgress) return;
      const now = this.clock.now();
      if (state === lastState && state === "downloading" && now - lastAt < PROGRESS_INTERVAL_MS) return;
      lastState = state;
      lastAt = now;
      onProgress({ type: "layer", index, digest: desc.digest, state, bytesDone, bytesTotal: desc.size });
    };
  }

  /** Makes one layer present in the store; true when this pull downloaded it. */
  private async obtainLayer(
    session: PullSession,
    desc: Descriptor,
    diffId: string,
    index: number,
    report: LayerReport,
    limiter: Limiter,
    meters: () => LayerSizeMeter,
  ): Promise<boolean> {
    if (await this.store.hasLayer(diffId)) {
      report("already-exists", desc.size);
      return false;
    }
    const shared = this.inFlight.get(desc.digest);
    if (shared) {
      shared.watchers.add(report);
      try {
        await shared.promise;
        return false;
      } catch (err) {
        // The pull that was fetching it stopped for its own reasons; fetch it here instead.
        if (!isAbortError(err) || session.signal.aborted) throw err;
      } finally {
        shared.watchers.delete(report);
      }
      return this.obtainLayer(session, desc, diffId, index, report, limiter, meters);
    }
    const watchers = new Set<LayerReport>([report]);
    const broadcast: LayerReport = (state, done) => watchers.forEach((w) => w(state, done));
    const promise = this.fetchLayer(session, desc, diffId, index, broadcast, limiter, meters);
    const entry: SharedLayer = { promise, watchers };
    this.inFlight.set(desc.digest, entry);
    try {
      await promise;
    } finally {
      if (this.inFlight.get(desc.digest) === entry) this.inFlight.delete(desc.digest);
    }
    return true;
  }

  private async fetchLayer(
    session: PullSession,
    desc: Descriptor,
    diffId: string,
    index: number,
    report: LayerReport,
    limiter: Limiter,
    meters: () => LayerSizeMeter,
  ): Promise<void> {
    const field = `layer ${index} (${desc.digest})`;
    let file: string | undefined;
    if (!(await this.store.hasBlob(desc.digest))) {
      file = await limiter.run(() =>
        session.downloadLayer(
          desc,
          diffId,
          field,
          this.limits.maxLayerUncompressedBytes,
          meters,
          (received) => report(received >= desc.size ? "verifying" : "downloading", received),
        ),
      );
    }
    report("unpacking", desc.size);
    try {
      await this.store.addVerifiedLayer(file, desc, diffId, field);
    } catch (err) {
      if (file !== undefined) await rm(file, { force: true });
      throw err;
    }
    report("done", desc.size);
  }

  private sessionContext(): SessionContext {
    return {
      hosts: this.hosts,
      dockerConfigPath: this.dockerConfigPath,
      maxManifestBytes: this.maxManifestBytes,
      maxConfigBytes: this.maxConfigBytes,
      retry: this.retry,
      userAgent: this.userAgent,
      tokens: this.tokens,
      challenges: this.challenges,
      logger: this.logger,
      store: this.store,
      transportFor: (endpoint) => this.transportFor(endpoint),
    };
  }

  /** One transport per TLS setting, shared by pulls, so connections are reused. */
  private transportFor(endpoint: RegistryEndpoint): Promise<HttpTransport> {
    const key = JSON.stringify([endpoint.skipVerify, endpoint.caFiles]);
    let transport = this.transports.get(key);
    if (!transport) {
      transport = HttpTransport.create({
        caFiles: endpoint.caFiles,
        skipVerify: endpoint.skipVerify,
        ...(this.idleTimeoutMs !== undefined ? { idleTimeoutMs: this.idleTimeoutMs } : {}),
      });
      transport.catch(() => this.transports.delete(key));
      this.transports.set(key, transport);
    }
    return transport;
  }
}

/** What a pull session uses of its puller. */
interface SessionContext {
  hosts: RegistryHosts;
  dockerConfigPath: string | undefined;
  maxManifestBytes: number;
  maxConfigBytes: number;
  retry: RetrySettings;
  userAgent: string;
  tokens: TokenCache;
  challenges: Map<string, AuthChallenge>;
  logger: Logger;
  store: ImageStore;
  transportFor(endpoint: RegistryEndpoint): Promise<HttpTransport>;
}

/** One pull's view of the registry: its endpoints, a client for each, and which one last
 * worked (tried first for what comes next). */
class PullSession {
  private endpoints?: Promise<RegistryEndpoint[]>;
  private readonly clients = new Map<RegistryEndpoint, Promise<RegistryClient>>();
  private preferred?: RegistryEndpoint;
  private readonly repository: string;
  private readonly reference: string;

  constructor(
    private readonly settings: SessionContext,
    private readonly named: ImageReference,
    private readonly opts: PullOptions,
    readonly signal: AbortSignal,
  ) {
    this.repository = named.path;
    this.reference = formatReference(named);
  }

  /** The top-level manifest or index the reference names. */
  async resolve(tagOrDigest: string): Promise<ManifestDocument> {
    const byDigest = this.named.digest !== undefined;
    return this.acrossEndpoints(
      byDigest ? "pull" : "resolve",
      `resolving ${this.reference}`,
      () => new NotFoundError("image", this.reference),
      async (client) =>
        acceptManifest(
          await client.fetchManifest(tagOrDigest, this.settings.maxManifestBytes),
          byDigest ? { digest: tagOrDigest } : {},
          `manifest ${this.reference} from ${client.endpoint.host}`,
        ),
    );
  }

  async manifestByDescriptor(desc: Descriptor): Promise<ManifestDocument> {
    if (desc.size > this.settings.maxManifestBytes) {
      throw new RuntimeFailureError(
        `${this.reference}: manifest ${desc.digest} is ${desc.size} bytes, more than the limit of ${this.settings.maxManifestBytes} bytes`,
      );
    }
    return this.acrossEndpoints(
      "pull",
      `fetching manifest ${desc.digest} of ${this.reference}`,
      () => new NotFoundError("manifest", `${this.repository}@${desc.digest}`),
      async (client) =>
        acceptManifest(
          await client.fetchManifest(desc.digest, this.settings.maxManifestBytes),
          { digest: desc.digest, size: desc.size, mediaType: desc.mediaType },
          `manifest ${desc.digest} from ${client.endpoint.host}`,
        ),
    );
  }

  async fetchConfig(desc: Descriptor): Promise<Buffer> {
    const max = this.settings.maxConfigBytes;
    if (desc.size > max) {
      throw new RuntimeFailureError(
        `${this.reference}: config ${desc.digest} is ${desc.size} bytes, more than the limit of ${max} bytes`,
      );
    }
    return this.acrossEndpoints(
      "pull",
      `fetching config ${desc.digest} of ${this.reference}`,
      () => new NotFoundError("blob", `${this.repository}@${desc.digest}`),
      (client) =>
        this.retrying(async () => {
          const what = `config ${desc.digest} from ${client.endpoint.host}`;
          const { body } = await client.openBlob(desc.digest);
          let bytes: Buffer;
          try {
            bytes = await readBody(body, desc.size, what);
          } catch (err) {
            if (err instanceof BodyTooLargeError) throw new BlobVerificationError(`${what}: ${err.message}`);
            throw err;
          }
          if (bytes.byteLength !== desc.size) {
            throw new RegistryRequestError(
              "transient",
              `${what}: got ${bytes.byteLength} of ${desc.size} bytes`,
            );
          }
          const actual = sha256Digest(bytes);
          if (actual !== desc.digest) {
            throw new DigestMismatchError(`${what}: content has digest ${actual}, expected ${desc.digest}`);
          }
          return bytes;
        }),
    );
  }

  /** Downloads a layer blob into a new ingest file of the store and returns its path. */
  downloadLayer(
    desc: Descriptor,
    diffId: string,
    label: string,
    maxUncompressedBytes: number,
    /** A fresh meter for each attempt. */
    meters: () => LayerSizeMeter,
    onBytes: (received: number) => void,
  ): Promise<string> {
    return this.acrossEndpoints(
      "pull",
      `fetching ${label} of ${this.reference}`,
      () => new NotFoundError("blob", `${this.repository}@${desc.digest}`),
      (client) =>
        this.retrying(async () => {
          const destPath = this.settings.store.newIngestPath(desc.digest);
          const { body, contentLength } = await client.openBlob(desc.digest);
          if (contentLength !== undefined && contentLength !== desc.size) {
            body.destroy();
            throw new BlobVerificationError(
              `${label} from ${client.endpoint.host}: ${contentLength} bytes, its descriptor says ${desc.size}`,
            );
          }
          onBytes(0);
          await downloadBlob(body, {
            descriptor: desc,
            destPath,
            label: `${label} from ${client.endpoint.host}`,
            layer: { diffId, maxUncompressedBytes, meter: meters() },
            onBytes,
            signal: this.signal,
          });
          return destPath;
        }),
    );
  }

  private retrying<T>(work: () => Promise<T>): Promise<T> {
    return withRetries(
      {
        ...this.settings.retry,
        classify: retryClassifier,
        signal: this.signal,
        onRetry: (err, attempt, delayMs) =>
          this.settings.logger.warn(
            { reference: this.reference, attempt, delayMs, err: (err as Error).message },
            "registry request failed; retrying",
          ),
      },
      work,
    );
  }

  /**
   * Runs `work` against each endpoint with `capability`, the one that last worked first, until
   * one succeeds. RegistryRequestErrors move on to the next endpoint; when all fail, the
   * combined failure is thrown as a BerthError.
   */
  private async acrossEndpoints<T>(
    capability: HostCapability,
    what: string,
    notFound: () => BerthError,
    work: (client: RegistryClient) => Promise<T>,
  ): Promise<T> {
    const all = await this.allEndpoints();
    const capable = all.filter((e) => e.capabilities.includes(capability));
    if (capable.length === 0) {
      throw new FailedPreconditionError(
        `${what}: no endpoint of ${this.named.domain} has the "${capability}" capability`,
      );
    }
    const ordered =
      this.preferred && capable.includes(this.preferred)
        ? [this.preferred, ...capable.filter((e) => e !== this.preferred)]
        : capable;
    const failures: RegistryRequestError[] = [];
    for (const endpoint of ordered) {
      try {
        const value = await work(await this.client(endpoint));
        this.preferred = endpoint;
        return value;
      } catch (err) {
        if (isAbortError(err) || this.signal.aborted || !(err instanceof RegistryRequestError)) throw err;
        failures.push(err);
        this.settings.logger.info(
          { reference: this.reference, endpoint: endpoint.apiBase, kind: err.kind, err: err.message },
          "registry endpoint failed",
        );
      }
    }
    const detail = failures.map((f) => f.message).join("; ");
    if (failures.every((f) => f.kind === "not-found")) throw notFound();
    // Bytes that do not hash to the digest asked for were corrupted or tampered with.
    if (failures.some((f) => f instanceof DigestMismatchError)) throw new DataLossError(`${what}: ${detail}`);
    if (failures.every((f) => f.kind === "unreachable" || f.kind === "transient")) {
      throw new UnavailableError(`${what}: ${detail}`);
    }
    throw new RuntimeFailureError(`${what}: ${detail}`);
  }

  private allEndpoints(): Promise<RegistryEndpoint[]> {
    this.endpoints ??= this.settings.hosts.endpointsFor(this.named.domain);
    return this.endpoints;
  }

  private client(endpoint: RegistryEndpoint): Promise<RegistryClient> {
    let client = this.clients.get(endpoint);
    if (!client) {
      client = this.makeClient(endpoint);
      this.clients.set(endpoint, client);
    }
    return client;
  }

  private async makeClient(endpoint: RegistryEndpoint): Promise<RegistryClient> {
    const lookup = chainLookups(
      criAuthLookup(this.opts.auth),
      this.settings.dockerConfigPath !== undefined
        ? dockerConfigLookup(this.settings.dockerConfigPath)
        : undefined,
    );
    const credentials = await lookup(endpoint.host);
    const transport = await this.settings.transportFor(endpoint);
    this.settings.logger.debug(
      { reference: this.reference, endpoint: endpoint.apiBase, auth: describeCredentials(credentials) },
      "registry endpoint",
    );
    const auth = new RegistryAuthenticator({
      host: endpoint.host,
      credentials,
      tokens: this.settings.tokens,
      challenges: this.settings.challenges,
      requestToken: tokenRequester(transport, this.settings.retry, this.settings.userAgent, this.signal),
      insecure: endpoint.scheme === "http",
    });
    return new RegistryClient({
      endpoint,
      repository: this.repository,
      transport,
      auth,
      retry: this.settings.retry,
      userAgent: this.settings.userAgent,
      signal: this.signal,
      onRetry: (err, attempt, delayMs) =>
        this.settings.logger.warn(
          {
            reference: this.reference,
            endpoint: endpoint.apiBase,
            attempt,
            delayMs,
            err: (err as Error).message,
          },
          "registry request failed; retrying",
        ),
    });
  }
}

/** Runs at most `limit` tasks at once, the rest in arrival order. */
class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next in line, so none is taken twice.
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.queue.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}
