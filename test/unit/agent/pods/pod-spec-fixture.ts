// Pod specs for the pod layer's unit tests, validated as they would be at the edge.
import { validatePod } from "../../../../agent/podspec/parse.js";
import type { PodSpec } from "../../../../agent/podspec/types.js";

export const IMAGE = "berth.test/busybox:1";

export function podSpec(
  name: string,
  spec: Record<string, unknown> = {},
  metadata: Record<string, unknown> = {},
): PodSpec {
  return validatePod({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid: `uid-${name}`, ...metadata },
    spec: {
      containers: [{ name: "app", image: IMAGE, command: ["sleep", "3600"] }],
      ...spec,
    },
  });
}

export function container(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, image: IMAGE, command: ["sleep", "3600"], ...extra };
}
