// Pod networking through CNI: the sandbox lifecycle hands over a fresh network namespace
// (loopback already up, see netns.ts) and gets back the pod's addresses on eth0. ADD runs
// the network's plugins in order, each given the previous one's result; DEL runs them in
// reverse with the recorded config and result; CHECK replays the recorded ADD. Every
// attachment is recorded before ADD starts (cni-cache.ts), so a failed or interrupted
// setup can always be undone and nothing (IP reservation, veth, iptables rule) is left.
import { statfs } from "node:fs/promises";
import { isIPv4 } from "node:net";
import type { Logger } from "../../common/logger.js";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  RuntimeFailureError,
} from "../../common/errors.js";
import {
  type CapabilityArgs,
  type PluginConf,
  type PodIdentity,
  type PortMapping,
  formatCniArgs,
  pluginStdin,
  podCapabilityArgs,
  podCniArgs,
  toCniPortMappings,
} from "./cni-args.js";
import { AttachmentCache, type AttachmentRecord, CACHE_KIND } from "./cni-cache.js";
import {
  type DefaultConfigOptions,
  type NetworkConfigList,
  compareCniVersions,
  findNetworkConfig,
  findPlugin,
  missingPlugins,
  rewriteDefaultConfig,
  writeDefaultConfig,
} from "./cni-config.js";
import { type CniCommand, CniPluginError, DEFAULT_PLUGIN_TIMEOUT_MS, execPlugin } from "./cni-exec.js";
import { podIpsFromResult } from "./cni-result.js";

export const POD_INTERFACE = "eth0";
/** The CRI NetworkReady condition's reason when the network cannot be used. */
export const NETWORK_NOT_READY_REASON = "NetworkPluginNotReady";
// CHECK entered the spec in 0.4.0; older lists are never checked.
const FIRST_VERSION_WITH_CHECK = "0.4.0";
const NSFS_MAGIC = 0x6e736673;
// Container ids become part of cache file names.
const SAFE_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export interface CniManagerOptions {
  confDir: string;
  pluginDirs: readonly string[];
  /** berth's CNI cache dir (under its state dir). */
  cacheDir: string;
  logger: Logger;
  /** Write berth's default network when the conf dir has no config; false to never write. */
  writeDefault?: DefaultConfigOptions | false;
  /** Deadline for one plugin call. */
  pluginTimeoutMs?: number;
}

export interface NetworkStatus {
  ready: boolean;
  reason?: string;
  message?: string;
}

export interface SetUpInput extends PodIdentity {
  netnsPath: string;
  portMappings: PortMapping[];
}

export interface SetUpResult {
  ips: string[];
  interfaceName: typeof POD_INTERFACE;
}

/** A pod's attachment, for teardown and check; the pod fields are informative only. */
export interface PodNetworkRef extends Partial<Omit<PodIdentity, "sandboxId">> {
  sandboxId: string;
  /** The namespace path, which may already be gone; defaults to the one recorded at setup. */
  netnsPath?: string;
}

type ResolvedNetwork = { ok: true; network: NetworkConfigList } | { ok: false; message: string };

export class CniManager {
  private readonly cache: AttachmentCache;
  private readonly pluginTimeoutMs: number;
  /** Skipped-file reasons already logged, so a status poll does not repeat them. */
  private readonly reportedSkips = new Set<string>();
  /** Serializes operations per sandbox: a teardown never overlaps its setup. */
  private readonly sandboxQueues = new Map<string, Promise<unknown>>();

  constructor(private opts: CniManagerOptions) {
    this.cache = new AttachmentCache(opts.cacheDir);
    this.pluginTimeoutMs = opts.pluginTimeoutMs ?? DEFAULT_PLUGIN_TIMEOUT_MS;
  }

  /** The node's pod CIDRs, offered to plugins that declare the ipRanges capability. */
  private podCidrs: readonly string[] = [];

  /**
   * The node's pod CIDRs: offered to plugins that declare the ipRanges capability, and made
   * the subnet of berth's own default network (its first IPv4 CIDR), as a CNI config
   * template would. Pods already set up keep their addresses.
   */
  async usePodCidrs(cidrs: readonly string[]): Promise<void> {
    const subnet = cidrs.find((c) => isIPv4(c.split("/")[0] ?? ""));
    const { writeDefault, confDir, logger } = this.opts;
    if (writeDefault && subnet && subnet !== writeDefault.subnet) {
      const updated = { ...writeDefault, subnet };
      const path = await rewriteDefaultConfig(confDir, updated);
      this.opts = { ...this.opts, writeDefault: updated };
      if (path) logger.info({ path, subnet }, "berth's default CNI network now uses the node's pod CIDR");
    }
    this.podCidrs = [...cidrs];
  }

  /** The CRI NetworkReady condition. */
  async status(): Promise<NetworkStatus> {
    const resolved = await this.resolveNetwork();
    if (resolved.ok) return { ready: true };
    return { ready: false, reason: NETWORK_NOT_READY_REASON, message: resolved.message };
  }

  /** Attaches the sandbox's namespace to the network; returns the pod's addresses. */
  async setUp(input: SetUpInput): Promise<SetUpResult> {
    requireSafeId(input.sandboxId);
    if (!input.netnsPath) throw new InvalidArgumentError("netnsPath", "must not be empty");
    const cniArgs = podCniArgs(input);
    const capabilityArgs = podCapabilityArgs(toCniPortMappings(input.portMappings), this.podCidrs);
    return this.serialized(input.sandboxId, async () => {
      const resolved = await this.resolveNetwork();
      if (!resolved.ok) throw new FailedPreconditionError(`${NETWORK_NOT_READY_REASON}: ${resolved.message}`);
      const log = this.opts.logger.child({ sandboxId: input.sandboxId, network: resolved.network.name });

      // A retried setup must not stack a second attachment on a leftover one.
      for (const stale of await this.cache.find(input.sandboxId, POD_INTERFACE)) {
        log.warn({ state: stale.state }, "removing a previous network attachment before setting up again");
        await this.runDel(stale, stale.netnsPath);
        await this.cache.remove(stale);
      }

      const record: AttachmentRecord = {
        kind: CACHE_KIND,
        networkName: resolved.network.name,
        containerId: input.sandboxId,
        ifName: POD_INTERFACE,
        netnsPath: input.netnsPath,
        network: resolved.network,
        cniArgs,
        capabilityArgs,
        state: "adding",
      };
      await this.cache.save(record);
      const result = await this.runAddOrUndo(record, log);
      const ips = podIpsFromResult(result);
      if (ips.length === 0) log.warn("the network gave the pod no IP address");
      log.info({ ips }, "pod network set up");
      return { ips, interfaceName: POD_INTERFACE };
    });
  }

  /**
   * Detaches the sandbox from every network it was attached to. Idempotent: nothing
   * recorded means nothing to do, and a namespace that is gone is passed as empty so the
   * plugins still release addresses and host-side rules.
   */
  async tearDown(input: PodNetworkRef): Promise<void> {
    requireSafeId(input.sandboxId);
    await this.serialized(input.sandboxId, async () => {
      const records = await this.cache.find(input.sandboxId, POD_INTERFACE);
      if (records.length === 0) {
        this.opts.logger.debug(
          { sandboxId: input.sandboxId },
          "no pod network recorded; nothing to tear down",
        );
        return;
      }
      for (const record of records) {
        await this.runDel(record, input.netnsPath ?? record.netnsPath);
        await this.cache.remove(record);
        this.opts.logger.info(
          { sandboxId: input.sandboxId, network: record.networkName },
          "pod network torn down",
        );
      }
    });
  }

  /** Sandbox ids with an attachment on record (made, or begun and not undone). */
  async attachedSandboxIds(): Promise<string[]> {
    return this.cache.containerIds();
  }

  /** Asks the plugins whether the recorded attachment is still as they made it. */
  async check(input: PodNetworkRef): Promise<void> {
    requireSafeId(input.sandboxId);
    await this.serialized(input.sandboxId, async () => {
      const records = await this.cache.find(input.sandboxId, POD_INTERFACE);
      if (records.length === 0) throw new NotFoundError("pod network of sandbox", input.sandboxId);
      for (const record of records) {
        if (record.state !== "added") {
          throw new FailedPreconditionError(
            `pod network of sandbox ${input.sandboxId} on "${record.networkName}" was never completely set up`,
          );
        }
        const network = record.network;
        if (network.disableCheck || compareCniVersions(network.cniVersion, FIRST_VERSION_WITH_CHECK) < 0)
          continue;
        const netnsPath = input.netnsPath ?? record.netnsPath;
        for (const plugin of network.plugins) {
          try {
            await this.call(record, plugin, "CHECK", netnsPath, record.result);
          } catch (err) {
            if (!isSpuriousPortmapCheckFailure(err, record.result)) throw err;
            this.opts.logger.debug(
              { sandboxId: input.sandboxId, err: (err as Error).message },
              "ignoring portmap's IPv6 CHECK failure for a pod without IPv6",
            );
          }
        }
      }
    });
  }

  // ---- internals -------------------------------------------------------------------------

  private async resolveNetwork(): Promise<ResolvedNetwork> {
    const { confDir, pluginDirs, writeDefault, logger } = this.opts;
    let search = await findNetworkConfig(confDir);
    if (search.candidates.length === 0 && writeDefault) {
      try {
        const written = await writeDefaultConfig(confDir, writeDefault, pluginDirs);
        if (written) logger.info({ path: written }, "wrote berth's default CNI network config");
      } catch (err) {
        return {
          ok: false,
          message: `writing the default CNI config in ${confDir}: ${(err as Error).message}`,
        };
      }
      search = await findNetworkConfig(confDir);
    }
    for (const { file, reason } of search.skipped) {
      const key = `${file}\0${reason}`;
      if (this.reportedSkips.has(key)) continue;
      this.reportedSkips.add(key);
      logger.warn({ file, reason }, "skipping invalid CNI network config");
    }
    const network = search.network;
    if (!network) {
      if (search.candidates.length === 0) {
        return { ok: false, message: `no CNI network config found in ${confDir}` };
      }
      const reasons = search.skipped.map((s) => `${s.file}: ${s.reason}`).join("; ");
      return { ok: false, message: `no valid CNI network config in ${confDir} (${reasons})` };
    }
    const missing = await missingPlugins(network, pluginDirs);
    if (missing.length > 0) {
      return {
        ok: false,
        message:
          `CNI network "${network.name}" (${network.source}) needs plugin(s) ${missing.join(", ")}, ` +
          `not found in ${pluginDirs.join(", ")}`,
      };
    }
    return { ok: true, network };
  }

  /**
   * ADD through the list and record the result; on any failure (a plugin's, or recording
   * it), DEL the whole list in reverse and rethrow.
   */
  private async runAddOrUndo(record: AttachmentRecord, log: Logger): Promise<unknown> {
    let prevResult: unknown = undefined;
    let succeeded = 0;
    try {
      for (const plugin of record.network.plugins) {
        const result = await this.call(record, plugin, "ADD", record.netnsPath, prevResult);
        if (result === undefined) {
          throw new CniPluginError(plugin.type, "ADD", undefined, "printed no result");
        }
        prevResult = result;
        succeeded++;
      }
      await this.cache.save({ ...record, state: "added", result: prevResult });
      return prevResult;
    } catch (addError) {
      log.warn({ err: (addError as Error).message }, "CNI ADD failed; undoing it");
      const clean = await this.undoAdd(record, prevResult, succeeded, addError, log);
      // When something may be left, the record stays so the sandbox's teardown retries.
      if (clean) await this.cache.remove(record);
      else log.error("a failed CNI ADD could not be fully undone; its teardown will retry");
      throw addError;
    }
  }

  /**
   * DEL on every plugin of the list in reverse, as the spec asks after a failed ADD (even
   * those never reached: DEL must tolerate what does not exist), going on past errors so
   * that each plugin gets its chance. Returns whether nothing can be left: every plugin
   * whose ADD succeeded deleted cleanly, and the one that failed (at index `succeeded`)
   * either did too or failed again with the very error it gave on ADD (same config, same
   * words: it rejected its config before doing anything). Plugins never reached made nothing.
   */
  private async undoAdd(
    record: AttachmentRecord,
    prevResult: unknown,
    succeeded: number,
    addError: unknown,
    log: Logger,
  ): Promise<boolean> {
    const netnsPath = await existingNetns(record.netnsPath);
    let clean = true;
    for (let index = record.network.plugins.length - 1; index >= 0; index--) {
      const plugin = record.network.plugins[index]!;
      try {
        await this.call(record, plugin, "DEL", netnsPath, prevResult);
      } catch (delError) {
        const message = (delError as Error).message;
        const sameAsAdd =
          index === succeeded &&
          delError instanceof CniPluginError &&
          addError instanceof CniPluginError &&
          delError.msg === addError.msg &&
          delError.details === addError.details;
        if (index < succeeded || (index === succeeded && !sameAsAdd)) {
          clean = false;
          log.error({ plugin: plugin.type, err: message }, "CNI DEL while undoing a failed ADD failed");
        } else {
          log.debug({ plugin: plugin.type, err: message }, "CNI DEL of a plugin that made nothing failed");
        }
      }
    }
    return clean;
  }

  private async runDel(record: AttachmentRecord, netnsPath: string | undefined): Promise<void> {
    const usableNetns = await existingNetns(netnsPath);
    if (netnsPath && !usableNetns) {
      this.opts.logger.debug(
        { sandboxId: record.containerId, netnsPath },
        "network namespace is gone; deleting without it",
      );
    }
    for (const plugin of [...record.network.plugins].reverse()) {
      await this.call(record, plugin, "DEL", usableNetns, record.result);
    }
  }

  private async call(
    record: AttachmentRecord,
    plugin: PluginConf,
    command: CniCommand,
    netnsPath: string,
    prevResult: unknown,
  ): Promise<unknown> {
    const pluginPath = await findPlugin(plugin.type, this.opts.pluginDirs);
    if (!pluginPath) {
      throw new RuntimeFailureError(
        `CNI plugin "${plugin.type}" for ${command} not found in ${this.opts.pluginDirs.join(", ")}`,
      );
    }
    const capabilityArgs: CapabilityArgs = record.capabilityArgs;
    return execPlugin({
      pluginName: plugin.type,
      pluginPath,
      command,
      containerId: record.containerId,
      netnsPath,
      ifName: record.ifName,
      cniArgs: formatCniArgs(record.cniArgs),
      pluginDirs: this.opts.pluginDirs,
      config: pluginStdin(plugin, {
        networkName: record.network.name,
        cniVersion: record.network.cniVersion,
        prevResult,
        capabilityArgs,
      }),
      timeoutMs: this.pluginTimeoutMs,
    });
  }

  private serialized<T>(sandboxId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.sandboxQueues.get(sandboxId) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.sandboxQueues.set(sandboxId, tail);
    void tail.then(() => {
      if (this.sandboxQueues.get(sandboxId) === tail) this.sandboxQueues.delete(sandboxId);
    });
    return next;
  }
}

/**
 * portmap up to at least 1.1 (Debian 12 ships 1.1.1) checks its ip6tables chain whenever
 * the host has ip6tables, even for a pod with IPv4 addresses only, where ADD made none,
 * so CHECK fails on every such pod with host ports. It checks IPv4 first, so an IPv6
 * complaint about a pod without IPv6 means the IPv4 rules were found intact.
 */
export function isSpuriousPortmapCheckFailure(err: unknown, result: unknown): boolean {
  if (!(err instanceof CniPluginError) || err.plugin !== "portmap" || err.command !== "CHECK") return false;
  if (!/could not check ipv6/i.test(err.msg)) return false;
  return !podIpsFromResult(result).some((ip) => ip.includes(":"));
}

function requireSafeId(sandboxId: string): void {
  if (!SAFE_ID.test(sandboxId)) {
    throw new InvalidArgumentError(
      "sandboxId",
      `must be letters, digits, '_', '.' or '-' (got "${sandboxId}")`,
    );
  }
}

/** The path when it is a mounted network namespace, else "" (the spec's "no namespace"). */
async function existingNetns(path: string | undefined): Promise<string> {
  if (!path) return "";
  try {
    const fs = await statfs(path);
    return fs.type === NSFS_MAGIC ? path : "";
  } catch {
    return "";
  }
}
