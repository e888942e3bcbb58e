import { describe, expect, it } from "vitest";
import {
  formatBytes,
  formatDecimal,
  formatMilliCpu,
  parseBytesSetting,
  parseDuration,
  parseMilliCpuSetting,
} from "../../../../agent/node/quantities.js";

describe("node quantities", () => {
  it("prints bytes as Kubernetes prints a BinarySI quantity", () => {
    expect(formatBytes(100 * 1024 * 1024)).toBe("100Mi");
    expect(formatBytes(24_684_084 * 1024)).toBe("24684084Ki");
    expect(formatBytes(83_886_081)).toBe("83886081");
    expect(formatBytes(2 * 1024 ** 3)).toBe("2Gi");
    expect(formatBytes(1536 * 1024 * 1024)).toBe("1536Mi");
    expect(formatBytes(512)).toBe("512");
    expect(formatBytes(1000)).toBe("1k");
    expect(formatBytes(0)).toBe("0");
  });

  it("prints CPU in cores when whole, else millicores", () => {
    expect(formatMilliCpu(2000)).toBe("2");
    expect(formatMilliCpu(1900)).toBe("1900m");
    expect(formatMilliCpu(0)).toBe("0");
    expect(formatDecimal(110)).toBe("110");
  });

  it("parses config quantities, '' being none", () => {
    expect(parseBytesSetting("", "f")).toBe(0);
    expect(parseBytesSetting("1Gi", "f")).toBe(1024 ** 3);
    expect(parseMilliCpuSetting("500m", "f")).toBe(500);
    expect(parseMilliCpuSetting("1", "f")).toBe(1000);
    expect(() => parseBytesSetting("1GB", "reservations: kubeReserved: memory")).toThrow(
      /reservations: kubeReserved: memory/,
    );
    expect(() => parseBytesSetting("-1Gi", "f")).toThrow(/negative/);
  });

  it("parses Go durations", () => {
    expect(parseDuration("5m", "f")).toBe(300_000);
    expect(parseDuration("1m30s", "f")).toBe(90_000);
    expect(parseDuration("1h", "f")).toBe(3_600_000);
    expect(parseDuration("250ms", "f")).toBe(250);
    expect(parseDuration("1.5s", "f")).toBe(1500);
    expect(parseDuration("0", "f")).toBe(0);
    for (const bad of ["", "5", "m", "5 m", "5x", "1m30"]) {
      expect(() => parseDuration(bad, "eviction: pressureTransitionPeriod")).toThrow(
        /pressureTransitionPeriod/,
      );
    }
  });
});
