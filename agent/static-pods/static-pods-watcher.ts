// Static pods: Pod manifests dropped in a folder on the node (/etc/berth/manifests) run
// without any API call, and follow their files: a file added applies its pods, a file
// changed applies them again (the pod manager restarts what changed), a file removed
// deletes its pods. A file that does not validate is logged and left alone: nothing of it
// is applied or deleted until it is fixed. The folder is watched with fs.watch and, as a
// safety net for events fs.watch can miss (network file systems, a recreated folder),
// rescanned on an interval; bursts of events are debounced into one scan.
import { watch as fsWatch } from "node:fs";
import { createHash, randomUUID } from "node:crypto";
import type { Logger } from "../../common/logger.js";
import type { PodManagerApi } from "../pods/pod-manager-api.js";
import { PodSpecInvalidError } from "../podspec/field-errors.js";
import { parsePodManifest } from "../podspec/parse.js";
import type { PodSpec } from "../podspec/types.js";
import { readManifestFolder, type ManifestFile } from "./manifest-files.js";
import { staticPodUid } from "./static-pod-uid.js";

export interface WatcherTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** Watches a folder; calls onChange on any change in it. Throws when the folder is missing. */
export type FolderWatch = (
  dir: string,
  onChange: () => void,
  onError: (err: Error) => void,
) => { close(): void };

export interface StaticPodsWatcherOptions {
  dir: string;
  pods: PodManagerApi;
  logger: Logger;
  /** Default 20 s. */
  rescanIntervalMs?: number;
  /** Quiet time after the last fs event before scanning; default 300 ms. */
  debounceMs?: number;
  timers?: WatcherTimers;
  watchFolder?: FolderWatch;
}

export const STATIC_POD_SOURCE_ANNOTATION = "kubernetes.io/config.source";
export const STATIC_POD_HASH_ANNOTATION = "kubernetes.io/config.hash";

const systemTimers: WatcherTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (callback, ms) => setInterval(callback, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

const nodeFolderWatch: FolderWatch = (dir, onChange, onError) => {
  const watcher = fsWatch(dir, { persistent: false }, () => onChange());
  watcher.on("error", onError);
  return { close: () => watcher.close() };
};

/** What one manifest file declared when it was last read. */
interface FileState {
  /** sha256 of the text, to skip files that did not change. */
  digest: string;
  /** The pods of its last valid version (kept while the file is invalid). */
  specs: readonly PodSpec[];
  /** Its text validated when last read; false also for a file that cannot be read. */
  valid: boolean;
}

const podKey = (namespace: string, name: string): string => `${namespace}/${name}`;

export class StaticPodsWatcher {
  private readonly timers: WatcherTimers;
  private readonly watchFolder: FolderWatch;
  private readonly logger: Logger;
  private files = new Map<string, FileState>();
  /** Pod key -> the file that declares it (the first in name order, or the one that had it). */
  private owners = new Map<string, string>();
  /** Deletions under way (graceful termination can take the whole grace period). */
  private readonly deletions = new Map<string, Promise<void>>();
  private folder: { close(): void } | undefined;
  private interval: unknown;
  private debounce: unknown;
  private scanning: Promise<void> | undefined;
  private scanAgain = false;
  private stopped = false;
  private reportedFolderProblem = "";

  constructor(private readonly options: StaticPodsWatcherOptions) {
    this.timers = options.timers ?? systemTimers;
    this.watchFolder = options.watchFolder ?? nodeFolderWatch;
    this.logger = options.logger;
  }

  /** Applies the folder's pods once, then follows it. */
  async start(): Promise<void> {
    this.armFolderWatch();
    await this.scan();
    this.interval = this.timers.setInterval(() => {
      this.armFolderWatch();
      void this.scan();
    }, this.options.rescanIntervalMs ?? 20_000);
  }

  /** Stops following the folder; pods keep running, and deletions under way go on. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.interval !== undefined) this.timers.clearInterval(this.interval);
    if (this.debounce !== undefined) this.timers.clearTimeout(this.debounce);
    this.folder?.close();
    this.folder = undefined;
    await this.scanning;
  }

  /** Scans the folder now; scans never overlap, and a scan asked for during one runs after it. */
  scan(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.scanning !== undefined) {
      this.scanAgain = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      try {
        do {
          this.scanAgain = false;
          await this.scanOnce();
        } while (this.scanAgain && !this.stopped);
      } catch (err) {
        this.logger.error({ err, dir: this.options.dir }, "static pods scan failed");
      } finally {
        this.scanning = undefined;
      }
    })();
    return this.scanning;
  }

  /** Settles once every deletion started so far has finished (for tests and shutdown). */
  async deletionsSettled(): Promise<void> {
    while (this.deletions.size > 0) await Promise.allSettled([...this.deletions.values()]);
  }

  private armFolderWatch(): void {
    if (this.folder !== undefined || this.stopped) return;
    try {
      this.folder = this.watchFolder(
        this.options.dir,
        () => this.onFolderEvent(),
        (err) => {
          // The folder was removed or became unreadable: the interval re-arms the watch.
          this.logger.debug({ err, dir: this.options.dir }, "static pods folder watch ended");
          this.folder?.close();
          this.folder = undefined;
          this.onFolderEvent();
        },
      );
    } catch {
      // A missing folder is reported by the scan; the interval tries again.
    }
  }

  private onFolderEvent(): void {
    if (this.stopped) return;
    if (this.debounce !== undefined) this.timers.clearTimeout(this.debounce);
    this.debounce = this.timers.setTimeout(() => {
      this.debounce = undefined;
      void this.scan();
    }, this.options.debounceMs ?? 300);
  }

  private async scanOnce(): Promise<void> {
    const { dir } = this.options;
    const folder = await readManifestFolder(dir);
    if (!folder.ok) {
      // A folder that cannot be listed says nothing about the pods: keep them all.
      const problem = folder.missing ? "missing" : folder.error;
      if (problem !== this.reportedFolderProblem) {
        if (folder.missing) this.logger.info({ dir }, "static pods folder does not exist; watching for it");
        else this.logger.warn({ dir, error: folder.error }, "static pods folder cannot be read");
        this.reportedFolderProblem = problem;
      }
      return;
    }
    this.reportedFolderProblem = "";

    const files = new Map<string, FileState>();
    const changed = new Set<string>();
    for (const { path, error } of folder.unreadable) {
      this.logger.warn({ path, error }, "static pod manifest cannot be read; its pods are left as they are");
      files.set(path, { digest: "", specs: this.files.get(path)?.specs ?? [], valid: false });
    }
    for (const file of folder.files) {
      const state = this.readState(file);
      files.set(file.path, state);
      if (state.valid && state.digest !== this.files.get(file.path)?.digest) changed.add(file.path);
    }
    const owners = this.assignOwners(files, changed);

    // Pods whose file changed or that moved to another file are applied again; the pod
    // manager leaves unchanged ones alone.
    for (const [key, path] of owners) {
      if (!changed.has(path) && this.owners.get(key) === path) continue;
      const spec = files.get(path)?.specs.find((s) => podKey(s.metadata.namespace, s.metadata.name) === key);
      if (spec !== undefined) await this.applyPod(spec, path);
    }
    this.files = files;
    this.owners = owners;
    this.deleteUndeclared();
  }

  private readState(file: ManifestFile): FileState {
    const digest = createHash("sha256").update(file.text).digest("hex");
    const previous = this.files.get(file.path);
    if (previous?.digest === digest) return previous;
    try {
      return { digest, specs: parseStaticManifest(file), valid: true };
    } catch (err) {
      const errors =
        err instanceof PodSpecInvalidError
          ? err.fieldErrors.map(String)
          : [err instanceof Error ? err.message : String(err)];
      // Worded like a Warning event, so it reads as one in the journal.
      this.logger.warn(
        { type: "Warning", reason: "InvalidManifest", path: file.path, errors },
        `static pod manifest ${file.path} is invalid; nothing applied or deleted for it: ${err instanceof Error ? err.message : String(err)}`,
      );
      return { digest, specs: previous?.specs ?? [], valid: false };
    }
  }

  /** Each pod to one file: the one that had it if it still declares it, else the first by name. */
  private assignOwners(files: Map<string, FileState>, changed: Set<string>): Map<string, string> {
    const declaredBy = new Map<string, string[]>();
    for (const [path, state] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      for (const spec of state.specs) {
        const key = podKey(spec.metadata.namespace, spec.metadata.name);
        const paths = declaredBy.get(key) ?? [];
        if (!paths.includes(path)) paths.push(path);
        declaredBy.set(key, paths);
      }
    }
    const owners = new Map<string, string>();
    for (const [key, paths] of declaredBy) {
      const current = this.owners.get(key);
      const owner = current !== undefined && paths.includes(current) ? current : (paths[0] as string);
      owners.set(key, owner);
      const ignored = paths.filter((p) => p !== owner);
      if (ignored.length > 0 && (ignored.some((p) => changed.has(p)) || current !== owner)) {
        this.logger.warn(
          { pod: key, owner, ignored },
          `static pod ${key} is declared by ${owner}; ignored in ${ignored.join(", ")}`,
        );
      }
    }
    return owners;
  }

  /**
   * File pods that no manifest declares any more: their file was removed or edited, maybe
   * while the agent was down. Pods of a file that exists but does not validate (or cannot
   * be read) are kept, whatever it declared before.
   */
  private deleteUndeclared(): void {
    const unsettled = new Set([...this.files].filter(([, s]) => !s.valid).map(([path]) => path));
    for (const pod of this.options.pods.list()) {
      if (pod.source.kind !== "file" || pod.terminating) continue;
      const { namespace, name } = pod.metadata;
      const key = podKey(namespace, name);
      if (this.owners.has(key) || unsettled.has(pod.source.path)) continue;
      const why = this.files.has(pod.source.path) ? "no longer declared by" : "removed with";
      this.startDeletion(namespace, name, `static pod ${key} deleted: ${why} ${pod.source.path}`);
    }
  }

  private async applyPod(spec: PodSpec, path: string): Promise<void> {
    const key = podKey(spec.metadata.namespace, spec.metadata.name);
    // A pod being deleted (its file was removed a moment ago) comes back once it is gone.
    await this.deletions.get(key);
    try {
      const existing = this.options.pods.get(spec.metadata.namespace, spec.metadata.name);
      if (existing !== undefined && existing.source.kind !== "file") {
        this.logger.warn(
          { path, pod: key },
          `static pod ${key} from ${path} replaces the pod of that name applied through the API`,
        );
      }
      await this.options.pods.apply(spec, { kind: "file", path });
      this.logger.info({ path, pod: key, uid: spec.metadata.uid }, "static pod applied");
    } catch (err) {
      this.logger.error({ err, path, pod: key }, "static pod could not be applied");
    }
  }

  private startDeletion(namespace: string, name: string, message: string): void {
    const key = podKey(namespace, name);
    if (this.deletions.has(key)) return;
    this.logger.info({ pod: key }, message);
    const deletion = this.options.pods
      .delete(namespace, name)
      .catch((err: unknown) => this.logger.error({ err, pod: key }, "static pod could not be deleted"))
      .finally(() => this.deletions.delete(key));
    this.deletions.set(key, deletion);
  }
}

/**
 * Parses a manifest file into static pods: a pod without a uid gets one derived from the
 * file and its name, and each pod is annotated as kubelet annotates static pods.
 */
export function parseStaticManifest(file: ManifestFile): PodSpec[] {
  const generated = new Set<string>();
  const specs = parsePodManifest(file.text, file.path, {
    generateUid: () => {
      const uid = randomUUID();
      generated.add(uid);
      return uid;
    },
  });
  return specs.map((spec) => {
    const { namespace, name } = spec.metadata;
    const uid = generated.has(spec.metadata.uid)
      ? staticPodUid(file.path, namespace, name)
      : spec.metadata.uid;
    return {
      ...spec,
      metadata: {
        ...spec.metadata,
        uid,
        annotations: {
          ...spec.metadata.annotations,
          [STATIC_POD_SOURCE_ANNOTATION]: "file",
          [STATIC_POD_HASH_ANNOTATION]: uid,
        },
      },
    };
  });
}
