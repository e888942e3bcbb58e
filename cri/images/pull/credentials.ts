// Registry credentials: from a CRI AuthConfig (what the kubelet sends with PullImage, from image
// pull secrets) or from a Docker-style config.json ({"auths": {"<registry>": {"auth":
// base64("user:pass")}}}). Secrets are never logged: describeCredentials() says only what kind
// of credentials there are.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { InvalidArgumentError } from "../../../common/errors.js";
import type { AuthConfig } from "../../api/generated/api.js";

export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** A refresh token exchanged at the token endpoint (OAuth2) for an access token. */
  identityToken?: string;
  /** A bearer token sent to the registry as is. */
  registryToken?: string;
}

/** Finds the credentials for an endpoint host ("registry-1.docker.io", "mirror:5000"). */
export type CredentialsLookup = (host: string) => Promise<RegistryCredentials | undefined>;

const DOCKER_HUB_ALIASES = new Set([
  "docker.io",
  "index.docker.io",
  "registry-1.docker.io",
  "registry.hub.docker.com",
]);

/** Reduces a registry address as people write it ("https://index.docker.io/v1/",
 * "http://host:5000/v2", "HOST:5000") to the key credentials are matched by. */
export function credentialsKey(address: string): string {
  let key = address.trim().toLowerCase();
  key = key.replace(/^[a-z][a-z0-9+.-]*:\/\//, "");
  key = key.replace(/\/.*$/, "");
  return DOCKER_HUB_ALIASES.has(key) ? "docker.io" : key;
}

/** Splits base64("user:password"), the "auth" of CRI and of config.json. */
export function decodeBasicAuth(auth: string, field: string): { username: string; password: string } {
  const decoded = Buffer.from(auth, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon <= 0) throw new InvalidArgumentError(field, "is not base64 of user:password");
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The credentials of a CRI AuthConfig, undefined when it holds none. */
export function credentialsFromCriAuth(auth: AuthConfig | undefined): RegistryCredentials | undefined {
  if (!auth) return undefined;
  if (auth.registryToken) return { registryToken: auth.registryToken };
  if (auth.identityToken) {
    return { identityToken: auth.identityToken, ...(auth.username ? { username: auth.username } : {}) };
  }
  if (auth.username) return { username: auth.username, password: auth.password };
  if (auth.auth) return decodeBasicAuth(auth.auth, "auth.auth");
  return undefined;
}

/**
 * Applies a CRI AuthConfig the way containerd does: to every endpoint of the pull (mirrors too)
 * unless it names a server_address, then to that host only.
 */
export function criAuthLookup(auth: AuthConfig | undefined): CredentialsLookup | undefined {
  const credentials = credentialsFromCriAuth(auth);
  if (!credentials) return undefined;
  const only = auth?.serverAddress ? credentialsKey(auth.serverAddress) : undefined;
  return async (host) => (only === undefined || only === credentialsKey(host) ? credentials : undefined);
}

interface DockerAuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
  registrytoken?: unknown;
}

/** Looks hosts up in a Docker-style config.json, read on each call so edits apply at once. A
 * missing file has no credentials; a malformed one is an error naming the file. */
export function dockerConfigLookup(path: string): CredentialsLookup {
  return async (host) => {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new InvalidArgumentError(path, `not valid JSON: ${(err as Error).message}`);
    }
    const auths = (doc as { auths?: unknown } | null)?.auths;
    if (auths === null || typeof auths !== "object") return undefined;
    const wanted = credentialsKey(host);
    for (const [address, entry] of Object.entries(auths as Record<string, unknown>)) {
      if (credentialsKey(address) !== wanted || entry === null || typeof entry !== "object") continue;
      return dockerEntryCredentials(entry as DockerAuthEntry, `${path} auths["${address}"]`);
    }
    return undefined;
  };
}

function dockerEntryCredentials(entry: DockerAuthEntry, field: string): RegistryCredentials | undefined {
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  const registryToken = str(entry.registrytoken);
  if (registryToken) return { registryToken };
  const basic = str(entry.auth) ? decodeBasicAuth(str(entry.auth)!, `${field}.auth`) : undefined;
  const username = str(entry.username) ?? basic?.username;
  const password = str(entry.password) ?? basic?.password;
  const identityToken = str(entry.identitytoken);
  if (identityToken) return { identityToken, ...(username ? { username } : {}) };
  if (username !== undefined) return { username, password: password ?? "" };
  return undefined;
}

/** Tries each lookup in turn; the first with credentials for the host wins. */
export function chainLookups(...lookups: (CredentialsLookup | undefined)[]): CredentialsLookup {
  const present = lookups.filter((l): l is CredentialsLookup => l !== undefined);
  return async (host) => {
    for (const lookup of present) {
      const found = await lookup(host);
      if (found) return found;
    }
    return undefined;
  };
}

/** What kind of credentials these are, for logs and errors; never the secret itself. */
export function describeCredentials(credentials: RegistryCredentials | undefined): string {
  if (!credentials) return "anonymous";
  if (credentials.registryToken) return "registry token";
  if (credentials.identityToken) return "identity token";
  return `user "${credentials.username ?? ""}"`;
}

/** A stable, non-reversible key for caching tokens obtained with these credentials. */
export function credentialsFingerprint(credentials: RegistryCredentials | undefined): string {
  if (!credentials) return "anonymous";
  return createHash("sha256")
    .update(
      JSON.stringify([
        credentials.username,
        credentials.password,
        credentials.identityToken,
        credentials.registryToken,
      ]),
    )
    .digest("hex")
    .slice(0, 32);
}
