// Where berth fetches a registry's images from, configured per registry in containerd's
// hosts.toml shape: <configDir>/<host[:port]>/hosts.toml (or <configDir>/_default/hosts.toml)
//
//   server = "https://registry.example.com"        # the registry itself; http:// = insecure
//   ca = "/etc/ssl/registry-ca.pem"                 # trusted besides the system roots
//   skip_verify = false
//   [host."https://mirror.example.com"]             # mirrors, tried in order, before the server
//     capabilities = ["pull", "resolve"]
//     ca = "mirror-ca.pem"                          # relative to the hosts.toml's folder
//     skip_verify = true
//     override_path = false                         # true: the URL path is the API root as is
//     [host."https://mirror.example.com".header]
//       x-custom = "value"
//
// Without a hosts.toml the registry is reached over HTTPS at its own name (Docker Hub's API at
// registry-1.docker.io), and *.crt files in the host's folder are trusted as CAs, the way
// Docker's certs.d folders work. Plain HTTP is used only where a URL says http://.
import { readdir, readFile } from "node:fs/promises";
import { isAbsolute, join, resolve as resolvePath } from "node:path";
import { FailedPreconditionError } from "../../../common/errors.js";
import type { Logger } from "../../../common/logger.js";
import { DEFAULT_DOMAIN } from "../reference.js";
import { isTomlTable, parseToml, TomlSyntaxError, type TomlTable, type TomlValue } from "./toml.js";

export const DEFAULT_HOSTS_CONFIG_DIR = "/etc/berth/certs.d";
const DOCKER_HUB_API_HOST = "registry-1.docker.io";
const ALL_CAPABILITIES: HostCapability[] = ["pull", "resolve", "push"];
const KNOWN_CAPABILITIES = new Set<string>(ALL_CAPABILITIES);

/** pull: fetch blobs and manifests by digest; resolve: turn a tag into a digest; push: upload. */
export type HostCapability = "pull" | "resolve" | "push";

export interface RegistryEndpoint {
  scheme: "http" | "https";
  /** host[:port] the endpoint is reached at; credentials are looked up by it. */
  host: string;
  /** Root of the distribution API without a trailing slash, e.g. "https://mirror.example.com/v2". */
  apiBase: string;
  capabilities: HostCapability[];
  /** Accept any TLS certificate (insecure; for test registries only). */
  skipVerify: boolean;
  /** PEM files of CAs trusted for this endpoint besides the system roots. */
  caFiles: string[];
  /** Extra headers sent with every request. */
  headers: Record<string, string[]>;
  /** True for a mirror, false for the registry itself. */
  mirror: boolean;
}

export interface ParsedHostsFile {
  /** Mirrors in the order the file lists them, then the server. */
  endpoints: RegistryEndpoint[];
  /** Settings berth does not act on, to be logged. */
  warnings: string[];
}

/** The URL a registry host is reached at when nothing is configured. */
export function defaultServerUrl(registryHost: string): string {
  return `https://${registryHost === DEFAULT_DOMAIN ? DOCKER_HUB_API_HOST : registryHost}`;
}

export function defaultEndpoint(registryHost: string, caFiles: string[] = []): RegistryEndpoint {
  return endpointFromUrl(defaultServerUrl(registryHost), {
    capabilities: ALL_CAPABILITIES,
    skipVerify: false,
    caFiles,
    headers: {},
    mirror: false,
    overridePath: false,
  });
}

interface EndpointSettings {
  capabilities: HostCapability[];
  skipVerify: boolean;
  caFiles: string[];
  headers: Record<string, string[]>;
  mirror: boolean;
  overridePath: boolean;
}

function endpointFromUrl(url: string, settings: EndpointSettings): RegistryEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`"${url}" is not a URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Error(`"${url}" must start with http:// or https://`);
  }
  if (parsed.username || parsed.password) throw new Error(`"${url}" must not carry credentials`);
  if (parsed.search || parsed.hash) throw new Error(`"${url}" must not have a query or fragment`);
  let path = parsed.pathname.replace(/\/+$/, "");
  if (!settings.overridePath && !path.endsWith("/v2")) path = `${path}/v2`;
  return {
    scheme: parsed.protocol === "http:" ? "http" : "https",
    host: parsed.host,
    apiBase: `${parsed.protocol}//${parsed.host}${path}`,
    capabilities: settings.capabilities,
    skipVerify: settings.skipVerify,
    caFiles: settings.caFiles,
    headers: settings.headers,
    mirror: settings.mirror,
  };
}

/**
 * Parses a hosts.toml for `registryHost`. `fileDir` resolves relative CA paths. Throws an Error
 * naming the line or key at fault.
 */
export function parseHostsFile(text: string, registryHost: string, fileDir: string): ParsedHostsFile {
  const doc = parseToml(text);
  const warnings: string[] = [];
  const endpoints: RegistryEndpoint[] = [];

  const hosts = doc.host;
  if (hosts !== undefined) {
    if (!isTomlTable(hosts)) throw new Error(`"host" must be a table of [host."<url>"] sections`);
    for (const [url, section] of Object.entries(hosts)) {
      if (!isTomlTable(section)) throw new Error(`host."${url}" must be a table`);
      endpoints.push(
        endpointFromUrl(
          url,
          readSettings(section, `host."${url}"`, fileDir, true, warnings, ["capabilities"]),
        ),
      );
    }
  }

  const server = doc.server;
  if (server !== undefined && typeof server !== "string") throw new Error(`"server" must be a string`);
  const serverSettings = readSettings(doc, "", fileDir, false, warnings, ["server", "host", "capabilities"]);
  endpoints.push(endpointFromUrl(server ?? defaultServerUrl(registryHost), serverSettings));
  return { endpoints, warnings };
}

const SECTION_KEYS = new Set(["capabilities", "skip_verify", "ca", "client", "header", "override_path"]);

function readSettings(
  section: TomlTable,
  where: string,
  fileDir: string,
  mirror: boolean,
  warnings: string[],
  extraKeys: string[],
): EndpointSettings {
  const name = (key: string) => (where === "" ? key : `${where}.${key}`);
  for (const key of Object.keys(section)) {
    if (!SECTION_KEYS.has(key) && !extraKeys.includes(key))
      warnings.push(`unknown key "${name(key)}" ignored`);
  }
  if (section.client !== undefined) {
    warnings.push(`"${name("client")}": client certificates are not supported and are ignored`);
  }
  const skipVerify = section.skip_verify ?? false;
  if (typeof skipVerify !== "boolean") throw new Error(`"${name("skip_verify")}" must be true or false`);
  const overridePath = section.override_path ?? false;
  if (typeof overridePath !== "boolean") throw new Error(`"${name("override_path")}" must be true or false`);

  let capabilities = ALL_CAPABILITIES;
  if (mirror && section.capabilities !== undefined) {
    capabilities = stringList(section.capabilities, name("capabilities")).map((c) => {
      if (!KNOWN_CAPABILITIES.has(c)) throw new Error(`"${name("capabilities")}": unknown capability "${c}"`);
      return c as HostCapability;
    });
  } else if (!mirror && section.capabilities !== undefined) {
    warnings.push(`"capabilities" applies to [host] sections only; the server can do everything`);
  }

  const caFiles =
    section.ca === undefined
      ? []
      : stringList(section.ca, name("ca")).map((p) => (isAbsolute(p) ? p : resolvePath(fileDir, p)));

  const headers: Record<string, string[]> = {};
  if (section.header !== undefined) {
    if (!isTomlTable(section.header)) throw new Error(`"${name("header")}" must be a table`);
    for (const [key, value] of Object.entries(section.header)) {
      headers[key.toLowerCase()] = stringList(value, `${name("header")}.${key}`);
    }
  }
  return { capabilities, skipVerify, caFiles, headers, mirror, overridePath };
}

function stringList(value: TomlValue, key: string): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value) && value.every((v): v is string => typeof v === "string")) return value;
  throw new Error(`"${key}" must be a string or a list of strings`);
}

export interface RegistryHostsOptions {
  /** Folder of per-registry folders; /etc/berth/certs.d by default. */
  configDir?: string;
  logger: Logger;
}

/** Reads the endpoint list of a registry from its hosts.toml on every call, so edits take effect
 * on the next pull without a restart. */
export class RegistryHosts {
  readonly configDir: string;
  private readonly logger: Logger;

  constructor(opts: RegistryHostsOptions) {
    this.configDir = opts.configDir ?? DEFAULT_HOSTS_CONFIG_DIR;
    this.logger = opts.logger;
  }

  /** Endpoints to try for `registryHost` ("docker.io", "localhost:5000"), in order. A malformed
   * hosts.toml fails the pull (FailedPreconditionError) rather than silently going elsewhere. */
  async endpointsFor(registryHost: string): Promise<RegistryEndpoint[]> {
    for (const folder of [registryHost, "_default"]) {
      const dir = join(this.configDir, folder);
      const file = join(dir, "hosts.toml");
      const text = await readFileIfExists(file);
      if (text === undefined) continue;
      try {
        const parsed = parseHostsFile(text, registryHost, dir);
        for (const warning of parsed.warnings) this.logger.warn({ file }, warning);
        return parsed.endpoints;
      } catch (err) {
        const problem = err instanceof TomlSyntaxError || err instanceof Error ? err.message : String(err);
        throw new FailedPreconditionError(`registry host config ${file}: ${problem}`);
      }
    }
    return [defaultEndpoint(registryHost, await certsDirCas(join(this.configDir, registryHost)))];
  }
}

async function certsDirCas(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir))
      .filter((n) => n.endsWith(".crt"))
      .sort()
      .map((n) => join(dir, n));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw err;
  }
}
