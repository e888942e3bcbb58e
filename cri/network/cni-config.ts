// Finding the pod network: the CNI config files in the conf dir, read the way CNI runtimes
// read them (the first valid file in lexicographic order wins; a single-plugin .conf or
// .json is wrapped as a one-entry list), the plugin binaries it needs, and the default
// bridge network berth writes when the host has no network config at all.
import { access, constants, mkdir, readdir, readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { isIPv4 } from "node:net";
import { writeFileAtomic } from "../../common/atomic-file.js";
import { InvalidArgumentError } from "../../common/errors.js";
import type { PluginConf } from "./cni-args.js";
import { queryPluginVersions } from "./cni-exec.js";

export const DEFAULT_CONF_DIR = "/etc/cni/net.d";
export const DEFAULT_PLUGIN_DIRS: readonly string[] = ["/usr/lib/cni", "/opt/cni/bin"];
export const CONFIG_EXTENSIONS: readonly string[] = [".conflist", ".conf", ".json"];
export const DEFAULT_CONFIG_FILE = "10-berth.conflist";

/** The cniVersion berth asks for when the plugins speak it. */
export const PREFERRED_CNI_VERSION = "1.0.0";

/** A network config list, normalized: what ADD, CHECK and DEL run. */
export interface NetworkConfigList {
  name: string;
  cniVersion: string;
  disableCheck: boolean;
  plugins: PluginConf[];
  /** The file it was read from. */
  source: string;
}

export interface SkippedConfig {
  file: string;
  reason: string;
}

export interface ConfigSearch {
  /** The selected network, if any file was valid. */
  network?: NetworkConfigList;
  /** Files with a config extension, in the order they were considered. */
  candidates: string[];
  /** Files considered before the selected one (or all of them) that were not valid. */
  skipped: SkippedConfig[];
}

// The spec's rule for network names; berth also relies on it to keep cache file names safe.
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
// A plugin type is a file name in a plugin dir: never a path.
const PLUGIN_TYPE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const SEMVER = /^\d+\.\d+\.\d+$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

class ConfigProblem extends Error {}

function requireCniVersion(value: unknown): string {
  if (typeof value !== "string" || !SEMVER.test(value)) {
    throw new ConfigProblem(`cniVersion must be a version such as "1.0.0" (got ${JSON.stringify(value)})`);
  }
  return value;
}

function requireNetworkName(value: unknown): string {
  if (typeof value !== "string" || !NETWORK_NAME.test(value)) {
    throw new ConfigProblem(
      `name must start with a letter or digit followed by letters, digits, '_', '.' or '-' (got ${JSON.stringify(value)})`,
    );
  }
  return value;
}

function requirePlugin(value: unknown, where: string): PluginConf {
  if (!isRecord(value)) throw new ConfigProblem(`${where} is not an object`);
  const type = value.type;
  if (typeof type !== "string" || type === "") throw new ConfigProblem(`${where} has no type`);
  if (!PLUGIN_TYPE.test(type)) throw new ConfigProblem(`${where} has an invalid type "${type}"`);
  return { ...value, type };
}

function parseDisableCheck(value: unknown): boolean {
  if (value === undefined) return false;
  if (value === true || value === "true") return true;
  if (value === false || value === "false") return false;
  throw new ConfigProblem(`disableCheck must be true or false (got ${JSON.stringify(value)})`);
}

/**
 * Parses one config file's text. A .conflist is a list; a .conf or .json holds a single
 * plugin config, which becomes a list of one. Throws with the reason the file is unusable.
 */
export function parseNetworkConfig(fileName: string, text: string): NetworkConfigList {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigProblem(`invalid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(parsed)) throw new ConfigProblem("not a JSON object");
  const name = requireNetworkName(parsed.name);
  const cniVersion = requireCniVersion(parsed.cniVersion);
  if (extname(fileName) === ".conflist") {
    const plugins = parsed.plugins;
    if (!Array.isArray(plugins) || plugins.length === 0) {
      throw new ConfigProblem("a .conflist needs a non-empty plugins list");
    }
    return {
      name,
      cniVersion,
      disableCheck: parseDisableCheck(parsed.disableCheck),
      plugins: plugins.map((plugin, index) => requirePlugin(plugin, `plugins[${index}]`)),
      source: fileName,
    };
  }
  return {
    name,
    cniVersion,
    disableCheck: false,
    plugins: [requirePlugin(parsed, "the config")],
    source: fileName,
  };
}

/** Config files in the dir, sorted by name; none when the dir does not exist. */
export async function listConfigFiles(confDir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(confDir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return entries
    .filter((entry) => !entry.isDirectory() && CONFIG_EXTENSIONS.includes(extname(entry.name)))
    .map((entry) => join(confDir, entry.name))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Selects the network: the first file, in name order, that parses as a valid config. */
export async function findNetworkConfig(confDir: string): Promise<ConfigSearch> {
  const candidates = await listConfigFiles(confDir);
  const skipped: SkippedConfig[] = [];
  for (const file of candidates) {
    try {
      const text = await readFile(file, "utf8");
      return { network: parseNetworkConfig(file, text), candidates, skipped };
    } catch (err) {
      const reason = err instanceof ConfigProblem ? err.message : `cannot read: ${(err as Error).message}`;
      skipped.push({ file, reason });
    }
  }
  return { candidates, skipped };
}

/** The executable for a plugin type: the first plugin dir that holds it. */
export async function findPlugin(type: string, pluginDirs: readonly string[]): Promise<string | undefined> {
  if (!PLUGIN_TYPE.test(type)) return undefined;
  for (const dir of pluginDirs) {
    const path = join(dir, type);
    try {
      if ((await stat(path)).isFile()) {
        await access(path, constants.X_OK);
        return path;
      }
    } catch {
      // not in this dir; try the next
    }
  }
  return undefined;
}

/**
 * Every plugin type the network runs, directly or as its IPAM plugin. A network is usable
 * only when all of them are installed.
 */
export function pluginTypesOf(network: NetworkConfigList): string[] {
  const types: string[] = [];
  for (const plugin of network.plugins) {
    types.push(plugin.type);
    const ipam = plugin.ipam;
    if (isRecord(ipam) && typeof ipam.type === "string" && ipam.type !== "") types.push(ipam.type);
  }
  return [...new Set(types)];
}

export async function missingPlugins(
  network: NetworkConfigList,
  pluginDirs: readonly string[],
): Promise<string[]> {
  const missing: string[] = [];
  for (const type of pluginTypesOf(network)) {
    if ((await findPlugin(type, pluginDirs)) === undefined) missing.push(type);
  }
  return missing;
}

// ---- the default network ----------------------------------------------------------------

export interface DefaultConfigOptions {
  /** Where host-local keeps its IP reservations; under berth's state dir. */
  ipamDataDir: string;
  networkName?: string;
  bridgeName?: string;
  /** IPv4 CIDR the pods get addresses from. */
  subnet?: string;
  /** Masquerade pod traffic leaving the subnet (pods reach the outside through the host). */
  ipMasq?: boolean;
  hairpinMode?: boolean;
}

const DEFAULT_NETWORK_NAME = "berth";
const DEFAULT_BRIDGE = "berth0";
const DEFAULT_SUBNET = "10.88.0.0/16";
const IFNAMSIZ = 15;

export function compareCniVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/**
 * The cniVersion for a list whose plugins support the given versions: 1.0.0 when all of
 * them speak it, else the newest they all speak; undefined when they share none.
 */
export function chooseCniVersion(supportedByPlugin: readonly (readonly string[])[]): string | undefined {
  if (supportedByPlugin.length === 0) return PREFERRED_CNI_VERSION;
  const [first, ...rest] = supportedByPlugin;
  const common = (first ?? []).filter((v) => SEMVER.test(v) && rest.every((list) => list.includes(v)));
  if (common.includes(PREFERRED_CNI_VERSION)) return PREFERRED_CNI_VERSION;
  return common.sort(compareCniVersions).at(-1);
}

function validateDefaultOptions(opts: DefaultConfigOptions): void {
  const bridge = opts.bridgeName ?? DEFAULT_BRIDGE;
  if (bridge.length === 0 || bridge.length > IFNAMSIZ || /[\s/:]/.test(bridge)) {
    throw new InvalidArgumentError(
      "bridgeName",
      `must be a Linux interface name of 1-${IFNAMSIZ} characters`,
    );
  }
  const subnet = opts.subnet ?? DEFAULT_SUBNET;
  const [address, prefix, ...extra] = subnet.split("/");
  const prefixLength = Number(prefix);
  if (
    extra.length > 0 ||
    !address ||
    !isIPv4(address) ||
    !Number.isInteger(prefixLength) ||
    prefixLength < 1 ||
    prefixLength > 30
  ) {
    throw new InvalidArgumentError("subnet", `must be an IPv4 CIDR with a prefix of 1-30 (got "${subnet}")`);
  }
  requireNetworkName(opts.networkName ?? DEFAULT_NETWORK_NAME);
}

/** berth's default network: one bridge with host-local addresses, and portmap for host ports. */
export function defaultNetworkConfig(
  opts: DefaultConfigOptions,
  cniVersion: string,
): Record<string, unknown> {
  validateDefaultOptions(opts);
  return {
    cniVersion,
    name: opts.networkName ?? DEFAULT_NETWORK_NAME,
    plugins: [
      {
        type: "bridge",
        bridge: opts.bridgeName ?? DEFAULT_BRIDGE,
        isGateway: true,
        ipMasq: opts.ipMasq ?? true,
        hairpinMode: opts.hairpinMode ?? true,
        ipam: {
          type: "host-local",
          subnet: opts.subnet ?? DEFAULT_SUBNET,
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: opts.ipamDataDir,
        },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

/** The plugins of the default network, asked for the versions they speak. */
async function defaultNetworkCniVersion(pluginDirs: readonly string[]): Promise<string> {
  const supported: string[][] = [];
  for (const type of ["bridge", "host-local", "portmap"]) {
    const path = await findPlugin(type, pluginDirs);
    if (!path) continue; // status() reports it missing; the file can still be written
    const info = await queryPluginVersions(type, path, 10_000);
    supported.push(info.supportedVersions);
  }
  return chooseCniVersion(supported) ?? PREFERRED_CNI_VERSION;
}

/**
 * Writes `10-berth.conflist` when the conf dir holds no config file at all (an invalid
 * one counts as present: someone meant to configure the network). Returns the path
 * written, or undefined when a config was already there.
 */
export async function writeDefaultConfig(
  confDir: string,
  opts: DefaultConfigOptions,
  pluginDirs: readonly string[] = DEFAULT_PLUGIN_DIRS,
): Promise<string | undefined> {
  validateDefaultOptions(opts);
  if ((await listConfigFiles(confDir)).length > 0) return undefined;
  const cniVersion = await defaultNetworkCniVersion(pluginDirs);
  await mkdir(confDir, { recursive: true, mode: 0o755 });
  const path = join(confDir, DEFAULT_CONFIG_FILE);
  await writeFileAtomic(path, JSON.stringify(defaultNetworkConfig(opts, cniVersion), null, 2) + "\n", 0o644);
  return path;
}

/**
 * Rewrites berth's own default network file (and no other) for new options, such as the
 * node's pod CIDR as its subnet. Returns the path rewritten, or undefined when the conf dir
 * holds no such file (an operator's own network is never touched).
 */
export async function rewriteDefaultConfig(
  confDir: string,
  opts: DefaultConfigOptions,
): Promise<string | undefined> {
  validateDefaultOptions(opts);
  const path = join(confDir, DEFAULT_CONFIG_FILE);
  let current: NetworkConfigList;
  try {
    current = parseNetworkConfig(path, await readFile(path, "utf8"));
  } catch {
    return undefined;
  }
  if (current.name !== (opts.networkName ?? DEFAULT_NETWORK_NAME)) return undefined;
  const text = JSON.stringify(defaultNetworkConfig(opts, current.cniVersion), null, 2) + "\n";
  await writeFileAtomic(path, text, 0o644);
  return path;
}
