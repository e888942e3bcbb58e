// Port forwarding: each forwarded connection is one bridge process that connects to
// 127.0.0.1:<port> inside the pod's network namespace (through nsenter) and carries the
// bytes both ways, with half-close. It is killed when the client's side goes away. Pods
// on the host network are reached directly.
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { spawnBridge } from "./socket-bridge.js";

export interface PortForwardTarget {
  /** undefined: the pod uses the host's network. */
  netnsPath?: string;
  perlBinary: string;
  nsenterBinary: string;
}

/**
 * Connects `client` to the port; resolves when both directions are done, rejects with a
 * message for the client when the port cannot be reached.
 */
export function forwardPort(
  target: PortForwardTarget,
  port: number,
  client: Duplex,
  signal: AbortSignal,
): Promise<void> {
  if (!target.netnsPath) return forwardOnHost(port, client, signal);
  const bridge = spawnBridge("tcp", String(port), {
    perlBinary: target.perlBinary,
    netnsPath: target.netnsPath,
    nsenterBinary: target.nsenterBinary,
  });
  return new Promise((resolve, reject) => {
    let stderr = "";
    let sentAny = false;
    bridge.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    bridge.stdin.on("error", () => undefined);
    bridge.stdout.on("data", () => (sentAny = true));
    client.pipe(bridge.stdin);
    bridge.stdout.pipe(client);
    const kill = (): void => {
      if (bridge.exitCode === null && bridge.signalCode === null) bridge.kill("SIGKILL");
    };
    signal.addEventListener("abort", kill, { once: true });
    client.once("close", kill);
    bridge.on("error", (err) => reject(new Error(`cannot start the port-forward helper: ${err.message}`)));
    bridge.once("close", (code) => {
      signal.removeEventListener("abort", kill);
      client.unpipe(bridge.stdin);
      if (code !== 0 && code !== null && !sentAny) {
        reject(new Error(stderr.trim() || `port-forward helper exited with status ${code}`));
      } else resolve();
    });
  });
}

function forwardOnHost(port: number, client: Duplex, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
    let connected = false;
    const kill = (): void => void socket.destroy();
    signal.addEventListener("abort", kill, { once: true });
    client.once("close", kill);
    socket.once("connect", () => {
      connected = true;
      client.pipe(socket);
      socket.pipe(client);
    });
    socket.on("error", (err) => {
      if (!connected) reject(new Error(`connect to 127.0.0.1:${port}: ${err.message}`));
    });
    socket.once("close", () => {
      signal.removeEventListener("abort", kill);
      client.unpipe(socket);
      resolve();
    });
  });
}
