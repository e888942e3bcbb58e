// The TCP probe against real sockets on 127.0.0.1.
import { createServer, type AddressInfo, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runTcpSocketProbe } from "../../../probes/handlers/tcp-socket.js";

let server: Server | undefined;

async function listen(): Promise<{ port: number; accepted: () => number }> {
  let count = 0;
  server = createServer((socket) => {
    count++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return { port: (server.address() as AddressInfo).port, accepted: () => count };
}

async function stop(): Promise<void> {
  const current = server;
  server = undefined;
  if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
}

afterEach(stop);

describe("tcpSocket probe", () => {
  it("passes when the port accepts a connection, and closes it", async () => {
    const { port, accepted } = await listen();
    expect(await runTcpSocketProbe({ host: "127.0.0.1", port }, undefined, 1)).toEqual({
      result: "success",
      output: "",
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(accepted()).toBe(1);
  });

  it("uses the pod IP when the probe names no host", async () => {
    const { port } = await listen();
    expect((await runTcpSocketProbe({ port }, "127.0.0.1", 1)).result).toBe("success");
    expect(await runTcpSocketProbe({ port }, undefined, 1)).toMatchObject({ result: "unknown" });
  });

  it("fails when nothing listens on the port", async () => {
    const { port } = await listen();
    await stop();
    const outcome = await runTcpSocketProbe({ host: "127.0.0.1", port }, undefined, 1);
    expect(outcome.result).toBe("failure");
    expect(outcome.output).toBe(`dial tcp 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`);
  });
});
