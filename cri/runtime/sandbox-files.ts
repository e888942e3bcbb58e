// The files every container of a sandbox shares: /etc/hostname, /etc/hosts and
// /etc/resolv.conf, written from the sandbox config.
import { writeFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import { hostname as osHostname } from "node:os";
import type { PodSandboxConfig } from "../api/generated/api.js";

export interface SandboxFiles {
  hostnamePath: string;
  hostsPath: string;
  resolvConfPath: string;
}

export function sandboxFilePaths(dir: string): SandboxFiles {
  return {
    hostnamePath: join(dir, "hostname"),
    hostsPath: join(dir, "hosts"),
    resolvConfPath: join(dir, "resolv.conf"),
  };
}

export async function writeSandboxFiles(
  dir: string,
  config: PodSandboxConfig,
  hostNetwork: boolean,
  hostResolvConf = "/etc/resolv.conf",
): Promise<SandboxFiles> {
  const paths = sandboxFilePaths(dir);
  const hostname = hostNetwork ? osHostname() : config.hostname || config.metadata?.name || "localhost";
  await writeFile(paths.hostnamePath, `${hostname}\n`, { mode: 0o644 });
  const hosts = [
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "fe00::0\tip6-mcastprefix",
    "fe00::1\tip6-allnodes",
    "fe00::2\tip6-allrouters",
  ];
  if (hostNetwork) {
    // Host-network pods see the node's own hosts file, as with kubelet.
    await writeFile(
      paths.hostsPath,
      await readFile("/etc/hosts", "utf8").catch(() => hosts.join("\n") + "\n"),
      {
        mode: 0o644,
      },
    );
  } else {
    await writeFile(paths.hostsPath, hosts.join("\n") + "\n", { mode: 0o644 });
  }
  await writeFile(paths.resolvConfPath, await resolvConf(config, hostResolvConf), { mode: 0o644 });
  return paths;
}

/** The pod's resolv.conf: DnsConfig when given, else the host's (as kubelet's "Default" policy). */
async function resolvConf(config: PodSandboxConfig, hostResolvConf: string): Promise<string> {
  const dns = config.dnsConfig;
  if (!dns || (dns.servers.length === 0 && dns.searches.length === 0 && dns.options.length === 0)) {
    return await readFile(hostResolvConf, "utf8").catch(() => "");
  }
  const lines: string[] = [];
  if (dns.searches.length > 0) lines.push(`search ${dns.searches.join(" ")}`);
  for (const server of dns.servers) lines.push(`nameserver ${server}`);
  if (dns.options.length > 0) lines.push(`options ${dns.options.join(" ")}`);
  return lines.join("\n") + "\n";
}

export function sandboxInfraDir(dir: string): string {
  return join(dir, "infra");
}
