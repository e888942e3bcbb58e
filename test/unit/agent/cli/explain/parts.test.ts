// The pieces the diagnosis is worded with: event matching, probe phrases, times and sizes,
// reading back the eviction message, and the log tail and stats the command gathers.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  containerOf,
  normalizeEvents,
  oomEventKind,
  oomFigures,
  probeFailureOf,
  throttlingFigures,
} from "../../../../../agent/cli/explain/events.js";
import {
  binaryBytes,
  clockTime,
  goDurationMs,
  parseIecBytes,
  quantityBytes,
  quantityMilli,
} from "../../../../../agent/cli/explain/format.js";
import { readLogTail, usageOf } from "../../../../../agent/cli/explain/gather.js";
import { describeEviction } from "../../../../../agent/cli/explain/pod-level.js";
import { probeOutcome, probeTarget, type ProbeJson } from "../../../../../agent/cli/explain/probes.js";
import { NOW, at, event } from "./fixtures.js";

const probe = (handler: ProbeJson["handler"]): ProbeJson => ({
  handler,
  initialDelaySeconds: 0,
  timeoutSeconds: 1,
  periodSeconds: 10,
  successThreshold: 1,
  failureThreshold: 3,
});

describe("events", () => {
  it("reads the container of a field path", () => {
    expect(containerOf("spec.containers{web}")).toBe("web");
    expect(containerOf("spec.initContainers{setup}")).toBe("setup");
    expect(containerOf("")).toBeUndefined();
  });

  it("keeps the latest snapshot of each event, oldest first", () => {
    const a = event("BackOff", "x", { container: "app", time: "12:00:00", count: 1 });
    const a2 = event("BackOff", "x", { container: "app", time: "12:01:00", count: 2 });
    const b = event("Started", "y", { container: "app", time: "12:00:30" });
    expect(normalizeEvents([a2, b, a, a2])).toEqual([b, a2]);
  });

  it("parses probe failures", () => {
    expect(
      probeFailureOf(
        event("Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 500", {
          time: "12:00:00",
        }),
      ),
    ).toEqual({
      kind: "Readiness",
      output: "HTTP probe failed with statuscode: 500",
      errored: false,
    });
    expect(
      probeFailureOf(
        event("Unhealthy", "Liveness probe errored and resulted in unknown state: exec failed: boom", {
          time: "12:00:00",
        }),
      ),
    ).toEqual({ kind: "Liveness", output: "exec failed: boom", errored: true });
    expect(probeFailureOf(event("Unhealthy", "Liveness probe failed: ", { time: "12:00:00" }))?.output).toBe(
      "",
    );
    expect(
      probeFailureOf(event("Killing", "Liveness probe failed: x", { time: "12:00:00" })),
    ).toBeUndefined();
  });

  it("tells container OOM kills from process OOM kills", () => {
    const e = (reason: string, message: string) => event(reason, message, { time: "12:00:00" });
    expect(
      oomEventKind(e("OOMKilling", "the container's main process was killed by the kernel's OOM killer")),
    ).toBe("container-killed");
    expect(
      oomEventKind(
        e(
          "OOMKilling",
          "the kernel's OOM killer killed a process in the container; the main process is still running",
        ),
      ),
    ).toBe("process-killed");
    expect(oomEventKind(e("ProcessOOMKilled", "oom"))).toBe("process-killed");
    expect(oomEventKind(e("BackOff", "oom"))).toBeUndefined();
    expect(
      oomFigures("out of memory (memory limit 128.0 MiB, peak 127.5 MiB, usage at the kill 126.0 MiB)"),
    ).toEqual({
      limit: "128.0 MiB",
      peak: "127.5 MiB",
      usage: "126.0 MiB",
    });
  });

  it("reads throttling figures", () => {
    expect(
      throttlingFigures("CPU throttled in 45% of CFS periods over the last 60 s (27 of 60 periods)"),
    ).toEqual({
      percent: 45,
      window: "60 s",
    });
  });
});

describe("probe phrases", () => {
  it("names what the probe checks", () => {
    expect(
      probeTarget(probe({ type: "httpGet", path: "/healthz", port: 8080, scheme: "HTTP", httpHeaders: [] })),
    ).toBe("http-get :8080/healthz");
    expect(
      probeTarget(probe({ type: "httpGet", path: "ok", port: "http", scheme: "HTTPS", httpHeaders: [] })),
    ).toBe("http-get https://:http/ok");
    expect(probeTarget(probe({ type: "exec", command: ["cat", "/tmp/healthy"] }))).toBe(
      "exec [cat /tmp/healthy]",
    );
    expect(probeTarget(probe({ type: "tcpSocket", port: 5432 }))).toBe("tcp-socket :5432");
    expect(probeTarget(probe({ type: "grpc", port: 9090, service: "health" }))).toBe("grpc :9090 health");
  });

  it("says what went wrong", () => {
    const exec = probe({ type: "exec", command: ["false"] });
    expect(probeOutcome("HTTP probe failed with statuscode: 503", undefined)).toBe("returned 503");
    expect(
      probeOutcome('Get "http://10.0.0.1:80/": dial tcp 10.0.0.1:80: connect: connection refused', undefined),
    ).toBe("connection refused");
    expect(probeOutcome("", exec)).toBe("exited non-zero");
    expect(probeOutcome("not ready yet\nmore", exec)).toBe("failed: not ready yet");
    expect(probeOutcome("probe did not finish within 1000ms", undefined)).toBe(
      "probe did not finish within 1000ms",
    );
  });
});

describe("format", () => {
  it("writes times of today as a clock, of other days with the date", () => {
    const clock = { now: NOW, utc: true };
    expect(clockTime(at("12:01:03"), clock)).toBe("12:01:03");
    expect(clockTime("2026-02-28T23:59:59Z", clock)).toBe("Feb 28 23:59:59");
    expect(clockTime("2025-12-31T08:00:00Z", clock)).toBe("Dec 31 2025 08:00:00");
  });

  it("writes and reads sizes and durations", () => {
    expect(binaryBytes(126 * 1024 * 1024)).toBe("126Mi");
    expect(binaryBytes(1.5 * 1024 ** 3)).toBe("1.5Gi");
    expect(binaryBytes(512)).toBe("512B");
    expect(parseIecBytes("126.0 MiB")).toBe(126 * 1024 * 1024);
    expect(parseIecBytes("512 B")).toBe(512);
    expect(quantityBytes("128Mi")).toBe(128 * 1024 * 1024);
    expect(quantityBytes(undefined)).toBeUndefined();
    expect(quantityMilli("500m")).toBe(500);
    expect(quantityMilli("2")).toBe(2000);
    expect(goDurationMs("1m20s")).toBe(80_000);
    expect(goDurationMs("5m0s")).toBe(300_000);
    expect(goDurationMs("soon")).toBeUndefined();
  });
});

describe("describeEviction", () => {
  it("reads each eviction message shape", () => {
    expect(
      describeEviction(
        "The node was low on resource: ephemeral-storage. Threshold quantity: 1Gi, available: 512Mi. Container a was using 2Gi, request is 0. Container b was using 1Gi, request is 100Mi.",
      ),
    ).toBe(
      "node was low on ephemeral-storage (ephemeral-storage available 512Mi < 1Gi); container a used 2Gi over its request of 0; container b used 1Gi over its request of 100Mi",
    );
    expect(
      describeEviction(
        "The node was low on resource: memory. Pods stalled on memory 35% of the time (PSI full avg10), threshold: 20%.",
      ),
    ).toBe("node was low on memory (pods stalled on memory 35% of the time > 20%)");
    expect(describeEviction("The node was low on resource: pids.")).toBe("node was low on pids");
    expect(describeEviction("something else")).toBeUndefined();
  });
});

describe("gathering", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-explain-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads the last lines of a CRI log, joining partial lines", async () => {
    const path = join(dir, "0.log");
    const entries = [
      "2026-03-01T12:00:00.000000001Z stdout F one",
      "2026-03-01T12:00:00.000000002Z stdout F two",
      "2026-03-01T12:00:00.000000003Z stderr F three",
      "2026-03-01T12:00:00.000000004Z stdout P fo",
      "2026-03-01T12:00:00.000000005Z stdout F ur",
      "2026-03-01T12:00:00.000000006Z stderr F five",
      "2026-03-01T12:00:00.000000007Z stdout F six",
    ];
    await writeFile(path, entries.join("\n") + "\n");
    expect(await readLogTail(path, 5)).toEqual(["two", "three", "four", "five", "six"]);
    await writeFile(path, "");
    expect(await readLogTail(path, 5)).toEqual([]);
  });

  it("maps a CRI stats record to usage", () => {
    expect(
      usageOf("app", {
        attributes: { id: "abc", labels: {}, annotations: {} },
        memory: {
          timestamp: 1_772_366_700_000_000_000n,
          workingSetBytes: { value: 100n * 1024n * 1024n },
          availableBytes: { value: 28n * 1024n * 1024n },
        },
        cpu: { timestamp: 1_772_366_700_000_000_000n, usageNanoCores: { value: 250_000_000n } },
      }),
    ).toEqual({
      name: "app",
      containerId: "abc",
      sampledAt: 1_772_366_700_000,
      workingSetBytes: 100 * 1024 * 1024,
      memoryLimitBytes: 128 * 1024 * 1024,
      cpuNanoCores: 250_000_000,
    });
  });
});
