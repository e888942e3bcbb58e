// The HTTP probe against real servers on 127.0.0.1.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runHttpGetProbe } from "../../../probes/handlers/http-get.js";
import type { HttpGetAction } from "../../../probes/spec.js";

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
}

type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;

interface TestServer {
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

const servers: TestServer[] = [];

async function serve(
  routes: Record<string, Route>,
  tls?: { key: Buffer; cert: Buffer },
): Promise<TestServer> {
  const seen: Seen[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    seen.push({ url: req.url ?? "", headers: req.headers, rawHeaders: req.rawHeaders });
    const route = routes[(req.url ?? "").split("?")[0] as string];
    if (route) route(req, res);
    else res.writeHead(404).end("not found");
  };
  const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const testServer: TestServer = {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  servers.push(testServer);
  return testServer;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const action = (port: number, overrides: Partial<HttpGetAction> = {}): HttpGetAction => ({
  scheme: "HTTP",
  host: "127.0.0.1",
  path: "/",
  port,
  httpHeaders: [],
  ...overrides,
});

const text =
  (status: number, body: string, headers: Record<string, string> = {}): Route =>
  (_req, res) => {
    res.writeHead(status, headers).end(body);
  };

describe("httpGet probe", () => {
  it("passes on 200 with the body as output and sends berth's default headers", async () => {
    const server = await serve({ "/healthz": text(200, "all good") });
    const outcome = await runHttpGetProbe(action(server.port, { path: "/healthz" }), undefined, 1);
    expect(outcome).toEqual({ result: "success", output: "all good" });
    const [request] = server.seen;
    expect(request?.headers["user-agent"]).toMatch(/^berth-probe\/\d+\.\d+\.\d+/);
    expect(request?.headers["accept"]).toBe("*/*");
    expect(request?.headers["connection"]).toBe("close");
    expect(request?.headers["host"]).toBe(`127.0.0.1:${server.port}`);
  });

  it("runs the same probe spec again against a new pod IP and with a new User-Agent", async () => {
    const server = await serve({ "/": text(200, "ok") });
    const probe: HttpGetAction = { scheme: "HTTP", path: "/", port: server.port, httpHeaders: [] };
    expect((await runHttpGetProbe(probe, "127.0.0.1", 1, { userAgent: "first" })).result).toBe("success");
    // Nothing listens on 127.0.0.2: a run that reused the first address would pass.
    expect((await runHttpGetProbe(probe, "127.0.0.2", 1, { userAgent: "first" })).result).toBe("failure");
    expect((await runHttpGetProbe(probe, "127.0.0.1", 1, { userAgent: "second" })).result).toBe("success");
    expect(server.seen.map((s) => s.headers["user-agent"])).toEqual(["first", "second"]);
  });

  it("passes on other 2xx codes and fails on 4xx and 5xx", async () => {
    const server = await serve({
      "/created": text(204, ""),
      "/missing": text(404, "nope"),
      "/broken": text(500, "boom"),
    });
    expect((await runHttpGetProbe(action(server.port, { path: "/created" }), undefined, 1)).result).toBe(
      "success",
    );
    expect(await runHttpGetProbe(action(server.port, { path: "/missing" }), undefined, 1)).toEqual({
      result: "failure",
      output: "HTTP probe failed with statuscode: 404",
    });
    expect(await runHttpGetProbe(action(server.port, { path: "/broken" }), undefined, 1)).toEqual({
      result: "failure",
      output: "HTTP probe failed with statuscode: 500",
    });
  });

  it("sends custom headers, lets them override the defaults and the Host, and drops an empty Accept", async () => {
    const server = await serve({ "/": text(200, "ok") });
    const outcome = await runHttpGetProbe(
      action(server.port, {
        httpHeaders: [
          { name: "X-Custom", value: "one" },
          { name: "x-custom", value: "two" },
          { name: "User-Agent", value: "my-agent" },
          { name: "Host", value: "svc.example:8443" },
          { name: "Accept", value: "" },
        ],
      }),
      undefined,
      1,
    );
    expect(outcome.result).toBe("success");
    const request = server.seen[0];
    expect(request?.headers["host"]).toBe("svc.example:8443");
    expect(request?.headers["user-agent"]).toBe("my-agent");
    expect(request?.headers["accept"]).toBeUndefined();
    expect(request?.headers["x-custom"]).toBe("one, two");
  });

  it("uses the pod IP when the probe names no host, and a path without a leading slash", async () => {
    const server = await serve({ "/ready": text(200, "ready") });
    const outcome = await runHttpGetProbe(
      action(server.port, { host: undefined, path: "ready?verbose=1" }),
      "127.0.0.1",
      1,
    );
    expect(outcome).toEqual({ result: "success", output: "ready" });
    expect(server.seen[0]?.url).toBe("/ready?verbose=1");
    expect(await runHttpGetProbe(action(server.port, { host: undefined }), undefined, 1)).toMatchObject({
      result: "unknown",
    });
  });

  it("follows a redirect on the same host, keeping a Host override for a relative Location", async () => {
    const server = await serve({
      "/old": text(302, "moved", { Location: "/new" }),
      "/new": text(200, "new place"),
    });
    const outcome = await runHttpGetProbe(
      action(server.port, { path: "/old", httpHeaders: [{ name: "Host", value: "app.example" }] }),
      undefined,
      1,
    );
    expect(outcome).toEqual({ result: "success", output: "new place" });
    expect(server.seen.map((s) => [s.url, s.headers["host"]])).toEqual([
      ["/old", "app.example"],
      ["/new", "app.example"],
    ]);
  });

  it("follows an absolute redirect to another port of the same host", async () => {
    const target = await serve({ "/there": text(200, "other port") });
    const server = await serve({ "/": text(301, "", { Location: `http://127.0.0.1:${target.port}/there` }) });
    expect(await runHttpGetProbe(action(server.port), undefined, 1)).toEqual({
      result: "success",
      output: "other port",
    });
    expect(target.seen).toHaveLength(1);
  });

  it("does not follow a redirect to another host, and passes with a warning", async () => {
    const server = await serve({
      "/": text(302, "see elsewhere", { Location: "http://other.invalid/login" }),
    });
    const outcome = await runHttpGetProbe(action(server.port), undefined, 1);
    expect(outcome).toEqual({
      result: "success",
      warning: true,
      output: "Probe terminated redirects, Response body: see elsewhere",
    });
    expect(server.seen).toHaveLength(1);
  });

  it("fails after 10 requests of redirects", async () => {
    const server = await serve({ "/loop": text(307, "", { Location: "/loop" }) });
    const outcome = await runHttpGetProbe(action(server.port, { path: "/loop" }), undefined, 2);
    expect(outcome.result).toBe("failure");
    expect(outcome.output).toContain("stopped after 10 redirects");
    expect(server.seen).toHaveLength(10);
  });

  it("fails when the server does not answer within the timeout", async () => {
    const server = await serve({ "/slow": () => undefined });
    const started = Date.now();
    const outcome = await runHttpGetProbe(action(server.port, { path: "/slow" }), undefined, 1);
    expect(outcome.result).toBe("failure");
    expect(outcome.output).toBe(`Get "http://127.0.0.1:${server.port}/slow": timed out after 1s`);
    // The timeout is enforced: the probe does not wait for the server that never answers.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("fails when the body stalls past the timeout", async () => {
    const server = await serve({
      "/": (_req, res) => {
        res.writeHead(200, { "Content-Length": "100" });
        res.write("partial");
      },
    });
    const outcome = await runHttpGetProbe(action(server.port), undefined, 1);
    expect(outcome).toMatchObject({
      result: "failure",
      output: expect.stringContaining("timed out after 1s"),
    });
  });

  it("reads at most 10 KiB of body", async () => {
    const server = await serve({ "/": text(200, "x".repeat(64 * 1024)) });
    const outcome = await runHttpGetProbe(action(server.port), undefined, 1);
    expect(outcome.result).toBe("success");
    expect(outcome.output).toHaveLength(10 * 1024);
  });

  it("fails when nothing listens", async () => {
    const server = await serve({});
    const port = server.port;
    await server.close();
    const outcome = await runHttpGetProbe(action(port), undefined, 1);
    expect(outcome.result).toBe("failure");
    expect(outcome.output).toContain("ECONNREFUSED");
  });
});

describe("httpGet probe over HTTPS", () => {
  let dir: string;
  let tls: { key: Buffer; cert: Buffer };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "berth-probe-tls-"));
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
      ].concat(["-subj", "/CN=probe-test", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")]),
      { stdio: "ignore" },
    );
    tls = { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) };
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("does not verify the certificate, as probes check health, not identity", async () => {
    const server = await serve({ "/": text(200, "secure") }, tls);
    expect(await runHttpGetProbe(action(server.port, { scheme: "HTTPS" }), undefined, 1)).toEqual({
      result: "success",
      output: "secure",
    });
  });

  it("follows a same-host redirect from HTTP to HTTPS", async () => {
    const secure = await serve({ "/": text(200, "upgraded") }, tls);
    const plain = await serve({ "/": text(308, "", { Location: `https://127.0.0.1:${secure.port}/` }) });
    expect(await runHttpGetProbe(action(plain.port), undefined, 1)).toEqual({
      result: "success",
      output: "upgraded",
    });
  });
});
