import { describe, expect, it } from "vitest";
import type { PodEvent } from "../../../../agent/api/generated/berth.js";
import { describePod, describeProbe, formatTime } from "../../../../agent/cli/describe-pod.js";
import { alignTabs } from "../../../../agent/cli/tab-writer.js";
import { podFromJson, podToJson } from "../../../../agent/node-api/pod-json.js";
import { validatePod } from "../../../../agent/podspec/parse.js";
import type { Probe } from "../../../../agent/podspec/types.js";
import { viewOf } from "../node-api/fake-pod-manager.js";
import { NOW, ago, running, status, terminated } from "./pod-fixtures.js";

const spec = validatePod({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "web",
    namespace: "shop",
    uid: "0c6f4e3a-1b2c-4d5e-8f90-123456789abc",
    labels: { app: "web", tier: "front" },
    annotations: { owner: "team-a" },
  },
  spec: {
    initContainers: [{ name: "migrate", image: "busybox:1.36", command: ["sh", "-c", "echo migrate"] }],
    containers: [
      {
        name: "nginx",
        image: "nginx:1.25",
        ports: [{ containerPort: 8080 }],
        resources: { limits: { cpu: "500m", memory: "128Mi" }, requests: { cpu: "250m" } },
        livenessProbe: { httpGet: { path: "/healthz", port: 8080 } },
        readinessProbe: {
          exec: { command: ["cat", "/tmp/ready"] },
          initialDelaySeconds: 5,
          periodSeconds: 5,
        },
        startupProbe: { tcpSocket: { port: 8080 }, failureThreshold: 30 },
        env: [
          { name: "MODE", value: "production" },
          { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        ],
        volumeMounts: [{ name: "cache", mountPath: "/var/cache/nginx" }],
      },
    ],
    volumes: [
      { name: "cache", emptyDir: { sizeLimit: "1Gi" } },
      { name: "logs", hostPath: { path: "/var/log/web", type: "DirectoryOrCreate" } },
    ],
  },
});

const view = viewOf(
  spec,
  { kind: "api" },
  {
    phase: "Running",
    startTime: "2026-03-01T11:00:00.000Z",
    hostIP: "192.0.2.10",
    podIP: "10.88.0.9",
    podIPs: [{ ip: "10.88.0.9" }],
    conditions: [
      { type: "Initialized", status: "True", lastTransitionTime: ago(3500) },
      { type: "Ready", status: "True", lastTransitionTime: ago(60) },
      { type: "ContainersReady", status: "True", lastTransitionTime: ago(60) },
      { type: "PodScheduled", status: "True", lastTransitionTime: ago(3600) },
    ],
    initContainerStatuses: [
      status("migrate", terminated(0, "Completed", 3500), { containerID: "berth://aaa" }),
    ],
    containerStatuses: [
      status("nginx", running(60), {
        ready: true,
        started: true,
        restartCount: 1,
        lastState: terminated(137, "OOMKilled", 61),
        containerID: "berth://bbb",
        image: "nginx:1.25",
        imageID: "sha256:nginx",
      }),
    ],
  },
);

const events: PodEvent[] = [
  {
    time: ago(3600),
    type: "Normal",
    reason: "Scheduled",
    message: "Successfully assigned shop/web to node-1",
    fieldPath: "",
    count: 1,
  },
  {
    time: ago(61),
    type: "Warning",
    reason: "OOMKilling",
    message: "Memory limit reached, killed nginx ",
    fieldPath: "spec.containers{nginx}",
    count: 1,
  },
  {
    time: ago(60),
    type: "Normal",
    reason: "Pulled",
    message: 'Container image "nginx:1.25" already present on machine',
    fieldPath: "spec.containers{nginx}",
    count: 2,
  },
];

describe("describePod", () => {
  it("renders the pod as kubectl describe does", () => {
    const text = describePod(podFromJson(podToJson(view)), events, {
      now: NOW,
      nodeName: "node-1",
      utc: true,
    });
    expect(text).toBe(`Name:         web
Namespace:    shop
Node:         node-1/192.0.2.10
Start Time:   Sun, 01 Mar 2026 11:00:00 +0000
Labels:       app=web
              tier=front
Annotations:  owner: team-a
Status:       Running
IP:           10.88.0.9
IPs:
  IP:  10.88.0.9
Init Containers:
  migrate:
    Container ID:  berth://aaa
    Image:         busybox:1.36
    Image ID:      sha256:0123
    Port:          <none>
    Host Port:     <none>
    Command:
      sh
      -c
      echo migrate
    State:          Terminated
      Reason:       Completed
      Exit Code:    0
      Started:      Sun, 01 Mar 2026 11:01:30 +0000
      Finished:     Sun, 01 Mar 2026 11:01:40 +0000
    Ready:          False
    Restart Count:  0
    Environment:    <none>
    Mounts:         <none>
Containers:
  nginx:
    Container ID:   berth://bbb
    Image:          nginx:1.25
    Image ID:       sha256:nginx
    Port:           8080/TCP
    Host Port:      0/TCP
    State:          Running
      Started:      Sun, 01 Mar 2026 11:59:00 +0000
    Last State:     Terminated
      Reason:       OOMKilled
      Exit Code:    137
      Started:      Sun, 01 Mar 2026 11:58:49 +0000
      Finished:     Sun, 01 Mar 2026 11:58:59 +0000
    Ready:          True
    Restart Count:  1
    Limits:
      cpu:     500m
      memory:  128Mi
    Requests:
      cpu:      250m
      memory:   128Mi
    Liveness:   http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3
    Readiness:  exec [cat /tmp/ready] delay=5s timeout=1s period=5s #success=1 #failure=3
    Startup:    tcp-socket :8080 delay=0s timeout=1s period=10s #success=1 #failure=30
    Environment:
      MODE:      production
      POD_NAME:  web (v1:metadata.name)
    Mounts:
      /var/cache/nginx from cache (rw)
Conditions:
  Type              Status
  Initialized       True 
  Ready             True 
  ContainersReady   True 
  PodScheduled      True 
Volumes:
  cache:
    Type:       EmptyDir (a temporary directory that shares a pod's lifetime)
    Medium:     
    SizeLimit:  1Gi
  logs:
    Type:          HostPath (bare host directory volume)
    Path:          /var/log/web
    HostPathType:  DirectoryOrCreate
QoS Class:         Burstable
Events:
  Type     Reason      Age       From   Message
  ----     ------      ----      ----   -------
  Normal   Scheduled   60m       berth  Successfully assigned shop/web to node-1
  Warning  OOMKilling  61s       berth  Memory limit reached, killed nginx
  Normal   Pulled      60s (x2)  berth  Container image "nginx:1.25" already present on machine
`);
  });

  it("shows a terminating pod, a waiting container, and no events", () => {
    const pending = viewOf(
      spec,
      { kind: "file", path: "/etc/berth/manifests/web.yaml" },
      {
        phase: "Running",
        containerStatuses: [
          status("nginx", { waiting: { reason: "CrashLoopBackOff", message: "back-off 5m0s" } }),
        ],
      },
    );
    const text = describePod(podFromJson(podToJson({ ...pending, terminating: true })), [], {
      now: NOW,
      utc: true,
    });
    expect(text).toContain("Node:                      <none>\n");
    expect(text).toContain("Status:                    Terminating\nTermination Grace Period:  30s\n");
    expect(text).toContain("Source:                    file /etc/berth/manifests/web.yaml\n");
    expect(text).toContain(
      "    State:          Waiting\n      Reason:       CrashLoopBackOff\n      Message:      back-off 5m0s\n",
    );
    expect(text).toContain("IPs:                       <none>\n");
    // Go's tabwriter aligns the last volume line, QoS Class and Events as one block.
    expect(text.endsWith("QoS Class:         Burstable\nEvents:            <none>\n")).toBe(true);
  });
});

describe("describeProbe", () => {
  const probe = (handler: Probe["handler"]): Probe => ({
    handler,
    initialDelaySeconds: 3,
    timeoutSeconds: 2,
    periodSeconds: 15,
    successThreshold: 1,
    failureThreshold: 4,
  });
  const attrs = "delay=3s timeout=2s period=15s #success=1 #failure=4";
  it.each([
    [
      probe({
        type: "httpGet",
        path: "/ready",
        port: "http",
        scheme: "HTTPS",
        host: "10.0.0.1",
        httpHeaders: [],
      }),
      `http-get https://10.0.0.1:http/ready ${attrs}`,
    ],
    [
      probe({ type: "httpGet", path: "/", port: 80, scheme: "HTTP", host: "::1", httpHeaders: [] }),
      `http-get http://[::1]:80/ ${attrs}`,
    ],
    [probe({ type: "tcpSocket", port: 5432 }), `tcp-socket :5432 ${attrs}`],
    [probe({ type: "grpc", port: 9000, service: "health" }), `grpc <pod>:9000 health ${attrs}`],
    [probe({ type: "exec", command: ["pg_isready", "-q"] }), `exec [pg_isready -q] ${attrs}`],
  ])("%#: %s", (p, text) => {
    expect(describeProbe(p)).toBe(text);
  });
});

describe("alignTabs (Go tabwriter rules)", () => {
  it("aligns each column over the consecutive lines that have it", () => {
    expect(alignTabs("a:\t1\nlonger:\t2\nbreak\nx:\t3\n")).toBe("a:       1\nlonger:  2\nbreak\nx:  3\n");
  });
  it("aligns nested columns within their block and pads short lines' last cell", () => {
    expect(alignTabs("Type\tStatus\nReady \tTrue \n")).toBe("Type    Status\nReady   True \n");
    expect(alignTabs("a\tb\tc\naa\tbbb\tc\nx\ty\n")).toBe("a   b    c\naa  bbb  c\nx   y\n");
  });
});

describe("formatTime", () => {
  it("prints RFC 1123 with a numeric zone", () => {
    expect(formatTime("2026-03-01T07:05:09.123Z", true)).toBe("Sun, 01 Mar 2026 07:05:09 +0000");
    expect(formatTime("not a time", true)).toBe("not a time");
  });
});
