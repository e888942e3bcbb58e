import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { connect } from "node:net";
import { once } from "node:events";
import { ContainerConfig, ContainerState } from "../../../../cri/api/generated/api.js";
import { silentLogger } from "../../../../common/logger.js";
import { StreamingServer } from "../../../../cri/streaming/streaming-server.js";
import { RuntimeStreamingBackend } from "../../../../cri/streaming/runtime-backend.js";
import { forwardPorts, streamRemoteCommand } from "../../../../agent/cli/stream-client.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { openChannelSession, spdyCommand, upgradeStatus } from "./stream-clients.js";

function containerConfig(
  name: string,
  image: string,
  command: string[],
  extra: Partial<ContainerConfig> = {},
): ContainerConfig {
  return ContainerConfig.fromPartial({
    metadata: { name, attempt: 0 },
    image: { image },
    command,
    logPath: `${name}/0.log`,
    ...extra,
  });
}

async function grpcCode(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return (err as { code?: number }).code;
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the condition");
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sends bytes over a local TCP connection and collects the answer until the peer closes. */
async function roundTrip(port: number, text: string, halfClose = true): Promise<string> {
  const socket = connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  await once(socket, "connect");
  let got = "";
  socket.on("data", (c: Buffer) => (got += c.toString()));
  socket.on("end", () => socket.end());
  socket.write(text);
  if (halfClose) socket.end();
  await once(socket, "close");
  return got;
}

describe("streaming server: exec, attach and port-forward on runc + conmon", () => {
  let h: Harness;
  let server: StreamingServer;
  let podSandboxId: string;
  let main: string; // sleeps; used for exec
  let ticker: string; // prints lines; used for attach
  let web: string; // echo server on 8080 in the pod

  beforeAll(async () => {
    h = await startHarness();
    server = new StreamingServer({
      backend: new RuntimeStreamingBackend(h.runtime.deps),
      logger: silentLogger(),
    });
    await server.start();
    h.runtime.runtimeService.useStreaming(server);
    const image = await h.importBusybox();
    const config = sandboxConfig("streams");
    ({ podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" }));
    const start = async (c: ContainerConfig): Promise<string> => {
      const { containerId } = await h.cri.runtime.createContainer({
        podSandboxId,
        config: c,
        sandboxConfig: config,
      });
      await h.cri.runtime.startContainer({ containerId });
      return containerId;
    };
    main = await start(containerConfig("main", image, ["sleep", "1000"]));
    ticker = await start(
      containerConfig("ticker", image, [
        "sh",
        "-c",
        "i=0; while true; do echo tick $i; echo tock $i >&2; i=$((i+1)); sleep 0.2; done",
      ]),
    );
    web = await start(containerConfig("web", image, ["nc", "-ll", "-p", "8080", "-e", "cat"]));
  });

  afterAll(async () => {
    await server?.close();
    await h?.cleanup();
  });

  it("returns URLs on the streaming server and rejects bad requests with gRPC statuses", async () => {
    const exec = await h.cri.runtime.exec({
      containerId: main,
      cmd: ["true"],
      tty: false,
      stdin: false,
      stdout: true,
      stderr: true,
      auditRequestId: "",
    });
    expect(exec.url).toMatch(new RegExp(`^${server.url}/exec/[A-Za-z0-9_-]{16,}$`));
    const attach = await h.cri.runtime.attach({
      containerId: ticker,
      tty: false,
      stdin: false,
      stdout: true,
      stderr: true,
      auditRequestId: "",
    });
    expect(attach.url).toMatch(/\/attach\/[A-Za-z0-9_-]+$/);
    const pf = await h.cri.runtime.portForward({ podSandboxId, port: [8080] });
    expect(pf.url).toMatch(/\/portforward\/[A-Za-z0-9_-]+$/);

    const base = {
      containerId: main,
      cmd: ["sh"],
      tty: false,
      stdin: false,
      stdout: true,
      stderr: false,
      auditRequestId: "",
    };
    expect(await grpcCode(h.cri.runtime.exec({ ...base, cmd: [] }))).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(await grpcCode(h.cri.runtime.exec({ ...base, tty: true, stderr: true }))).toBe(
      GrpcStatus.INVALID_ARGUMENT,
    );
    expect(await grpcCode(h.cri.runtime.exec({ ...base, stdout: false }))).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(await grpcCode(h.cri.runtime.exec({ ...base, containerId: "" }))).toBe(
      GrpcStatus.INVALID_ARGUMENT,
    );
    expect(await grpcCode(h.cri.runtime.exec({ ...base, containerId: "no-such-container" }))).toBe(
      GrpcStatus.NOT_FOUND,
    );
    expect(await grpcCode(h.cri.runtime.attach({ ...base, containerId: "nope" }))).toBe(GrpcStatus.NOT_FOUND);
    expect(await grpcCode(h.cri.runtime.portForward({ podSandboxId: "nope", port: [80] }))).toBe(
      GrpcStatus.NOT_FOUND,
    );
    expect(await grpcCode(h.cri.runtime.portForward({ podSandboxId, port: [70000] }))).toBe(
      GrpcStatus.INVALID_ARGUMENT,
    );
    expect(await grpcCode(h.cri.runtime.portForward({ podSandboxId: "", port: [] }))).toBe(
      GrpcStatus.INVALID_ARGUMENT,
    );
  });

  it("refuses exec in a container that is not running", async () => {
    const image = await h.importBusybox();
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("done", image, ["true"]),
      sandboxConfig: sandboxConfig("streams"),
    });
    const req = {
      containerId,
      cmd: ["true"],
      tty: false,
      stdin: false,
      stdout: true,
      stderr: false,
      auditRequestId: "",
    };
    expect(await grpcCode(h.cri.runtime.exec(req))).toBe(GrpcStatus.FAILED_PRECONDITION); // created, not started
    await h.cri.runtime.startContainer({ containerId });
    await waitFor(
      async () =>
        (await h.cri.runtime.containerStatus({ containerId, verbose: false })).status?.state ===
        ContainerState.CONTAINER_EXITED,
    );
    expect(await grpcCode(h.cri.runtime.exec(req))).toBe(GrpcStatus.FAILED_PRECONDITION);
    expect(await grpcCode(h.cri.runtime.attach({ ...req }))).toBe(GrpcStatus.FAILED_PRECONDITION);
    await h.cri.runtime.removeContainer({ containerId });
  });

  it("execs without a TTY over WebSocket v5: output, stderr and the exit code", async () => {
    const { url } = await h.cri.runtime.exec({
      containerId: main,
      cmd: ["sh", "-c", "echo out-line; echo err-line >&2; exit 3"],
      tty: false,
      stdin: false,
      stdout: true,
      stderr: true,
      auditRequestId: "",
    });
    const session = await openChannelSession(url);
    const result = await session.result;
    expect(result.protocol).toBe("v5.channel.k8s.io");
    expect(result.stdout).toBe("out-line\n");
    expect(result.stderr).toBe("err-line\n");
    const status = JSON.parse(result.status) as {
      status: string;
      reason: string;
      details: { causes: { reason: string; message: string }[] };
    };
    expect(status.status).toBe("Failure");
    expect(status.reason).toBe("NonZeroExitCode");
    expect(status.details.causes).toEqual([{ reason: "ExitCode", message: "3" }]);
    // The first message opens the lowest output channel, empty.
    expect([...(result.messages[0] ?? [])]).toEqual([1]);
  });

  it("reports success as a Success status and serves older subprotocols", async () => {
    const req = {
      containerId: main,
      cmd: ["echo", "hello"],
      tty: false,
      stdin: false,
      stdout: true,
      stderr: false,
      auditRequestId: "",
    };
    const v4 = await (
      await openChannelSession((await h.cri.runtime.exec(req)).url, ["v4.channel.k8s.io"])
    ).result;
    expect(v4.protocol).toBe("v4.channel.k8s.io");
    expect(v4.stdout).toBe("hello\n");
    expect(JSON.parse(v4.status)).toEqual({ metadata: {}, status: "Success" });
    const v1 = await (
      await openChannelSession((await h.cri.runtime.exec(req)).url, ["channel.k8s.io"])
    ).result;
    expect(v1.stdout).toBe("hello\n");
    expect(v1.status).toBe(""); // before v4, success is an empty error channel
  });

  it("pipes stdin to the process and closes it on the v5 close signal", async () => {
    const { url } = await h.cri.runtime.exec({
      containerId: main,
      cmd: ["sh", "-c", "cat; echo done"],
      tty: false,
      stdin: true,
      stdout: true,
      stderr: true,
      auditRequestId: "",
    });
    const session = await openChannelSession(url);
    session.send(0, "first line\n");
    await session.waitForOutput("first line");
    session.send(0, "second line\n");
    session.send(255, Buffer.from([0]));
    const result = await session.result;
    expect(result.stdout).toBe("first line\nsecond line\ndone\n");
    expect(JSON.parse(result.status).status).toBe("Success");
  });

  it("execs with a TTY: terminal output, stdin, and resizes reach the process", async () => {
    const script = [
      "read line; echo got:$line; busybox stty size",
      "read again",
      'while [ "$(busybox stty size)" != "30 90" ]; do sleep 0.1; done',
      "echo resized; exit 5",
    ].join("; ");
    const { url } = await h.cri.runtime.exec({
      containerId: main,
      cmd: ["sh", "-c", script],
      tty: true,
      stdin: true,
      stdout: true,
      stderr: false,
      auditRequestId: "",
    });
    const session = await openChannelSession(url);
    session.send(4, JSON.stringify({ Width: 123, Height: 45 }));
    session.send(0, "hello\r");
    await session.waitForOutput("45 123"); // the first size is the terminal's from the start
    session.send(0, "x\r");
    // A terminal client sends its size on every SIGWINCH; sizes are idempotent, and on a busy
    // host conmon has been seen to miss one, so keep sending until the process sees it.
    const resize = (): void => session.send(4, JSON.stringify({ Width: 90, Height: 30 }));
    resize();
    const again = setInterval(resize, 500);
    await session.waitForOutput("resized").finally(() => clearInterval(again));
    const result = await session.result;
    expect(result.stdout).toContain("got:hello");
    expect(result.stdout).toMatch(/^hello\r\ngot:hello\r\n45 123\r\n/); // echoed input, CRLF from the pty
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.status).details.causes[0].message).toBe("5");
  });

  it("kills the exec'd process when the client disconnects, with and without a TTY", async () => {
    for (const tty of [false, true]) {
      const marker = tty ? "701" : "702";
      const { url } = await h.cri.runtime.exec({
        containerId: main,
        cmd: ["sleep", marker],
        tty,
        stdin: false,
        stdout: true,
        stderr: false,
        auditRequestId: "",
      });
      const session = await openChannelSession(url);
      const running = async (): Promise<boolean> => {
        const ps = await h.cri.runtime.execSync({
          containerId: main,
          cmd: ["ps", "-o", "args"],
          timeout: 10n,
        });
        return Buffer.from(ps.stdout).toString().includes(`sleep ${marker}`);
      };
      await waitFor(running);
      session.ws.terminate();
      await waitFor(async () => !(await running()));
    }
  });

  it("attaches to a running container's output over WebSocket and SPDY", async () => {
    const { url } = await h.cri.runtime.attach({
      containerId: ticker,
      tty: false,
      stdin: false,
      stdout: true,
      stderr: true,
      auditRequestId: "",
    });
    const session = await openChannelSession(url);
    await session.waitForOutput("tick");
    await session.waitForOutput("tock");
    session.ws.close();
    await session.result;
    expect((await session.result).stdout).toMatch(/tick \d+/);
    expect((await session.result).stderr).toMatch(/tock \d+/);
  });

  it("execs over SPDY/3.1 with v4 streams, including stdin", async () => {
    const req = {
      containerId: main,
      cmd: ["sh", "-c", "cat; echo e >&2; exit 4"],
      tty: false,
      stdin: true,
      stdout: true,
      stderr: true,
      auditRequestId: "",
    };
    const result = await spdyCommand((await h.cri.runtime.exec(req)).url, {
      stdin: "via spdy\n",
      stdout: true,
      stderr: true,
    });
    expect(result.stdout).toBe("via spdy\n");
    expect(result.stderr).toBe("e\n");
    expect(JSON.parse(result.status).details.causes[0].message).toBe("4");

    const tty = {
      containerId: main,
      cmd: ["sh", "-c", "sleep 0.5; busybox stty size"],
      tty: true,
      stdin: false,
      stdout: true,
      stderr: false,
      auditRequestId: "",
    };
    const ttyResult = await spdyCommand((await h.cri.runtime.exec(tty)).url, {
      stdout: true,
      tty: true,
      resize: { Width: 77, Height: 11 },
    });
    expect(ttyResult.stdout).toContain("11 77");
    expect(JSON.parse(ttyResult.status)).toEqual({ metadata: {}, status: "Success" });
  });

  it("forwards ports over SPDY, several connections in one session", async () => {
    const { url } = await h.cri.runtime.portForward({ podSandboxId, port: [8080] });
    const forwarder = await forwardPorts(url, [{ local: 0, remote: 8080 }]);
    try {
      const port = forwarder.ports[0]!.local;
      expect(await roundTrip(port, "ping one")).toBe("ping one");
      expect(await roundTrip(port, "ping two")).toBe("ping two");
      const big = "x".repeat(300_000);
      expect(await roundTrip(port, big)).toBe(big);
    } finally {
      forwarder.close();
      await forwarder.done;
    }
  });

  it("reports an unreachable port on the error stream", async () => {
    const { url } = await h.cri.runtime.portForward({ podSandboxId, port: [] });
    const errors: string[] = [];
    const forwarder = await forwardPorts(url, [{ local: 0, remote: 9 }], {
      onError: (message) => errors.push(message),
    });
    try {
      expect(await roundTrip(forwarder.ports[0]!.local, "anyone?", false)).toBe("");
      await waitFor(async () => errors.length > 0);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/error forwarding port 9 to pod .*Connection refused/);
    } finally {
      forwarder.close();
    }
  });

  it("forwards a port over WebSocket channels", async () => {
    const { url } = await h.cri.runtime.portForward({ podSandboxId, port: [8080] });
    const session = await openChannelSession(url, ["v4.channel.k8s.io"]);
    // The first message on the data and the error channel is the port, little-endian.
    await waitFor(async () => session.messages().length >= 2);
    session.send(0, "over websocket");
    await waitFor(async () => session.dataOn(0).includes("over websocket"));
    session.ws.close();
  });

  it("uses each token once, answers 404 for unknown tokens, and lets a refused upgrade keep it", async () => {
    const { url } = await h.cri.runtime.exec({
      containerId: main,
      cmd: ["true"],
      tty: false,
      stdin: false,
      stdout: true,
      stderr: false,
      auditRequestId: "",
    });
    expect(await upgradeStatus(url, ["no-such-protocol"])).toBe(400); // refused: the token is kept
    expect(await upgradeStatus(url)).toBe(101);
    expect(await upgradeStatus(url)).toBe(404);
    expect(await upgradeStatus(`${server.url}/exec/AAAAAAAAAAAAAAAAAAAAAA`)).toBe(404);
    const attachUrl = (
      await h.cri.runtime.attach({
        containerId: ticker,
        tty: false,
        stdin: false,
        stdout: true,
        stderr: false,
        auditRequestId: "",
      })
    ).url;
    expect(await upgradeStatus(attachUrl.replace("/attach/", "/exec/"))).toBe(404);
  });

  it("runs a session with the CLI client", async () => {
    const { url } = await h.cri.runtime.exec({
      containerId: main,
      cmd: ["sh", "-c", "cat; exit 9"],
      tty: false,
      stdin: true,
      stdout: true,
      stderr: true,
      auditRequestId: "",
    });
    const { PassThrough } = await import("node:stream");
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    let text = "";
    stdout.on("data", (c: Buffer) => (text += c.toString()));
    const code = streamRemoteCommand(url, { stdin, stdout, stderr: stdout, tty: false });
    stdin.end("from the cli\n");
    expect(await code).toBe(9);
    expect(text).toBe("from the cli\n");
  });

  it("keeps the web container serving", async () => {
    const s = await h.cri.runtime.containerStatus({ containerId: web, verbose: false });
    expect(s.status?.state).toBe(ContainerState.CONTAINER_RUNNING);
  });
});
