// HTTP and gRPC probes announce themselves, so that a server can tell probe traffic apart
// (and, say, leave it out of its access log), as it can with the kubelet's "kube-probe/<ver>".
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PROBE_USER_AGENT_PRODUCT = "berth-probe";

let cachedUserAgent: string | undefined;

/** `berth-probe/<version>`, with berth's version from its package.json. */
export function defaultProbeUserAgent(): string {
  cachedUserAgent ??= `${PROBE_USER_AGENT_PRODUCT}/${findBerthVersion(dirname(fileURLToPath(import.meta.url)))}`;
  return cachedUserAgent;
}

// The module runs from the source tree under test and from dist/ once built, at different
// depths, so the package.json is looked for upwards rather than at a fixed relative path.
function findBerthVersion(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      if (isBerthPackage(pkg)) return pkg.version;
    } catch {
      // No readable package.json here: keep looking upwards.
    }
    if (dirname(dir) === dir) return "unknown";
  }
}

function isBerthPackage(pkg: unknown): pkg is { version: string } {
  if (typeof pkg !== "object" || pkg === null) return false;
  const fields = pkg as { name?: unknown; version?: unknown };
  return fields.name === "berth" && typeof fields.version === "string";
}
