import { describe, expect, it } from "vitest";
import {
  type NodeAllocatable,
  type PodRuntimeFacts,
  resolveFieldRef,
  resolveResourceFieldRef,
} from "../../../../agent/podspec/downward-api.js";
import { validatePod } from "../../../../agent/podspec/parse.js";
import { parseQuantity } from "../../../../agent/podspec/quantity.js";

const pod = validatePod(
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "web",
      namespace: "shop",
      uid: "u-1",
      labels: { app: "web" },
      annotations: { note: "hi" },
    },
    spec: {
      serviceAccountName: "sa",
      containers: [
        {
          name: "web",
          image: "nginx",
          resources: { requests: { cpu: "250m", memory: "100Mi" }, limits: { memory: "256Mi" } },
          env: [
            { name: "N", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "L", valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
            { name: "M", valueFrom: { fieldRef: { fieldPath: "metadata.labels['missing']" } } },
            { name: "A", valueFrom: { fieldRef: { fieldPath: "metadata.annotations['note']" } } },
            { name: "IPS", valueFrom: { fieldRef: { fieldPath: "status.podIPs" } } },
            { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
            {
              name: "MEM_MI",
              valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } },
            },
            { name: "CPU_M", valueFrom: { resourceFieldRef: { resource: "requests.cpu", divisor: "1m" } } },
            { name: "CPU", valueFrom: { resourceFieldRef: { resource: "requests.cpu" } } },
            { name: "CPU_LIMIT", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } },
            {
              name: "SIDE_MEM",
              valueFrom: { resourceFieldRef: { containerName: "side", resource: "requests.memory" } },
            },
          ],
        },
        { name: "side", image: "busybox", resources: { requests: { memory: "1Ki" } } },
      ],
    },
  },
  { generateUid: () => "unused" },
);

const facts: PodRuntimeFacts = {
  nodeName: "node-1",
  podIPs: ["10.0.0.5", "fd00::5"],
  hostIPs: ["192.168.1.2"],
};
const allocatable: NodeAllocatable = {
  cpu: parseQuantity("4"),
  memory: parseQuantity("8Gi"),
  ephemeralStorage: parseQuantity("100Gi"),
};

function valueOf(name: string): string {
  const web = pod.containers[0]!;
  const env = web.env.find((e) => e.name === name);
  if (env === undefined || !("valueFrom" in env)) throw new Error(`no ${name}`);
  const source = env.valueFrom;
  return source.type === "fieldRef"
    ? resolveFieldRef(source, pod, facts)
    : resolveResourceFieldRef(source, pod, web, allocatable);
}

describe("downward API values", () => {
  it.each([
    ["N", "web"],
    ["L", "web"],
    ["M", ""],
    ["A", "hi"],
    ["IPS", "10.0.0.5,fd00::5"],
    ["NODE", "node-1"],
    ["MEM_MI", "256"],
    ["CPU_M", "250"],
    ["CPU", "1"], // 250m rounds up to one core
    ["CPU_LIMIT", "4"], // no limit: the node's allocatable cpu
    ["SIDE_MEM", "1024"],
  ])("%s = %s", (name, expected) => {
    expect(valueOf(name)).toBe(expected);
  });
});
