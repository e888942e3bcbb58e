// The platform an image must be built for to run on this host, in OCI's os/architecture words.
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** Node's architecture names in OCI's (and Go's) words, which images and node info use. */
const NODE_TO_OCI_ARCH: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
};

export function ociArchitecture(nodeArch: string = process.arch): string {
  return NODE_TO_OCI_ARCH[nodeArch] ?? nodeArch;
}

export function hostPlatform(): Platform {
  return { os: "linux", architecture: ociArchitecture() };
}

/** Why an image config's platform cannot run on `host`, or undefined when it can (or says none). */
export function platformMismatch(config: Record<string, unknown>, host: Platform): string | undefined {
  if (typeof config.os !== "string" || typeof config.architecture !== "string") return undefined;
  const image: Platform = {
    os: config.os,
    architecture: config.architecture,
    ...(typeof config.variant === "string" ? { variant: config.variant } : {}),
  };
  if (platformMatches(image, host)) return undefined;
  return `${formatPlatform(image)}, this host runs ${formatPlatform(host)}`;
}

export function platformMatches(candidate: Platform, wanted: Platform): boolean {
  if (candidate.os !== wanted.os || candidate.architecture !== wanted.architecture) return false;
  return !candidate.variant || !wanted.variant || candidate.variant === wanted.variant;
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`;
}
