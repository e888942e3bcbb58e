// kubectl against berth's streaming server, through a stand-in API server that answers
// the pod lookup and hands each upgrade to a fresh Exec/PortForward URL (as the real API
// server proxies to a node). This checks the wire formats against Go's own SPDY, zlib and
// WebSocket code, which berth's own clients cannot.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, type Socket } from "node:net";
import { once } from "node:events";
import { existsSync } from "node:fs";
import type { Duplex } from "node:stream";
import { ContainerConfig } from "../../../../cri/api/generated/api.js";
import { silentLogger } from "../../../../common/logger.js";
import { StreamingServer } from "../../../../cri/streaming/streaming-server.js";
import { RuntimeStreamingBackend } from "../../../../cri/streaming/runtime-backend.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";

const KUBECTL = "/usr/bin/kubectl";

/** Just enough API discovery for kubectl to resolve pods. */
const DISCOVERY: Record<string, object> = {
  "/api": { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] },
  "/apis": { kind: "APIGroupList", apiVersion: "v1", groups: [] },
  "/api/v1": {
    kind: "APIResourceList",
    groupVersion: "v1",
    resources: [
      {
        name: "pods",
        singularName: "pod",
        namespaced: true,
        kind: "Pod",
        verbs: ["get", "list"],
        shortNames: ["po"],
      },
      {
        name: "pods/exec",
        singularName: "",
        namespaced: true,
        kind: "PodExecOptions",
        verbs: ["create", "get"],
      },
      {
        name: "pods/portforward",
        singularName: "",
        namespaced: true,
        kind: "PodPortForwardOptions",
        verbs: ["create", "get"],
      },
    ],
  },
};

describe("kubectl exec and port-forward against berth's streaming server", () => {
  let h: Harness;
  let server: StreamingServer;
  let api: Server;
  let apiUrl = "";
  let podSandboxId = "";
  let containerId = "";
  const upgrades: string[] = [];

  beforeAll(async () => {
    if (!existsSync(KUBECTL))
      throw new Error(`${KUBECTL} is required for the kubectl interoperability tests`);
    h = await startHarness();
    server = new StreamingServer({
      backend: new RuntimeStreamingBackend(h.runtime.deps),
      logger: silentLogger(),
    });
    await server.start();
    h.runtime.runtimeService.useStreaming(server);
    const image = await h.importBusybox();
    const config = sandboxConfig("kubectl");
    ({ podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" }));
    const create = async (name: string, command: string[]): Promise<string> => {
      const c = ContainerConfig.fromPartial({ metadata: { name, attempt: 0 }, image: { image }, command });
      const { containerId: id } = await h.cri.runtime.createContainer({
        podSandboxId,
        config: c,
        sandboxConfig: config,
      });
      await h.cri.runtime.startContainer({ containerId: id });
      return id;
    };
    containerId = await create("main", ["sleep", "1000"]);
    await create("web", ["nc", "-ll", "-p", "8080", "-e", "cat"]);

    api = createServer((req, res) => {
      if (req.method === "GET" && req.url?.startsWith("/api/v1/namespaces/default/pods/kubectl")) {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(
          JSON.stringify({
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: "kubectl", namespace: "default" },
            spec: { containers: [{ name: "main", image: "busybox" }] },
            status: { phase: "Running" },
          }),
        );
        return;
      }
      const discovery = DISCOVERY[(req.url ?? "").split("?")[0] ?? ""];
      if (discovery) {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify(discovery));
        return;
      }
      res.writeHead(404);
      res.end();
    });
    api.on(
      "upgrade",
      (req: IncomingMessage, socket: Duplex, head: Buffer) => void proxyUpgrade(req, socket, head),
    );
    api.listen(0, "127.0.0.1");
    await once(api, "listening");
    apiUrl = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    api?.close();
    await server?.close();
    await h?.cleanup();
  });

  /** Asks berth for a streaming URL matching the request and splices the connection to it. */
  async function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", apiUrl);
    upgrades.push(
      `${url.pathname.split("/").pop()} ${req.headers.upgrade} ${req.headers["sec-websocket-protocol"] ?? req.headers["x-stream-protocol-version"]}`,
    );
    const flag = (name: string): boolean => ["true", "1"].includes(url.searchParams.get(name) ?? "");
    let target: string;
    if (url.pathname.endsWith("/exec")) {
      const tty = flag("tty");
      target = (
        await h.cri.runtime.exec({
          containerId,
          cmd: url.searchParams.getAll("command"),
          tty,
          stdin: flag("stdin"),
          stdout: flag("stdout"),
          stderr: flag("stderr") && !tty,
          auditRequestId: "",
        })
      ).url;
    } else {
      target = (
        await h.cri.runtime.portForward({ podSandboxId, port: url.searchParams.getAll("ports").map(Number) })
      ).url;
    }
    const t = new URL(target);
    const upstream: Socket = connect(Number(t.port), t.hostname);
    await once(upstream, "connect");
    const lines = [`${req.method} ${t.pathname} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i] as string;
      lines.push(`${name}: ${name.toLowerCase() === "host" ? t.host : req.rawHeaders[i + 1]}`);
    }
    upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
    if (head.length) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
    socket.on("error", () => upstream.destroy());
    upstream.on("error", () => socket.destroy());
  }

  for (const [transport, env] of [
    ["WebSocket", {}],
    ["SPDY", { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false" }],
  ] as const) {
    it(`execs with stdin and reports the exit code over ${transport}`, async () => {
      upgrades.length = 0;
      const withInput = await execa(
        KUBECTL,
        [
          "--server",
          apiUrl,
          "--kubeconfig",
          "/dev/null",
          "exec",
          "-i",
          "kubectl",
          "--",
          "sh",
          "-c",
          "cat; echo to-stderr >&2; exit 3",
        ],
        {
          reject: false,
          timeout: 60_000,
          input: "typed input\n",
          env: { HOME: h.root, ...env },
        },
      );
      expect(withInput.stdout, `${withInput.stderr}\n${upgrades.join("\n")}`).toBe("typed input");
      expect(withInput.stderr).toContain("to-stderr");
      expect(withInput.exitCode).toBe(3);
      const expected =
        transport === "SPDY" ? /exec SPDY\/3\.1 v5\.channel\.k8s\.io/ : /exec websocket v5\.channel\.k8s\.io/;
      expect(upgrades.join("\n")).toMatch(expected);
    });
  }

  for (const [transport, env] of [
    ["a WebSocket tunnel", {}],
    ["SPDY", { KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" }],
  ] as const) {
    it(`forwards a port over ${transport}`, async () => {
      upgrades.length = 0;
      const child = execa(
        KUBECTL,
        ["--server", apiUrl, "--kubeconfig", "/dev/null", "port-forward", "pod/kubectl", ":8080"],
        {
          reject: false,
          env: { HOME: h.root, ...env },
        },
      );
      try {
        let output = "";
        const port = await new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`kubectl printed: ${output}`)), 30_000);
          child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
          child.stdout?.on("data", (d: Buffer) => {
            output += d.toString();
            const m = /127\.0\.0\.1:(\d+) -> 8080/.exec(output);
            if (m) {
              clearTimeout(timer);
              resolve(Number(m[1]));
            }
          });
        });
        for (const text of ["first", "second"]) {
          const socket = connect(port, "127.0.0.1");
          await once(socket, "connect");
          let got = "";
          socket.on("data", (d: Buffer) => {
            got += d.toString();
            if (got === text) socket.end();
          });
          socket.write(text);
          await once(socket, "close");
          expect(got).toBe(text);
        }
        expect(upgrades.join("\n")).toMatch(
          transport === "SPDY"
            ? /portforward SPDY\/3\.1 portforward\.k8s\.io/
            : /portforward websocket SPDY\/3\.1\+portforward\.k8s\.io/,
        );
      } finally {
        child.kill("SIGTERM");
        await child;
      }
    });
  }
});
