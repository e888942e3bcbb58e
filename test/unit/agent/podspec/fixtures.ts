// Builds validated PodSpecs from short descriptions, for tests of the formulas.
import { validatePod } from "../../../../agent/podspec/parse.js";
import type { PodSpec } from "../../../../agent/podspec/types.js";

export interface ContainerResources {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

export function podWith(
  containers: ContainerResources[],
  initContainers: ContainerResources[] = [],
  specExtra: Record<string, unknown> = {},
): PodSpec {
  const toContainer = (prefix: string) => (r: ContainerResources, i: number) => ({
    name: `${prefix}${i}`,
    image: "busybox:1.36",
    ...((r.requests !== undefined || r.limits !== undefined) && { resources: r }),
  });
  return validatePod(
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "p", uid: "uid-1" },
      spec: {
        containers: containers.map(toContainer("app")),
        initContainers: initContainers.map(toContainer("init")),
        ...specExtra,
      },
    },
    { generateUid: () => "unused" },
  );
}
