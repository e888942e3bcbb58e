// Facts about the node the pod layer needs and the config does not give.
import { networkInterfaces } from "node:os";

/** The node's address as the kubelet reports it: its first non-internal IPv4 address, else 127.0.0.1. */
export function hostIPv4Addresses(): string[] {
  const addresses = Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .filter((a) => a.family === "IPv4" && !a.internal)
    .map((a) => a.address);
  return addresses.length > 0 ? addresses.slice(0, 1) : ["127.0.0.1"];
}
