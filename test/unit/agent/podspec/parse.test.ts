import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { InvalidArgumentError } from "../../../../common/errors.js";
import { parsePodManifest, validatePod } from "../../../../agent/podspec/parse.js";
import { PodSpecInvalidError } from "../../../../agent/podspec/field-errors.js";
import { quantityToBytes, quantityToMilli } from "../../../../agent/podspec/quantity.js";
import { defaultImagePullPolicy } from "../../../../agent/podspec/decode-container.js";

const fixedUid = { generateUid: () => "11111111-2222-3333-4444-555555555555" };

const REALISTIC = `
apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: shop
  uid: 7f1c0e9a-0c2b-4c55-9a57-1f1f8a0b0c0d
  labels:
    app.kubernetes.io/name: web
    tier: frontend
  annotations:
    example.com/owner: team-a
  resourceVersion: "12345"
  creationTimestamp: "2024-05-01T10:00:00Z"
spec:
  nodeName: node-1
  serviceAccountName: web
  priorityClassName: high
  priority: 1000
  restartPolicy: Always
  terminationGracePeriodSeconds: 45
  activeDeadlineSeconds: 3600
  hostname: web-0
  subdomain: web
  dnsPolicy: None
  dnsConfig:
    nameservers: [10.96.0.10]
    searches: [shop.svc.cluster.local, svc.cluster.local.]
    options:
      - name: ndots
        value: "5"
      - name: edns0
  nodeSelector:
    kubernetes.io/os: linux
  tolerations:
    - key: dedicated
      operator: Exists
  affinity:
    nodeAffinity: {}
  securityContext:
    runAsUser: 1000
    runAsGroup: 1000
    runAsNonRoot: true
    fsGroup: 2000
    supplementalGroups: [3000, 3001]
    sysctls:
      - name: net.ipv4.ip_local_port_range
        value: "1024 65535"
    seccompProfile:
      type: RuntimeDefault
  volumes:
    - name: cache
      emptyDir:
        medium: Memory
        sizeLimit: 64Mi
    - name: config
      hostPath:
        path: /etc/web
        type: Directory
    - name: scratch
  initContainers:
    - name: migrate
      image: registry.local:5000/web/migrate@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      command: ["/bin/migrate"]
      args: ["--up"]
      resources:
        limits:
          cpu: "1"
          memory: 256Mi
  containers:
    - name: web
      image: nginx:1.25
      ports:
        - name: http
          containerPort: 8080
        - name: metrics
          containerPort: 9090
          protocol: TCP
          hostPort: 19090
          hostIP: 127.0.0.1
      env:
        - name: MODE
          value: production
        - name: POD_NAME
          valueFrom:
            fieldRef:
              fieldPath: metadata.name
        - name: APP_LABEL
          valueFrom:
            fieldRef:
              apiVersion: v1
              fieldPath: metadata.labels['app.kubernetes.io/name']
        - name: MEM_LIMIT_MI
          valueFrom:
            resourceFieldRef:
              resource: limits.memory
              divisor: 1Mi
        - name: SIDECAR_CPU
          valueFrom:
            resourceFieldRef:
              containerName: sidecar
              resource: requests.cpu
              divisor: 1m
      resources:
        requests:
          cpu: 250m
          memory: 128Mi
        limits:
          cpu: 500m
          memory: 256Mi
          ephemeral-storage: 1Gi
      volumeMounts:
        - name: cache
          mountPath: /var/cache/nginx
        - name: config
          mountPath: /etc/nginx/conf.d
          readOnly: true
          subPath: nginx
          mountPropagation: HostToContainer
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
          httpHeaders:
            - name: X-Probe
              value: liveness
        initialDelaySeconds: 5
        periodSeconds: 15
        terminationGracePeriodSeconds: 10
      readinessProbe:
        tcpSocket:
          port: 8080
        failureThreshold: 5
        successThreshold: 2
      startupProbe:
        grpc:
          port: 9090
          service: web
        failureThreshold: 30
      lifecycle:
        postStart:
          exec:
            command: ["/bin/sh", "-c", "echo started"]
        preStop:
          sleep:
            seconds: 5
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities:
          add: [NET_BIND_SERVICE]
          drop: [ALL]
        seccompProfile:
          type: Localhost
          localhostProfile: profiles/web.json
        procMount: Default
      terminationMessagePolicy: FallbackToLogsOnError
      workingDir: /srv
    - name: sidecar
      image: busybox
      command: [sleep, infinity]
      stdin: true
      tty: true
      resources:
        requests:
          cpu: 50m
status:
  phase: Running
`;

/** A small valid pod; tests change one thing in a copy of it. */
function basePod(): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: {
      containers: [{ name: "app", image: "busybox:1.36" }],
    },
  };
}

type Json = Record<string, unknown>;

function spec(pod: Json): Json {
  return pod.spec as Json;
}

function container(pod: Json, i = 0, list = "containers"): Json {
  return (spec(pod)[list] as Json[])[i] as Json;
}

/** The error lines of a pod that must fail validation. */
function errorsOf(obj: unknown): string[] {
  try {
    validatePod(obj, fixedUid);
  } catch (err) {
    expect(err).toBeInstanceOf(PodSpecInvalidError);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as PodSpecInvalidError).fieldErrors.map(String);
  }
  throw new Error("expected the pod to be invalid");
}

function withChange(change: (pod: Json) => void): Json {
  const pod = structuredClone(basePod());
  change(pod);
  return pod;
}

describe("a realistic manifest", () => {
  const [pod, ...rest] = parsePodManifest(REALISTIC, "web.yaml", fixedUid);

  it("parses into one pod", () => {
    expect(rest).toHaveLength(0);
    expect(pod).toBeDefined();
  });

  it("keeps metadata and pod-level fields", () => {
    expect(pod?.metadata).toEqual({
      name: "web-0",
      namespace: "shop",
      uid: "7f1c0e9a-0c2b-4c55-9a57-1f1f8a0b0c0d",
      labels: { "app.kubernetes.io/name": "web", tier: "frontend" },
      annotations: { "example.com/owner": "team-a" },
    });
    expect(pod).toMatchObject({
      nodeName: "node-1",
      serviceAccountName: "web",
      priorityClassName: "high",
      priority: 1000,
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 45,
      activeDeadlineSeconds: 3600,
      hostNetwork: false,
      hostPID: false,
      hostIPC: false,
      hostname: "web-0",
      subdomain: "web",
      dnsPolicy: "None",
      dnsConfig: {
        nameservers: ["10.96.0.10"],
        searches: ["shop.svc.cluster.local", "svc.cluster.local."],
        options: [{ name: "ndots", value: "5" }, { name: "edns0" }],
      },
      securityContext: {
        runAsUser: 1000,
        runAsGroup: 1000,
        runAsNonRoot: true,
        fsGroup: 2000,
        supplementalGroups: [3000, 3001],
        sysctls: [{ name: "net.ipv4.ip_local_port_range", value: "1024 65535" }],
        seccompProfile: { type: "RuntimeDefault" },
      },
    });
  });

  it("decodes volumes, defaulting a volume without a source to emptyDir", () => {
    expect(pod?.volumes.map((v) => [v.name, v.source.type])).toEqual([
      ["cache", "emptyDir"],
      ["config", "hostPath"],
      ["scratch", "emptyDir"],
    ]);
    const cache = pod?.volumes[0]?.source;
    expect(cache?.type === "emptyDir" && cache.medium).toBe("Memory");
    expect(cache?.type === "emptyDir" && cache.sizeLimit && quantityToBytes(cache.sizeLimit)).toBe(
      64 * 1024 * 1024,
    );
    expect(pod?.volumes[1]?.source).toEqual({
      type: "hostPath",
      path: "/etc/web",
      hostPathType: "Directory",
    });
  });

  it("decodes the init container with requests defaulted from limits", () => {
    const init = pod?.initContainers[0];
    expect(init?.name).toBe("migrate");
    expect(init?.imagePullPolicy).toBe("IfNotPresent");
    expect(init?.command).toEqual(["/bin/migrate"]);
    expect(init?.args).toEqual(["--up"]);
    expect(init?.resources.requests.cpu?.text).toBe("1");
    expect(init?.resources.requests.memory?.text).toBe("256Mi");
  });

  it("decodes the app container completely", () => {
    const web = pod?.containers[0];
    expect(web).toMatchObject({
      name: "web",
      image: "nginx:1.25",
      imagePullPolicy: "IfNotPresent",
      workingDir: "/srv",
      ports: [
        { name: "http", containerPort: 8080, protocol: "TCP" },
        { name: "metrics", containerPort: 9090, hostPort: 19090, protocol: "TCP", hostIP: "127.0.0.1" },
      ],
      volumeMounts: [
        { name: "cache", mountPath: "/var/cache/nginx", readOnly: false },
        {
          name: "config",
          mountPath: "/etc/nginx/conf.d",
          readOnly: true,
          subPath: "nginx",
          mountPropagation: "HostToContainer",
        },
      ],
      terminationMessagePath: "/dev/termination-log",
      terminationMessagePolicy: "FallbackToLogsOnError",
      stdin: false,
      tty: false,
      securityContext: {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { add: ["NET_BIND_SERVICE"], drop: ["ALL"] },
        seccompProfile: { type: "Localhost", localhostProfile: "profiles/web.json" },
        procMount: "Default",
      },
    });
    expect(quantityToMilli(web!.resources.requests.cpu!)).toBe(250);
    expect(quantityToMilli(web!.resources.limits.cpu!)).toBe(500);
    expect(quantityToBytes(web!.resources.limits.ephemeralStorage!)).toBe(1024 ** 3);
    expect(web?.resources.requests.ephemeralStorage?.text).toBe("1Gi");
  });

  it("decodes env values and downward API references", () => {
    const env = pod?.containers[0]?.env ?? [];
    expect(env[0]).toEqual({ name: "MODE", value: "production" });
    expect(env[1]).toEqual({
      name: "POD_NAME",
      valueFrom: { type: "fieldRef", fieldPath: "metadata.name", field: "metadata.name" },
    });
    expect(env[2]).toEqual({
      name: "APP_LABEL",
      valueFrom: {
        type: "fieldRef",
        fieldPath: "metadata.labels['app.kubernetes.io/name']",
        field: "metadata.labels",
        key: "app.kubernetes.io/name",
      },
    });
    expect(env[3]).toMatchObject({
      name: "MEM_LIMIT_MI",
      valueFrom: { type: "resourceFieldRef", resource: "limits.memory", divisor: { text: "1Mi" } },
    });
    expect(env[4]).toMatchObject({
      valueFrom: { type: "resourceFieldRef", containerName: "sidecar", resource: "requests.cpu" },
    });
  });

  it("decodes probes with defaults for what is not written", () => {
    const web = pod?.containers[0];
    expect(web?.livenessProbe).toEqual({
      handler: {
        type: "httpGet",
        path: "/healthz",
        port: "http",
        scheme: "HTTP",
        httpHeaders: [{ name: "X-Probe", value: "liveness" }],
      },
      initialDelaySeconds: 5,
      timeoutSeconds: 1,
      periodSeconds: 15,
      successThreshold: 1,
      failureThreshold: 3,
      terminationGracePeriodSeconds: 10,
    });
    expect(web?.readinessProbe).toEqual({
      handler: { type: "tcpSocket", port: 8080 },
      initialDelaySeconds: 0,
      timeoutSeconds: 1,
      periodSeconds: 10,
      successThreshold: 2,
      failureThreshold: 5,
    });
    expect(web?.startupProbe?.handler).toEqual({ type: "grpc", port: 9090, service: "web" });
    expect(web?.lifecycle).toEqual({
      postStart: { type: "exec", command: ["/bin/sh", "-c", "echo started"] },
      preStop: { type: "sleep", seconds: 5 },
    });
  });

  it("defaults the second container", () => {
    const sidecar = pod?.containers[1];
    expect(sidecar).toMatchObject({
      name: "sidecar",
      image: "busybox",
      imagePullPolicy: "Always",
      stdin: true,
      tty: true,
      stdinOnce: false,
      ports: [],
      env: [],
      volumeMounts: [],
      command: ["sleep", "infinity"],
      args: [],
    });
    expect(sidecar?.resources.limits).toEqual({});
    expect(sidecar?.resources.requests.cpu?.text).toBe("50m");
  });

  it("parses the same manifest given as JSON to the same PodSpec", () => {
    const json = JSON.stringify(parseYaml(REALISTIC));
    expect(parsePodManifest(json, "web.json", fixedUid)).toEqual([pod]);
  });
});

describe("defaults", () => {
  const pod = validatePod(basePod(), fixedUid);
  const app = pod.containers[0]!;

  it("fills pod defaults", () => {
    expect(pod.metadata).toEqual({
      name: "p",
      namespace: "default",
      uid: "11111111-2222-3333-4444-555555555555",
      labels: {},
      annotations: {},
    });
    expect(pod.restartPolicy).toBe("Always");
    expect(pod.terminationGracePeriodSeconds).toBe(30);
    expect(pod.dnsPolicy).toBe("ClusterFirst");
    expect(pod.initContainers).toEqual([]);
    expect(pod.volumes).toEqual([]);
    expect(pod.securityContext).toEqual({ supplementalGroups: [], sysctls: [] });
    expect(pod).not.toHaveProperty("activeDeadlineSeconds");
  });

  it("fills container defaults", () => {
    expect(app).toEqual({
      name: "app",
      image: "busybox:1.36",
      imagePullPolicy: "IfNotPresent",
      command: [],
      args: [],
      ports: [],
      env: [],
      resources: { requests: {}, limits: {} },
      volumeMounts: [],
      terminationMessagePath: "/dev/termination-log",
      terminationMessagePolicy: "File",
      stdin: false,
      stdinOnce: false,
      tty: false,
    });
  });

  it("generates a uid only when the manifest has none", () => {
    let calls = 0;
    const generateUid = () => `generated-${++calls}`;
    expect(validatePod(basePod(), { generateUid }).metadata.uid).toBe("generated-1");
    const withUid = withChange((p) => ((p.metadata as Json).uid = "given"));
    expect(validatePod(withUid, { generateUid }).metadata.uid).toBe("given");
    expect(calls).toBe(1);
    expect(validatePod(basePod()).metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ["nginx", "Always"],
    ["nginx:latest", "Always"],
    ["docker.io/library/nginx:latest", "Always"],
    ["nginx:1.25", "IfNotPresent"],
    ["localhost:5000/app", "Always"],
    ["localhost:5000/app:v1", "IfNotPresent"],
    ["app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "IfNotPresent"],
    ["app:latest@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "Always"],
  ])("image %s defaults imagePullPolicy to %s", (image, policy) => {
    expect(defaultImagePullPolicy(image)).toBe(policy);
  });

  it("keeps an explicit imagePullPolicy", () => {
    const pod2 = withChange((p) => Object.assign(container(p), { image: "nginx", imagePullPolicy: "Never" }));
    expect(validatePod(pod2, fixedUid).containers[0]?.imagePullPolicy).toBe("Never");
  });

  it("treats empty enum strings as unset, as the API server does", () => {
    const pod2 = withChange((p) => {
      Object.assign(spec(p), { restartPolicy: "", dnsPolicy: "" });
      Object.assign(container(p), { imagePullPolicy: "", terminationMessagePath: "" });
    });
    const decoded = validatePod(pod2, fixedUid);
    expect(decoded.restartPolicy).toBe("Always");
    expect(decoded.dnsPolicy).toBe("ClusterFirst");
    expect(decoded.containers[0]?.terminationMessagePath).toBe("/dev/termination-log");
  });

  it("defaults hostPort to containerPort on the host network", () => {
    const pod2 = withChange((p) => {
      spec(p).hostNetwork = true;
      container(p).ports = [{ containerPort: 8080 }];
    });
    expect(validatePod(pod2, fixedUid).containers[0]?.ports[0]).toEqual({
      containerPort: 8080,
      hostPort: 8080,
      protocol: "TCP",
    });
  });

  it("accepts quantities written as bare numbers", () => {
    const pod2 = withChange((p) => (container(p).resources = { limits: { cpu: 0.5, memory: 1048576 } }));
    const resources = validatePod(pod2, fixedUid).containers[0]?.resources;
    expect(quantityToMilli(resources!.requests.cpu!)).toBe(500);
    expect(quantityToBytes(resources!.limits.memory!)).toBe(1048576);
  });

  it("takes serviceAccount as the deprecated spelling of serviceAccountName", () => {
    const pod2 = withChange((p) => (spec(p).serviceAccount = "legacy"));
    expect(validatePod(pod2, fixedUid).serviceAccountName).toBe("legacy");
  });
});

describe("validation errors carry Kubernetes' field paths", () => {
  const cases: [string, (pod: Json) => void, string | string[]][] = [
    [
      "probe period of 0",
      (p) => {
        (spec(p).containers as Json[]).push({
          name: "second",
          image: "busybox",
          livenessProbe: { exec: { command: ["true"] }, periodSeconds: 0 },
        });
      },
      "spec.containers[1].livenessProbe.periodSeconds: Invalid value: 0: must be greater than or equal to 1",
    ],
    ["missing container name", (p) => delete container(p).name, "spec.containers[0].name: Required value"],
    [
      "container name not a DNS label",
      (p) => (container(p).name = "App_1"),
      `spec.containers[0].name: Invalid value: "App_1": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
    ],
    [
      "pod name not a DNS subdomain",
      (p) => ((p.metadata as Json).name = "Web"),
      `metadata.name: Invalid value: "Web": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    ],
    [
      "missing pod name",
      (p) => (p.metadata = {}),
      "metadata.name: Required value: name or generateName is required",
    ],
    [
      "duplicate app container names",
      (p) => (spec(p).containers as Json[]).push({ name: "app", image: "busybox" }),
      `spec.containers[1].name: Duplicate value: "app"`,
    ],
    [
      "init container reusing an app container's name",
      (p) => (spec(p).initContainers = [{ name: "app", image: "busybox" }]),
      `spec.initContainers[0].name: Duplicate value: "app"`,
    ],
    [
      "duplicate port names",
      (p) =>
        (container(p).ports = [
          { name: "http", containerPort: 80 },
          { name: "http", containerPort: 81 },
        ]),
      `spec.containers[0].ports[1].name: Duplicate value: "http"`,
    ],
    [
      "bad port name",
      (p) => (container(p).ports = [{ name: "8080", containerPort: 80 }]),
      `spec.containers[0].ports[0].name: Invalid value: "8080": must contain at least one letter (a-z)`,
    ],
    [
      "missing containerPort",
      (p) => (container(p).ports = [{ hostPort: 80 }]),
      "spec.containers[0].ports[0].containerPort: Required value",
    ],
    [
      "port out of range",
      (p) => (container(p).ports = [{ containerPort: 70000 }]),
      "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
    ],
    [
      "bad protocol",
      (p) => (container(p).ports = [{ containerPort: 80, protocol: "tcp" }]),
      `spec.containers[0].ports[0].protocol: Unsupported value: "tcp": supported values: "SCTP", "TCP", "UDP"`,
    ],
    [
      "hostNetwork with a different hostPort",
      (p) => {
        spec(p).hostNetwork = true;
        container(p).ports = [{ containerPort: 80, hostPort: 8080 }];
      },
      "spec.containers[0].ports[0].containerPort: Invalid value: 80: must match `hostPort` when `hostNetwork` is true",
    ],
    [
      "two containers on one host port",
      (p) => {
        container(p).ports = [{ containerPort: 80, hostPort: 8080 }];
        (spec(p).containers as Json[]).push({
          name: "b",
          image: "busybox",
          ports: [{ containerPort: 81, hostPort: 8080 }],
        });
      },
      `spec.containers[1].ports[0].hostPort: Duplicate value: "/TCP/8080"`,
    ],
    [
      "mount of a volume that does not exist",
      (p) => (container(p).volumeMounts = [{ name: "data", mountPath: "/data" }]),
      `spec.containers[0].volumeMounts[0].name: Not found: "data"`,
    ],
    [
      "relative mountPath",
      (p) => {
        spec(p).volumes = [{ name: "data", emptyDir: {} }];
        container(p).volumeMounts = [{ name: "data", mountPath: "data" }];
      },
      `spec.containers[0].volumeMounts[0].mountPath: Invalid value: "data": must be an absolute path`,
    ],
    [
      "mountPath used twice",
      (p) => {
        spec(p).volumes = [{ name: "a" }, { name: "b" }];
        container(p).volumeMounts = [
          { name: "a", mountPath: "/data" },
          { name: "b", mountPath: "/data" },
        ];
      },
      `spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/data": must be unique`,
    ],
    [
      "subPath escaping the volume",
      (p) => {
        spec(p).volumes = [{ name: "a" }];
        container(p).volumeMounts = [{ name: "a", mountPath: "/data", subPath: "../etc" }];
      },
      `spec.containers[0].volumeMounts[0].subPath: Invalid value: "../etc": must not contain '..'`,
    ],
    [
      "Bidirectional propagation without privilege",
      (p) => {
        spec(p).volumes = [{ name: "a" }];
        container(p).volumeMounts = [{ name: "a", mountPath: "/data", mountPropagation: "Bidirectional" }];
      },
      "spec.containers[0].volumeMounts[0].mountPropagation: Forbidden: Bidirectional mount propagation is available only to privileged containers",
    ],
    [
      "probe without handler",
      (p) => (container(p).readinessProbe = { periodSeconds: 5 }),
      "spec.containers[0].readinessProbe: Required value: must specify a handler type",
    ],
    [
      "probe with two handlers",
      (p) => (container(p).livenessProbe = { exec: { command: ["true"] }, tcpSocket: { port: 80 } }),
      "spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
    ],
    [
      "liveness successThreshold above 1",
      (p) => (container(p).livenessProbe = { exec: { command: ["true"] }, successThreshold: 3 }),
      "spec.containers[0].livenessProbe.successThreshold: Invalid value: 3: must be 1",
    ],
    [
      "startup successThreshold above 1",
      (p) => (container(p).startupProbe = { exec: { command: ["true"] }, successThreshold: 2 }),
      "spec.containers[0].startupProbe.successThreshold: Invalid value: 2: must be 1",
    ],
    [
      "negative initialDelaySeconds",
      (p) => (container(p).livenessProbe = { exec: { command: ["true"] }, initialDelaySeconds: -1 }),
      "spec.containers[0].livenessProbe.initialDelaySeconds: Invalid value: -1: must be greater than or equal to 0",
    ],
    [
      "readiness probe with a grace period",
      (p) =>
        (container(p).readinessProbe = { exec: { command: ["true"] }, terminationGracePeriodSeconds: 5 }),
      "spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes",
    ],
    [
      "exec without command",
      (p) => (container(p).livenessProbe = { exec: {} }),
      "spec.containers[0].livenessProbe.exec.command: Required value",
    ],
    [
      "httpGet without port",
      (p) => (container(p).livenessProbe = { httpGet: { path: "/" } }),
      "spec.containers[0].livenessProbe.httpGet.port: Required value",
    ],
    [
      "httpGet on a port name the container lacks",
      (p) => (container(p).livenessProbe = { httpGet: { port: "http" } }),
      `spec.containers[0].livenessProbe.httpGet.port: Invalid value: "http": does not name a port of this container`,
    ],
    [
      "bad scheme",
      (p) => (container(p).livenessProbe = { httpGet: { port: 80, scheme: "FTP" } }),
      `spec.containers[0].livenessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"`,
    ],
    [
      "grpc on port 0",
      (p) => (container(p).livenessProbe = { grpc: { port: 0 } }),
      "spec.containers[0].livenessProbe.grpc.port: Invalid value: 0: must be between 1 and 65535, inclusive",
    ],
    [
      "sleep in a probe",
      (p) => (container(p).livenessProbe = { sleep: { seconds: 1 } }),
      [
        "spec.containers[0].livenessProbe: Required value: must specify a handler type",
        `spec.containers[0].livenessProbe: unknown field "sleep"`,
      ],
    ],
    [
      "preStop sleep longer than the grace period",
      (p) => (container(p).lifecycle = { preStop: { sleep: { seconds: 60 } } }),
      "spec.containers[0].lifecycle.preStop.sleep: Invalid value: 60: must be non-negative and less than terminationGracePeriodSeconds (30)",
    ],
    [
      "probe on an init container",
      (p) =>
        (spec(p).initContainers = [
          { name: "init", image: "busybox", livenessProbe: { exec: { command: ["true"] } } },
        ]),
      "spec.initContainers[0].livenessProbe: Forbidden: may not be set for init containers without restartPolicy=Always",
    ],
    [
      "request above limit",
      (p) => (container(p).resources = { requests: { cpu: "2" }, limits: { cpu: "1" } }),
      `spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1`,
    ],
    [
      "negative memory",
      (p) => (container(p).resources = { requests: { memory: "-1Mi" } }),
      `spec.containers[0].resources.requests[memory]: Invalid value: "-1Mi": must be greater than or equal to 0`,
    ],
    [
      "malformed quantity",
      (p) => (container(p).resources = { limits: { memory: "1 Gi" } }),
      `spec.containers[0].resources.limits[memory]: Invalid value: "1 Gi": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
    ],
    [
      "extended resource",
      (p) => (container(p).resources = { limits: { "nvidia.com/gpu": 1 } }),
      `spec.containers[0].resources.limits[nvidia.com/gpu]: Unsupported value: "nvidia.com/gpu": supported values: "cpu", "ephemeral-storage", "memory"`,
    ],
    [
      "bad restartPolicy",
      (p) => (spec(p).restartPolicy = "Sometimes"),
      `spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`,
    ],
    [
      "bad imagePullPolicy",
      (p) => (container(p).imagePullPolicy = "Daily"),
      `spec.containers[0].imagePullPolicy: Unsupported value: "Daily": supported values: "Always", "IfNotPresent", "Never"`,
    ],
    ["missing image", (p) => delete container(p).image, "spec.containers[0].image: Required value"],
    [
      "image with surrounding spaces",
      (p) => (container(p).image = " busybox"),
      `spec.containers[0].image: Invalid value: " busybox": must not have leading or trailing whitespace`,
    ],
    ["no containers", (p) => (spec(p).containers = []), "spec.containers: Required value"],
    [
      "activeDeadlineSeconds of 0",
      (p) => (spec(p).activeDeadlineSeconds = 0),
      "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
    ],
    [
      "negative grace period",
      (p) => (spec(p).terminationGracePeriodSeconds = -1),
      "spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0",
    ],
    [
      "dnsPolicy None without nameservers",
      (p) => Object.assign(spec(p), { dnsPolicy: "None", dnsConfig: { searches: ["a.b"] } }),
      "spec.dnsConfig.nameservers: Required value: must provide at least one DNS nameserver when `dnsPolicy` is None",
    ],
    [
      "nameserver that is not an IP",
      (p) => (spec(p).dnsConfig = { nameservers: ["dns.example.com"] }),
      `spec.dnsConfig.nameservers[0]: Invalid value: "dns.example.com": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`,
    ],
    [
      "duplicate volume names",
      (p) => (spec(p).volumes = [{ name: "a" }, { name: "a" }]),
      `spec.volumes[1].name: Duplicate value: "a"`,
    ],
    [
      "unsupported volume type",
      (p) => (spec(p).volumes = [{ name: "cfg", configMap: { name: "cfg" } }]),
      `spec.volumes[0]: unsupported field "configMap": berth provides only emptyDir and hostPath volumes`,
    ],
    [
      "persistentVolumeClaim volume",
      (p) => (spec(p).volumes = [{ name: "data", persistentVolumeClaim: { claimName: "data" } }]),
      `spec.volumes[0]: unsupported field "persistentVolumeClaim": berth provides only emptyDir and hostPath volumes`,
    ],
    [
      "two volume types",
      (p) => (spec(p).volumes = [{ name: "a", emptyDir: {}, hostPath: { path: "/tmp" } }]),
      "spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type",
    ],
    [
      "hostPath type",
      (p) => (spec(p).volumes = [{ name: "a", hostPath: { path: "/tmp", type: "Dir" } }]),
      `spec.volumes[0].hostPath.type: Unsupported value: "Dir": supported values: "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"`,
    ],
    [
      "hostPath without path",
      (p) => (spec(p).volumes = [{ name: "a", hostPath: {} }]),
      "spec.volumes[0].hostPath.path: Required value",
    ],
    [
      "emptyDir on hugepages",
      (p) => (spec(p).volumes = [{ name: "a", emptyDir: { medium: "HugePages" } }]),
      `spec.volumes[0].emptyDir.medium: Unsupported value: "HugePages": supported values: "", "Memory"`,
    ],
    [
      "env without name",
      (p) => (container(p).env = [{ value: "x" }]),
      "spec.containers[0].env[0].name: Required value",
    ],
    [
      "env name with '='",
      (p) => (container(p).env = [{ name: "A=B", value: "x" }]),
      `spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`,
    ],
    [
      "env value that is a number",
      (p) => (container(p).env = [{ name: "PORT", value: 8080 }]),
      "spec.containers[0].env[0].value: Invalid value: 8080: must be a string",
    ],
    [
      "unknown downward API field",
      (p) =>
        (container(p).env = [{ name: "X", valueFrom: { fieldRef: { fieldPath: "spec.restartPolicy" } } }]),
      `spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.restartPolicy": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"`,
    ],
    [
      "valueFrom with a value",
      (p) =>
        (container(p).env = [
          { name: "X", value: "v", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
        ]),
      `spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when \`value\` is not empty`,
    ],
    [
      "secret env source",
      (p) => (container(p).env = [{ name: "X", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }]),
      `spec.containers[0].env[0].valueFrom: unsupported field "secretKeyRef": berth has no API server to read configMaps or secrets from`,
    ],
    [
      "cpu divisor",
      (p) =>
        (container(p).env = [
          { name: "X", valueFrom: { resourceFieldRef: { resource: "limits.cpu", divisor: "1Mi" } } },
        ]),
      `spec.containers[0].env[0].valueFrom.resourceFieldRef.divisor: Invalid value: "limits.cpu": only divisor's values 1m and 1 are supported with the cpu resource`,
    ],
    [
      "resourceFieldRef to a missing container",
      (p) =>
        (container(p).env = [
          { name: "X", valueFrom: { resourceFieldRef: { resource: "limits.cpu", containerName: "ghost" } } },
        ]),
      `spec.containers[0].env[0].valueFrom.resourceFieldRef.containerName: Not found: "ghost"`,
    ],
    [
      "bad label key",
      (p) => ((p.metadata as Json).labels = { "bad key": "v" }),
      `metadata.labels: Invalid value: "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    ],
    [
      "label value that is a number",
      (p) => ((p.metadata as Json).labels = { version: 2 }),
      "metadata.labels[version]: Invalid value: 2: must be a string",
    ],
    [
      "runAsUser out of range",
      (p) => (spec(p).securityContext = { runAsUser: -1 }),
      "spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive",
    ],
    [
      "runAsNonRoot with user 0",
      (p) => (container(p).securityContext = { runAsNonRoot: true, runAsUser: 0 }),
      "spec.containers[0].securityContext.runAsUser: Forbidden: runAsUser 0 breaks the runAsNonRoot policy",
    ],
    [
      "privileged without privilege escalation",
      (p) => (container(p).securityContext = { privileged: true, allowPrivilegeEscalation: false }),
      `spec.containers[0].securityContext: Invalid value: {"privileged":true,"allowPrivilegeEscalation":false}: cannot set \`allowPrivilegeEscalation\` to false and \`privileged\` to true`,
    ],
    [
      "unknown capability",
      (p) => (container(p).securityContext = { capabilities: { add: ["NET_FLY"] } }),
      `spec.containers[0].securityContext.capabilities.add[0]: Invalid value: "NET_FLY": must be a Linux capability such as NET_ADMIN or CAP_NET_ADMIN`,
    ],
    [
      "Localhost seccomp without profile",
      (p) => (container(p).securityContext = { seccompProfile: { type: "Localhost" } }),
      "spec.containers[0].securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost",
    ],
    [
      "duplicate sysctl",
      (p) =>
        (spec(p).securityContext = {
          sysctls: [
            { name: "kernel.shm_rmid_forced", value: "1" },
            { name: "kernel.shm_rmid_forced", value: "0" },
          ],
        }),
      `spec.securityContext.sysctls[1].name: Duplicate value: "kernel.shm_rmid_forced"`,
    ],
    [
      "net sysctl on the host network",
      (p) =>
        Object.assign(spec(p), {
          hostNetwork: true,
          securityContext: { sysctls: [{ name: "net.core.somaxconn", value: "1024" }] },
        }),
      `spec.securityContext.sysctls[0].name: Invalid value: "net.core.somaxconn": may not be specified when 'hostNetwork' is true`,
    ],
    [
      "wrong kind",
      (p) => (p.kind = "Deployment"),
      `kind: Unsupported value: "Deployment": supported values: "Pod"`,
    ],
    [
      "wrong apiVersion",
      (p) => (p.apiVersion = "apps/v1"),
      `apiVersion: Unsupported value: "apps/v1": supported values: "v1"`,
    ],
    ["missing spec", (p) => delete p.spec, "spec: Required value"],
    [
      "uid unsafe in a path",
      (p) => ((p.metadata as Json).uid = "../etc"),
      `metadata.uid: Invalid value: "../etc": must be at most 128 characters of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`,
    ],
    [
      "wrong type for a boolean",
      (p) => (spec(p).hostNetwork = "true"),
      `spec.hostNetwork: Invalid value: "true": must be a boolean`,
    ],
    [
      "wrong type for an integer",
      (p) => (spec(p).terminationGracePeriodSeconds = 1.5),
      "spec.terminationGracePeriodSeconds: Invalid value: 1.5: must be an integer",
    ],
    [
      "containers not a list",
      (p) => (spec(p).containers = { name: "app" }),
      `spec.containers: Invalid value: {"name":"app"}: must be a list`,
    ],
    [
      "non-linux os",
      (p) => (spec(p).os = { name: "windows" }),
      `spec.os.name: Unsupported value: "windows": supported values: "linux"`,
    ],
  ];

  it.each(cases)("%s", (_name, change, expected) => {
    expect(errorsOf(withChange(change))).toEqual(Array.isArray(expected) ? expected : [expected]);
  });
});

describe("all errors are collected", () => {
  it("reports every problem of a manifest in one error", () => {
    const pod = withChange((p) => {
      (p.metadata as Json).name = "Bad_Name";
      spec(p).restartPolicy = "Sometimes";
      (spec(p).containers as Json[]).push({
        name: "app",
        image: "busybox",
        livenessProbe: { exec: { command: ["true"] }, periodSeconds: 0, failureThreshold: 0 },
      });
    });
    let caught: unknown;
    try {
      validatePod(pod, fixedUid);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(PodSpecInvalidError);
    const error = caught as PodSpecInvalidError;
    const lines = error.fieldErrors.map(String);
    expect(lines).toHaveLength(5);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^metadata\.name: Invalid value: "Bad_Name": /),
        `spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`,
        "spec.containers[1].livenessProbe.periodSeconds: Invalid value: 0: must be greater than or equal to 1",
        "spec.containers[1].livenessProbe.failureThreshold: Invalid value: 0: must be greater than or equal to 1",
        `spec.containers[1].name: Duplicate value: "app"`,
      ]),
    );
    expect(error.field).toBe(error.fieldErrors[0]?.field);
    for (const line of lines) expect(error.message).toContain(line);
    expect(error.message.split("; ")).toHaveLength(5);
  });
});

describe("errors in one part do not hide errors in another", () => {
  it("still checks the spec when metadata is broken", () => {
    const pod = withChange((p) => {
      p.metadata = "web";
      container(p).name = "Web";
    });
    const lines = errorsOf(pod);
    expect(lines[0]).toBe(`metadata: Invalid value: "web": must be an object`);
    expect(lines[1]).toMatch(/^spec\.containers\[0\]\.name: Invalid value: "Web": /);
    expect(lines).toHaveLength(2);
  });
});

describe("unknown and unsupported fields are reported, never dropped", () => {
  it.each([
    [(p: Json) => (p.extra = 1), `unknown field "extra"`],
    [(p: Json) => ((p.metadata as Json).labelz = {}), `metadata: unknown field "labelz"`],
    [(p: Json) => (spec(p).restartpolicy = "Never"), `spec: unknown field "restartpolicy"`],
    [
      (p: Json) => (container(p).imagePullPolicyy = "Always"),
      `spec.containers[0]: unknown field "imagePullPolicyy"`,
    ],
    [
      (p: Json) => (container(p).livenessProbe = { exec: { command: ["true"], shell: true } }),
      `spec.containers[0].livenessProbe.exec: unknown field "shell"`,
    ],
    [
      (p: Json) => (container(p).resources = { limits: { cpu: "1" }, limit: { cpu: "1" } }),
      `spec.containers[0].resources: unknown field "limit"`,
    ],
    [
      (p: Json) => (spec(p).volumes = [{ name: "a", emptyDir: { size: "1Gi" } }]),
      `spec.volumes[0].emptyDir: unknown field "size"`,
    ],
    [
      (p: Json) => (container(p).envFrom = [{ configMapRef: { name: "x" } }]),
      `spec.containers[0]: unsupported field "envFrom"`,
    ],
    [(p: Json) => (spec(p).shareProcessNamespace = true), `spec: unsupported field "shareProcessNamespace"`],
    [(p: Json) => (spec(p).imagePullSecrets = [{ name: "x" }]), `spec: unsupported field "imagePullSecrets"`],
    [
      (p: Json) => (container(p).restartPolicy = "Always"),
      `spec.containers[0]: unsupported field "restartPolicy"`,
    ],
    [
      (p: Json) => (container(p).securityContext = { seLinuxOptions: { level: "s0" } }),
      `spec.containers[0].securityContext: unsupported field "seLinuxOptions"`,
    ],
    [(p: Json) => ((p.metadata as Json).generateName = "p-"), `metadata: unsupported field "generateName"`],
  ])("%#: %s", (change, expected) => {
    expect(errorsOf(withChange(change))).toEqual([expected]);
  });

  it("accepts and ignores scheduling fields, API bookkeeping and status", () => {
    const pod = withChange((p) => {
      Object.assign(spec(p), {
        affinity: { nodeAffinity: {} },
        tolerations: [{ operator: "Exists" }],
        nodeSelector: { disk: "ssd" },
        schedulerName: "default-scheduler",
        topologySpreadConstraints: [],
        preemptionPolicy: "Never",
        enableServiceLinks: false,
        automountServiceAccountToken: false,
      });
      Object.assign(p.metadata as Json, {
        managedFields: [{}],
        resourceVersion: "1",
        creationTimestamp: null,
        generation: 3,
        ownerReferences: [],
        finalizers: ["x"],
      });
      p.status = { phase: "Pending" };
    });
    const decoded = validatePod(pod, fixedUid);
    expect(decoded).not.toHaveProperty("affinity");
    expect(decoded).not.toHaveProperty("status");
  });

  it("treats a null field as absent", () => {
    const pod = withChange((p) => Object.assign(spec(p), { volumes: null, initContainers: null }));
    expect(validatePod(pod, fixedUid).volumes).toEqual([]);
  });
});

describe("parsePodManifest", () => {
  const POD_A =
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\nspec:\n  containers:\n    - name: c\n      image: busybox\n";
  const POD_B = POD_A.replace("name: a", "name: b");

  it("reads several documents, skipping empty ones", () => {
    const pods = parsePodManifest(`---\n${POD_A}---\n---\n${POD_B}...\n`, "pods.yaml", fixedUid);
    expect(pods.map((p) => p.metadata.name)).toEqual(["a", "b"]);
  });

  it("reads JSON", () => {
    const pods = parsePodManifest(JSON.stringify(basePod(), null, 2), "pod.json", fixedUid);
    expect(pods).toHaveLength(1);
    expect(pods[0]?.containers[0]?.image).toBe("busybox:1.36");
  });

  it("honours YAML anchors and merge keys", () => {
    const text = `apiVersion: v1
kind: Pod
metadata: {name: m}
spec:
  containers:
    - &base
      name: one
      image: busybox
    - <<: *base
      name: two
`;
    const [pod] = parsePodManifest(text, "m.yaml", fixedUid);
    expect(pod?.containers.map((c) => [c.name, c.image])).toEqual([
      ["one", "busybox"],
      ["two", "busybox"],
    ]);
  });

  it("names the source and the document of each error", () => {
    const bad = POD_B.replace("image: busybox", "image: busybox\n      bogus: 1");
    const attempt = () => parsePodManifest(`${POD_A}---\n${bad}`, "pods.yaml", fixedUid);
    expect(attempt).toThrow(PodSpecInvalidError);
    expect(attempt).toThrow(`pods.yaml (document 2): spec.containers[0]: unknown field "bogus"`);
  });

  it("collects errors across documents", () => {
    const badA = POD_A.replace("kind: Pod", "kind: Service");
    const badB = POD_B.replace("name: c", "name: C");
    let message = "";
    try {
      parsePodManifest(`${badA}---\n${badB}`, "pods.yaml", fixedUid);
    } catch (err) {
      expect(err).toBeInstanceOf(PodSpecInvalidError);
      message = (err as Error).message;
      expect((err as PodSpecInvalidError).fieldErrors).toHaveLength(2);
    }
    expect(message).toMatch(/^pods\.yaml \(document 1\): kind: Unsupported value: "Service"/);
    expect(message).toContain(`; pods.yaml (document 2): spec.containers[0].name: Invalid value: "C"`);
  });

  it("prefixes a single document's errors with the source only", () => {
    expect(() => parsePodManifest(POD_A.replace("kind: Pod", "kind: Job"), "job.yaml")).toThrow(
      `job.yaml: kind: Unsupported value: "Job": supported values: "Pod"`,
    );
  });

  it("refuses YAML syntax errors with the source named", () => {
    const attempt = () => parsePodManifest("apiVersion: v1\nkind: [Pod\n", "broken.yaml");
    expect(attempt).toThrow(InvalidArgumentError);
    expect(attempt).toThrow(/^broken\.yaml: not valid YAML or JSON: /);
  });

  it("refuses duplicate keys", () => {
    expect(() => parsePodManifest(`${POD_A}kind: Pod\n`, "dup.yaml")).toThrow(
      /dup\.yaml: not valid YAML or JSON/,
    );
  });

  it("refuses an empty manifest and a document that is not an object", () => {
    expect(() => parsePodManifest("", "empty.yaml")).toThrow("empty.yaml: contains no pod");
    expect(() => parsePodManifest("- a\n- b\n", "list.yaml")).toThrow(
      `list.yaml: Invalid value: ["a","b"]: must be an object`,
    );
  });

  it("keeps YAML 1.2 scalars: 'on' stays a string", () => {
    const text = POD_A.replace(
      "image: busybox",
      "image: busybox\n      env:\n        - name: FLAG\n          value: on",
    );
    const [pod] = parsePodManifest(text, "on.yaml", fixedUid);
    expect(pod?.containers[0]?.env[0]).toEqual({ name: "FLAG", value: "on" });
  });
});
