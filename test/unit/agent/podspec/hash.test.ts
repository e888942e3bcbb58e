import { describe, expect, it } from "vitest";
import { podSpecHash } from "../../../../agent/podspec/hash.js";
import { validatePod } from "../../../../agent/podspec/parse.js";
import type { PodSpec } from "../../../../agent/podspec/types.js";

function pod(container: Record<string, unknown>): PodSpec {
  return validatePod(
    { apiVersion: "v1", kind: "Pod", metadata: { name: "p", uid: "u" }, spec: { containers: [container] } },
    { generateUid: () => "unused" },
  );
}

const base = {
  name: "app",
  image: "nginx:1.25",
  env: [{ name: "A", value: "1" }],
  resources: { limits: { memory: "1Gi", cpu: "1" } },
};

describe("podSpecHash", () => {
  const hash = podSpecHash(pod(base).containers[0]!);

  it("is a stable short hex string", () => {
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(podSpecHash(pod(base).containers[0]!)).toBe(hash);
  });

  it("ignores key order and how a quantity is written", () => {
    const reordered = {
      resources: { limits: { cpu: "1000m", memory: "1073741824" } },
      env: [{ value: "1", name: "A" }],
      image: "nginx:1.25",
      name: "app",
    };
    expect(podSpecHash(pod(reordered).containers[0]!)).toBe(hash);
  });

  it("ignores whether a default was written out", () => {
    const explicit = {
      ...base,
      imagePullPolicy: "IfNotPresent",
      terminationMessagePath: "/dev/termination-log",
    };
    expect(podSpecHash(pod(explicit).containers[0]!)).toBe(hash);
  });

  it.each([
    ["image", { image: "nginx:1.26" }],
    ["env", { env: [{ name: "A", value: "2" }] }],
    [
      "env order",
      {
        env: [
          { name: "A", value: "1" },
          { name: "B", value: "1" },
        ],
      },
    ],
    ["limits", { resources: { limits: { memory: "2Gi", cpu: "1" } } }],
    ["command", { command: ["sh"] }],
    ["probe", { livenessProbe: { tcpSocket: { port: 80 } } }],
  ])("changes when %s changes", (_name, change) => {
    expect(podSpecHash(pod({ ...base, ...change }).containers[0]!)).not.toBe(hash);
  });

  it("hashes a whole pod too", () => {
    const a = pod(base);
    expect(podSpecHash(a)).toBe(podSpecHash(pod(base)));
    expect(podSpecHash(a)).not.toBe(podSpecHash(pod({ ...base, name: "other" })));
  });
});
