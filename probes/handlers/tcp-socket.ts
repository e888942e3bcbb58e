// The TCP probe: healthy when a connection opens within the timeout. Nothing is sent; the
// connection is closed as soon as it is made.
import { connect, isIPv6 } from "node:net";
import type { HandlerOutcome } from "../outcome.js";
import type { TcpSocketAction } from "../spec.js";

export async function runTcpSocketProbe(
  action: TcpSocketAction,
  podIP: string | undefined,
  timeoutSeconds: number,
): Promise<HandlerOutcome> {
  const host = action.host ?? podIP;
  if (!host) return { result: "unknown", output: "tcpSocket probe has no host and the pod has no IP" };
  const address = `${isIPv6(host) ? `[${host}]` : host}:${action.port}`;

  return new Promise((resolve) => {
    const socket = connect({ host, port: action.port });
    const finish = (outcome: HandlerOutcome): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(
      () => finish({ result: "failure", output: `dial tcp ${address}: timed out after ${timeoutSeconds}s` }),
      timeoutSeconds * 1000,
    );
    socket.once("connect", () => finish({ result: "success", output: "" }));
    socket.on("error", (err) => finish({ result: "failure", output: `dial tcp ${address}: ${err.message}` }));
  });
}
