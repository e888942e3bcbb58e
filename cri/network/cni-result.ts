// Reading the pod's addresses out of a CNI result. Results since spec 0.3.0 list `ips`
// with an index into `interfaces`; 0.1.0/0.2.0 results carry `ip4`/`ip6` objects.
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function withoutPrefix(cidr: string): string {
  const slash = cidr.indexOf("/");
  return slash < 0 ? cidr : cidr.slice(0, slash);
}

/**
 * The addresses a result gives the pod, without prefix length. When the result says which
 * interface each address is on, only those on an interface inside the sandbox count (a
 * bridge's own address may be listed too).
 */
export function podIpsFromResult(result: unknown): string[] {
  if (!isRecord(result)) return [];
  const ips = result.ips;
  if (Array.isArray(ips)) {
    const interfaces = Array.isArray(result.interfaces) ? result.interfaces : [];
    const inSandbox = (index: unknown): boolean => {
      if (typeof index !== "number") return true;
      const iface: unknown = interfaces[index];
      return !isRecord(iface) || (typeof iface.sandbox === "string" && iface.sandbox !== "");
    };
    return ips
      .filter((ip): ip is Record<string, unknown> => isRecord(ip) && typeof ip.address === "string")
      .filter((ip) => inSandbox(ip.interface))
      .map((ip) => withoutPrefix(ip.address as string));
  }
  const legacy: string[] = [];
  for (const key of ["ip4", "ip6"]) {
    const entry = result[key];
    if (isRecord(entry) && typeof entry.ip === "string") legacy.push(withoutPrefix(entry.ip));
  }
  return legacy;
}
