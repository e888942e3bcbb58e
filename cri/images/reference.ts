// Image references in the grammar Docker and containerd share, normalized the way they
// normalize them: "busybox" is "docker.io/library/busybox:latest". Pure functions.
import { echo, InvalidArgumentError } from "../../common/errors.js";

export const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const OFFICIAL_REPO_PREFIX = "library/";
export const DEFAULT_TAG = "latest";
const MAX_NAME_LENGTH = 255;

const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`,
);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
const ANCHORED_ID = /^[a-f0-9]{64}$/;

export interface ImageReference {
  /** Registry host, with port when given, e.g. "docker.io" or "localhost:5000". */
  domain: string;
  /** Repository path within the registry, e.g. "library/busybox". */
  path: string;
  tag?: string;
  /** "<algorithm>:<hex>". */
  digest?: string;
}

/**
 * Parses `ref` fully qualified, keeping tag and digest as given (no default tag added).
 * Throws InvalidArgumentError naming `field` when `ref` is not a valid reference.
 */
export function parseReference(ref: string, field: string): ImageReference {
  const invalid = (problem: string): never => {
    throw new InvalidArgumentError(field, `invalid image reference "${echo(ref)}": ${problem}`);
  };
  if (ref === "") invalid("empty");
  if (ref !== ref.trim()) invalid("surrounding whitespace");

  let remainder = ref;
  let digest: string | undefined;
  const at = remainder.indexOf("@");
  if (at >= 0) {
    digest = remainder.slice(at + 1);
    remainder = remainder.slice(0, at);
    validateDigest(digest, invalid);
  }

  let tag: string | undefined;
  const colon = remainder.lastIndexOf(":");
  if (colon > remainder.lastIndexOf("/")) {
    tag = remainder.slice(colon + 1);
    remainder = remainder.slice(0, colon);
    if (!TAG.test(tag)) invalid(`tag "${echo(tag)}" is not valid`);
  }

  if (remainder === "") invalid("no repository name");
  if (ANCHORED_ID.test(remainder)) {
    invalid("a 64-hex string is an image id, not a repository name");
  }

  let { domain, path } = splitDomain(remainder);
  if (domain === LEGACY_DEFAULT_DOMAIN) domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes("/")) path = OFFICIAL_REPO_PREFIX + path;

  if (!DOMAIN.test(domain)) invalid(`registry "${echo(domain)}" is not a valid host`);
  const port = /:(\d+)$/.exec(domain)?.[1];
  if (port !== undefined && !isPort(port)) invalid(`registry port ${echo(port)} is not in 1-65535`);
  if (path !== path.toLowerCase()) invalid("repository name must be lowercase");
  for (const component of path.split("/")) {
    if (!PATH_COMPONENT.test(component))
      invalid(`repository path component "${echo(component)}" is not valid`);
  }
  if (domain.length + 1 + path.length > MAX_NAME_LENGTH) {
    invalid(`repository name longer than ${MAX_NAME_LENGTH} characters`);
  }
  return { domain, path, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

function isPort(digits: string): boolean {
  const n = Number(digits);
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

/** The first component names a registry only when it looks like a host: it has a dot, a port or
 * uppercase letters, or is "localhost". Otherwise the image lives on Docker Hub. */
function splitDomain(name: string): { domain: string; path: string } {
  const slash = name.indexOf("/");
  if (slash < 0) return { domain: DEFAULT_DOMAIN, path: name };
  const first = name.slice(0, slash);
  const looksLikeHost = /[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase();
  if (!looksLikeHost) return { domain: DEFAULT_DOMAIN, path: name };
  return { domain: first, path: name.slice(slash + 1) };
}

function validateDigest(digest: string, invalid: (problem: string) => never): void {
  const match = DIGEST.exec(digest);
  if (!match) invalid(`digest "${echo(digest)}" is not valid`);
  const [, algorithm, hex] = match!;
  const expectedLength = DIGEST_HEX_LENGTH[algorithm!];
  if (expectedLength === undefined) invalid(`digest algorithm "${echo(algorithm!)}" is not supported`);
  if (!new RegExp(`^[a-f0-9]{${expectedLength}}$`).test(hex!)) {
    invalid(`digest "${echo(digest)}" must be ${expectedLength} lowercase hex characters`);
  }
}

/**
 * The form containerd stores and reports: fully qualified, ":latest" added when neither tag nor
 * digest is given, and the tag dropped when a digest is given (the digest alone pins the image).
 */
export function normalizeReference(ref: string, field: string): ImageReference {
  const parsed = parseReference(ref, field);
  if (parsed.digest !== undefined) return { domain: parsed.domain, path: parsed.path, digest: parsed.digest };
  return { ...parsed, tag: parsed.tag ?? DEFAULT_TAG };
}

/** "domain/path", the repository without tag or digest. */
export function repositoryName(ref: ImageReference): string {
  return `${ref.domain}/${ref.path}`;
}

export function formatReference(ref: ImageReference): string {
  return (
    repositoryName(ref) +
    (ref.tag !== undefined ? `:${ref.tag}` : "") +
    (ref.digest !== undefined ? `@${ref.digest}` : "")
  );
}

/** Shorthand for formatReference(normalizeReference(ref, field)). */
export function normalizeReferenceString(ref: string, field: string): string {
  return formatReference(normalizeReference(ref, field));
}

/** The short form people type: Docker Hub's domain and "library/" dropped. */
export function familiarName(ref: ImageReference): string {
  let name = ref.domain === DEFAULT_DOMAIN ? ref.path : repositoryName(ref);
  if (ref.domain === DEFAULT_DOMAIN && name.startsWith(OFFICIAL_REPO_PREFIX)) {
    const rest = name.slice(OFFICIAL_REPO_PREFIX.length);
    if (!rest.includes("/")) name = rest;
  }
  return (
    name + (ref.tag !== undefined ? `:${ref.tag}` : "") + (ref.digest !== undefined ? `@${ref.digest}` : "")
  );
}
