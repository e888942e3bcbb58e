import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../../common/errors.js";
import { ContainerConfig, PodSandboxConfig } from "../../../../cri/api/generated/api.js";
import {
  MAX_ANNOTATIONS_BYTES,
  MAX_CONFIG_BYTES,
  MAX_LABELS_BYTES,
} from "../../../../cri/runtime/config-limits.js";
import {
  validateContainerConfig,
  validatePodSandboxConfig,
} from "../../../../cri/runtime/validate-config.js";

type SandboxPartial = Parameters<typeof PodSandboxConfig.fromPartial>[0];
type ContainerPartial = Parameters<typeof ContainerConfig.fromPartial>[0];

function sandbox(partial: SandboxPartial = {}): PodSandboxConfig {
  return PodSandboxConfig.fromPartial({
    metadata: { name: "web", namespace: "default", uid: "0b1c", attempt: 0 },
    hostname: "web",
    ...partial,
  });
}

function container(partial: ContainerPartial = {}): ContainerConfig {
  return ContainerConfig.fromPartial({ metadata: { name: "app" }, image: { image: "busybox" }, ...partial });
}

function refusal(fn: () => unknown): InvalidArgumentError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return err as InvalidArgumentError;
  }
  throw new Error("expected the config to be refused");
}

/** A map whose keys and values total `bytes` bytes, spread over 64 KiB values. */
function mapOf(bytes: number): Record<string, string> {
  const map: Record<string, string> = {};
  for (let i = 0; bytes > 0; i++) {
    const key = `k${String(i).padStart(4, "0")}`;
    const value = "v".repeat(Math.max(0, Math.min(64 * 1024, bytes - key.length)));
    map[key] = value;
    bytes -= key.length + value.length;
  }
  return map;
}

describe("labels and annotations", () => {
  it.each([
    [
      "sandbox",
      (p: { labels?: Record<string, string>; annotations?: Record<string, string> }) =>
        validatePodSandboxConfig(sandbox(p)),
    ],
    [
      "container",
      (p: { labels?: Record<string, string>; annotations?: Record<string, string> }) =>
        validateContainerConfig(container(p)),
    ],
  ])("a %s may carry 256 KiB of each, not a byte more", (_kind, validate) => {
    expect(() =>
      validate({ labels: mapOf(MAX_LABELS_BYTES), annotations: mapOf(MAX_ANNOTATIONS_BYTES) }),
    ).not.toThrow();
    expect(refusal(() => validate({ labels: mapOf(MAX_LABELS_BYTES + 1) })).field).toBe("config.labels");
    expect(refusal(() => validate({ annotations: mapOf(MAX_ANNOTATIONS_BYTES + 1) })).field).toBe(
      "config.annotations",
    );
  });

  it("counts bytes, not characters", () => {
    const err = refusal(() =>
      validatePodSandboxConfig(sandbox({ labels: { k: "é".repeat(MAX_LABELS_BYTES / 2) } })),
    );
    expect(err.field).toBe("config.labels");
    expect(err.message).toContain(`limit of ${MAX_LABELS_BYTES} bytes`);
  });
});

describe("lists and total size", () => {
  it("bounds the lists of a container config by count", () => {
    const envs = Array.from({ length: 4097 }, (_, i) => ({ key: `E${i}`, value: "" }));
    expect(refusal(() => validateContainerConfig(container({ envs }))).field).toBe("config.envs");
    const args = Array.from({ length: 4097 }, () => "x");
    expect(refusal(() => validateContainerConfig(container({ args }))).field).toBe("config.args");
    const mounts = Array.from({ length: 257 }, (_, i) => ({ containerPath: `/m${i}`, hostPath: "/tmp" }));
    expect(refusal(() => validateContainerConfig(container({ mounts }))).field).toBe("config.mounts");
  });

  it("bounds the lists of a sandbox config by count", () => {
    const portMappings = Array.from({ length: 1025 }, (_, i) => ({ containerPort: (i % 65535) + 1 }));
    expect(refusal(() => validatePodSandboxConfig(sandbox({ portMappings }))).field).toBe(
      "config.port_mappings",
    );
    const servers = Array.from({ length: 33 }, () => "10.0.0.1");
    expect(refusal(() => validatePodSandboxConfig(sandbox({ dnsConfig: { servers } }))).field).toBe(
      "config.dns_config.servers",
    );
  });

  it("bounds a whole config to 1 MiB encoded", () => {
    const arg = "a".repeat(1024);
    const args = Array.from({ length: 1100 }, () => arg);
    const err = refusal(() => validateContainerConfig(container({ args })));
    expect(err.field).toBe("config");
    expect(err.message).toContain(`limit of ${MAX_CONFIG_BYTES}`);
    expect(() => validateContainerConfig(container({ args: args.slice(0, 900) }))).not.toThrow();
  });
});
