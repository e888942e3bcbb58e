import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../common/errors.js";
import { handlerName, normalizeProbe, PROBE_DEFAULTS, type ProbeInput } from "../../../probes/spec.js";

const PREFIX = "spec.containers[1].livenessProbe";

function invalid(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new Error("expected an InvalidArgumentError");
}

describe("normalizeProbe defaults", () => {
  it("fills kubelet's defaults for a bare tcpSocket probe", () => {
    expect(normalizeProbe("liveness", { tcpSocket: { port: 8080 } })).toEqual({
      tcpSocket: { port: 8080 },
      initialDelaySeconds: 0,
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
    expect(PROBE_DEFAULTS).toMatchObject({
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
  });

  it("treats 0 like unset for fields with a default, as Kubernetes does", () => {
    const probe = normalizeProbe("readiness", {
      exec: { command: ["true"] },
      timeoutSeconds: 0,
      periodSeconds: 0,
      successThreshold: 0,
      failureThreshold: 0,
    });
    expect(probe).toMatchObject({
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 1,
      failureThreshold: 3,
    });
  });

  it("keeps given values", () => {
    const probe = normalizeProbe("readiness", {
      grpc: { port: 9000, service: "api" },
      initialDelaySeconds: 5,
      timeoutSeconds: 2,
      periodSeconds: 3,
      successThreshold: 2,
      failureThreshold: 7,
    });
    expect(probe).toEqual({
      grpc: { port: 9000, service: "api" },
      initialDelaySeconds: 5,
      timeoutSeconds: 2,
      periodSeconds: 3,
      successThreshold: 2,
      failureThreshold: 7,
    });
  });

  it("defaults httpGet scheme, path and headers, and grpc service", () => {
    expect(normalizeProbe("startup", { httpGet: { port: 80 } })).toMatchObject({
      httpGet: { scheme: "HTTP", path: "/", port: 80, httpHeaders: [] },
    });
    expect(normalizeProbe("startup", { grpc: { port: 80 } })).toMatchObject({
      grpc: { port: 80, service: "" },
    });
  });

  it("keeps terminationGracePeriodSeconds on liveness and startup probes", () => {
    const probe = normalizeProbe("liveness", { tcpSocket: { port: 1 }, terminationGracePeriodSeconds: 5 });
    expect(probe.terminationGracePeriodSeconds).toBe(5);
  });

  it("is idempotent on its own output", () => {
    const once = normalizeProbe("readiness", {
      httpGet: { port: 8080, path: "/healthz", httpHeaders: [{ name: "X-A", value: "1" }], host: "10.0.0.1" },
      successThreshold: 2,
    });
    expect(normalizeProbe("readiness", once)).toEqual(once);
  });

  it("names the handler", () => {
    expect(handlerName(normalizeProbe("liveness", { exec: { command: ["x"] } }))).toBe("exec");
    expect(handlerName(normalizeProbe("liveness", { httpGet: { port: 1 } }))).toBe("httpGet");
    expect(handlerName(normalizeProbe("liveness", { tcpSocket: { port: 1 } }))).toBe("tcpSocket");
    expect(handlerName(normalizeProbe("liveness", { grpc: { port: 1 } }))).toBe("grpc");
  });
});

describe("normalizeProbe validation", () => {
  const tcp = { tcpSocket: { port: 80 } };

  it("reports the field path under the caller's prefix", () => {
    const err = invalid(() => normalizeProbe("liveness", { ...tcp, periodSeconds: -1 }, PREFIX));
    expect(err.field).toBe(`${PREFIX}.periodSeconds`);
    expect(err.message).toBe(`${PREFIX}.periodSeconds: must be >= 1`);
  });

  it.each<[string, ProbeInput]>([
    ["initialDelaySeconds", { ...tcp, initialDelaySeconds: -1 }],
    ["timeoutSeconds", { ...tcp, timeoutSeconds: -3 }],
    ["failureThreshold", { ...tcp, failureThreshold: -1 }],
    ["successThreshold", { ...tcp, successThreshold: -1 }],
    ["periodSeconds", { ...tcp, periodSeconds: 1.5 }],
  ])("rejects a bad %s", (field, input) => {
    expect(invalid(() => normalizeProbe("readiness", input, PREFIX)).field).toBe(`${PREFIX}.${field}`);
  });

  it("requires successThreshold 1 for liveness and startup but not readiness", () => {
    for (const kind of ["liveness", "startup"] as const) {
      const err = invalid(() => normalizeProbe(kind, { ...tcp, successThreshold: 2 }, PREFIX));
      expect(err.field).toBe(`${PREFIX}.successThreshold`);
      expect(err.message).toContain("must be 1");
    }
    expect(normalizeProbe("readiness", { ...tcp, successThreshold: 2 }).successThreshold).toBe(2);
  });

  it("rejects terminationGracePeriodSeconds on readiness probes and values below 1", () => {
    expect(
      invalid(() => normalizeProbe("readiness", { ...tcp, terminationGracePeriodSeconds: 5 }, "p")).field,
    ).toBe("p.terminationGracePeriodSeconds");
    expect(
      invalid(() => normalizeProbe("liveness", { ...tcp, terminationGracePeriodSeconds: 0 }, "p")).message,
    ).toBe("p.terminationGracePeriodSeconds: must be >= 1");
  });

  it("requires exactly one handler", () => {
    expect(invalid(() => normalizeProbe("liveness", {}, "p")).message).toContain("must specify a handler");
    expect(
      invalid(() => normalizeProbe("liveness", { tcpSocket: { port: 1 }, exec: { command: ["x"] } }, "p"))
        .message,
    ).toContain("more than 1 handler");
  });

  it("checks exec commands", () => {
    expect(invalid(() => normalizeProbe("liveness", { exec: { command: [] } }, "p")).field).toBe(
      "p.exec.command",
    );
    expect(invalid(() => normalizeProbe("liveness", { exec: {} }, "p")).field).toBe("p.exec.command");
    expect(invalid(() => normalizeProbe("liveness", { exec: { command: [""] } }, "p")).field).toBe(
      "p.exec.command[0]",
    );
  });

  it.each<[string, ProbeInput]>([
    ["httpGet.port", { httpGet: {} }],
    ["httpGet.port", { httpGet: { port: 0 } }],
    ["httpGet.port", { httpGet: { port: 65536 } }],
    ["tcpSocket.port", { tcpSocket: { port: 8.5 } }],
    ["grpc.port", { grpc: { port: -1 } }],
    ["httpGet.scheme", { httpGet: { port: 80, scheme: "FTP" } }],
    ["httpGet.scheme", { httpGet: { port: 80, scheme: "http" } }],
    ["httpGet.host", { httpGet: { port: 80, host: "a b" } }],
    [
      "httpGet.httpHeaders[1].name",
      { httpGet: { port: 80, httpHeaders: [{ name: "Ok", value: "" }, { name: "Bad Name" }] } },
    ],
    [
      "httpGet.httpHeaders[0].value",
      { httpGet: { port: 80, httpHeaders: [{ name: "X", value: "a\r\nInjected: 1" }] } },
    ],
  ])("rejects a bad %s", (field, input) => {
    expect(invalid(() => normalizeProbe("readiness", input, "spec.readinessProbe")).field).toBe(
      `spec.readinessProbe.${field}`,
    );
  });

  it("names the probe itself when no prefix is given", () => {
    expect(invalid(() => normalizeProbe("liveness", { ...tcp, failureThreshold: -2 })).field).toBe(
      "failureThreshold",
    );
  });
});
