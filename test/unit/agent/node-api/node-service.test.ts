import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { toGrpcStatus } from "../../../../common/errors.js";
import { silentLogger } from "../../../../common/logger.js";
import type { NodeInfo, WatchPodsResponse } from "../../../../agent/api/generated/berth.js";
import { NodeService } from "../../../../agent/node-api/node-service.js";
import { podFromJson } from "../../../../agent/node-api/pod-json.js";
import { parsePodManifest } from "../../../../agent/podspec/parse.js";
import { FakePodManager, viewOf } from "./fake-pod-manager.js";

const WEB = `
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: { app: web, tier: front }
spec:
  containers:
    - name: nginx
      image: nginx:1.25
      resources:
        limits: { cpu: 500m, memory: 128Mi }
`;

const nodeInfo: NodeInfo = {
  name: "node-1",
  operatingSystem: "linux",
  osImage: "",
  kernelVersion: "6.1",
  architecture: "amd64",
  capacity: {},
  allocatable: {},
  berthVersion: "0.1.0",
  conditions: [],
  podCount: 0,
  containerRuntimeVersion: "berth 0.1.0",
};

function setup(watchBacklog?: number) {
  const pods = new FakePodManager();
  const service = new NodeService({
    pods,
    logger: silentLogger(),
    nodeInfo: async () => nodeInfo,
    ...(watchBacklog !== undefined && { watchBacklog }),
  });
  return { pods, service };
}

/** Runs a call expected to fail; returns its gRPC status. */
async function failure(call: () => Promise<unknown>): Promise<{ code: status; details: string }> {
  try {
    await call();
  } catch (err) {
    return toGrpcStatus(err);
  }
  throw new Error("expected the call to fail");
}

function staticPod(name: string, path: string) {
  const [spec] = parsePodManifest(WEB.replace("name: web", `name: ${name}`), "test");
  return viewOf(spec!, { kind: "file", path });
}

describe("NodeService.applyPod", () => {
  it("validates the manifest, applies the pod as an API pod and returns its status", async () => {
    const { pods, service } = setup();
    const res = await service.applyPod({ manifest: WEB, sourceName: "web.yaml" });

    expect(pods.applied).toHaveLength(1);
    expect(pods.applied[0]?.source).toEqual({ kind: "api" });
    expect(pods.applied[0]?.spec.containers[0]?.image).toBe("nginx:1.25");
    expect(res.pods).toHaveLength(1);
    const applied = res.pods[0]!;
    expect(applied.action).toBe("created");
    expect(applied.pod?.metadata).toMatchObject({
      name: "web",
      namespace: "default",
      labels: { app: "web" },
    });
    expect(applied.pod?.containerNames).toEqual(["nginx"]);
    expect(applied.pod?.status?.qosClass).toBe("Guaranteed");
    expect(applied.pod?.source).toEqual({ kind: "api", path: "" });
    // pod_json carries the whole view, quantities as text.
    const json = podFromJson(applied.pod!.podJson);
    expect(json.spec.containers[0]?.resources.limits.cpu).toBe("500m");
    expect(json.spec.containers[0]?.resources.requests.memory).toBe("128Mi");
  });

  it("keeps the running pod's uid when the manifest names none, and reports unchanged and configured", async () => {
    const { pods, service } = setup();
    const first = await service.applyPod({ manifest: WEB, sourceName: "" });
    const uid = first.pods[0]?.pod?.metadata?.uid;
    expect(uid).toMatch(/^[0-9a-f-]{36}$/);

    const again = await service.applyPod({ manifest: WEB, sourceName: "" });
    expect(again.pods[0]?.action).toBe("unchanged");
    expect(pods.applied[1]?.spec.metadata.uid).toBe(uid);

    const changed = await service.applyPod({
      manifest: WEB.replace("nginx:1.25", "nginx:1.26"),
      sourceName: "",
    });
    expect(changed.pods[0]?.action).toBe("configured");
    expect(pods.applied[2]?.spec.metadata.uid).toBe(uid);
  });

  it("answers INVALID_ARGUMENT naming every field at fault, and applies nothing of the manifest", async () => {
    const { pods, service } = setup();
    const bad = `${WEB}---
apiVersion: v1
kind: Pod
metadata: { name: Bad_Name }
spec:
  containers:
    - name: app
      livenessProbe: { exec: { command: [true] }, periodSeconds: 0 }
`;
    const { code, details } = await failure(() =>
      service.applyPod({ manifest: bad, sourceName: "pods.yaml" }),
    );
    expect(code).toBe(status.INVALID_ARGUMENT);
    expect(details).toContain("pods.yaml (document 2)");
    expect(details).toContain('metadata.name: Invalid value: "Bad_Name"');
    expect(details).toContain("spec.containers[0].image: Required value");
    expect(details).toContain("spec.containers[0].livenessProbe.periodSeconds: Invalid value: 0");
    expect(pods.applied).toHaveLength(0);
  });

  it("refuses an empty manifest and a manifest naming one pod twice", async () => {
    const { service } = setup();
    expect(await failure(() => service.applyPod({ manifest: "  \n", sourceName: "" }))).toEqual({
      code: status.INVALID_ARGUMENT,
      details: "manifest: is empty",
    });
    const twice = await failure(() => service.applyPod({ manifest: `${WEB}---${WEB}`, sourceName: "" }));
    expect(twice.code).toBe(status.INVALID_ARGUMENT);
    expect(twice.details).toContain("pod default/web appears twice");
  });

  it("refuses with FAILED_PRECONDITION a pod that a static manifest file owns", async () => {
    const { pods, service } = setup();
    pods.seed(staticPod("web", "/etc/berth/manifests/web.yaml"));
    const { code, details } = await failure(() => service.applyPod({ manifest: WEB, sourceName: "" }));
    expect(code).toBe(status.FAILED_PRECONDITION);
    expect(details).toBe("pod default/web is managed by file /etc/berth/manifests/web.yaml; edit that file");
    expect(pods.applied).toHaveLength(0);
  });

  it("refuses a manifest whose uid differs from the running pod's", async () => {
    const { service } = setup();
    await service.applyPod({ manifest: WEB, sourceName: "" });
    const withUid = WEB.replace("name: web\n", "name: web\n  uid: 11111111-2222-3333-4444-555555555555\n");
    const { code, details } = await failure(() => service.applyPod({ manifest: withUid, sourceName: "" }));
    expect(code).toBe(status.FAILED_PRECONDITION);
    expect(details).toContain("the manifest names uid 11111111-2222-3333-4444-555555555555");
  });
});

describe("NodeService get, list, delete", () => {
  it("answers NOT_FOUND naming namespace/name for an unknown pod", async () => {
    const { service } = setup();
    expect(await failure(() => service.getPod({ namespace: "", name: "nope" }))).toEqual({
      code: status.NOT_FOUND,
      details: 'pod "default/nope" not found',
    });
    expect((await failure(() => service.deletePod({ namespace: "prod", name: "nope" }))).details).toBe(
      'pod "prod/nope" not found',
    );
    expect((await failure(() => service.getPod({ namespace: "", name: "" }))).code).toBe(
      status.INVALID_ARGUMENT,
    );
  });

  it("deletes with the grace period asked for, and refuses static pods and negative periods", async () => {
    const { pods, service } = setup();
    await service.applyPod({ manifest: WEB, sourceName: "" });
    expect(
      (await failure(() => service.deletePod({ namespace: "", name: "web", gracePeriodSeconds: -1n }))).code,
    ).toBe(status.INVALID_ARGUMENT);
    await service.deletePod({ namespace: "", name: "web", gracePeriodSeconds: 5n });
    expect(pods.deleted).toEqual([{ namespace: "default", name: "web", gracePeriodSeconds: 5 }]);
    expect(pods.get("default", "web")).toBeUndefined();

    pods.seed(staticPod("kube-proxy", "/etc/berth/manifests/proxy.yaml"));
    const refused = await failure(() => service.deletePod({ namespace: "default", name: "kube-proxy" }));
    expect(refused.code).toBe(status.FAILED_PRECONDITION);
    expect(refused.details).toContain("managed by file /etc/berth/manifests/proxy.yaml; remove that file");
  });

  it("lists pods sorted, filtered by namespace and label selector", async () => {
    const { service } = setup();
    const manifest = (name: string, ns: string, app: string) =>
      WEB.replace("name: web\n", `name: ${name}\n  namespace: ${ns}\n`).replace("app: web", `app: ${app}`);
    await service.applyPod({ manifest: manifest("b", "default", "web"), sourceName: "" });
    await service.applyPod({ manifest: manifest("a", "default", "db"), sourceName: "" });
    await service.applyPod({ manifest: manifest("c", "kube-system", "web"), sourceName: "" });

    const names = async (namespace: string, labelSelector = "") =>
      (await service.listPods({ namespace, labelSelector })).pods.map(
        (p) => `${p.metadata?.namespace}/${p.metadata?.name}`,
      );
    expect(await names("")).toEqual(["default/a", "default/b", "kube-system/c"]);
    expect(await names("default")).toEqual(["default/a", "default/b"]);
    expect(await names("", "app=web")).toEqual(["default/b", "kube-system/c"]);
    expect(await names("", "app in (db),tier")).toEqual(["default/a"]);
    expect((await failure(() => service.listPods({ namespace: "", labelSelector: "app in (" }))).code).toBe(
      status.INVALID_ARGUMENT,
    );
  });

  it("returns events filtered by namespace and pod, and the node info", async () => {
    const { pods, service } = setup();
    const ref = (ns: string, name: string) => ({ namespace: ns, name, uid: `${name}-uid` });
    pods.recordEvent({ type: "Normal", reason: "Pulled", message: "pulled", pod: ref("default", "web") });
    pods.recordEvent({ type: "Warning", reason: "BackOff", message: "back-off", pod: ref("default", "db") });
    pods.recordEvent({
      type: "Normal",
      reason: "Started",
      message: "started",
      pod: ref("prod", "web"),
      fieldPath: "spec.containers{app}",
    });

    const reasons = async (namespace: string, name: string) =>
      (await service.getEvents({ namespace, name })).events.map((e) => e.reason);
    expect(await reasons("", "")).toEqual(["Pulled", "BackOff", "Started"]);
    expect(await reasons("default", "")).toEqual(["Pulled", "BackOff"]);
    expect(await reasons("prod", "web")).toEqual(["Started"]);
    const [started] = (await service.getEvents({ namespace: "prod", name: "web" })).events;
    expect(started).toMatchObject({ fieldPath: "spec.containers{app}", count: 1, pod: ref("prod", "web") });
    expect((await failure(() => service.getEvents({ namespace: "", name: "web" }))).code).toBe(
      status.INVALID_ARGUMENT,
    );
    expect(await service.getNode({})).toBe(nodeInfo);
  });
});

describe("NodeService.watchPods", () => {
  async function take(stream: AsyncGenerator<WatchPodsResponse>, n: number): Promise<WatchPodsResponse[]> {
    const items: WatchPodsResponse[] = [];
    while (items.length < n) {
      const next = await stream.next();
      if (next.done) break;
      items.push(next.value);
    }
    return items;
  }
  const describeChange = (c: WatchPodsResponse): string =>
    c.type === "EVENT"
      ? `EVENT ${c.event?.reason}`
      : `${c.type} ${c.pod?.metadata?.namespace}/${c.pod?.metadata?.name}`;

  it("sends the current pods as ADDED, then replayed events, then every change and event in order", async () => {
    const { pods, service } = setup();
    await service.applyPod({ manifest: WEB.replace("name: web", "name: zeta"), sourceName: "" });
    await service.applyPod({ manifest: WEB, sourceName: "" });
    pods.recordEvent({
      type: "Normal",
      reason: "Pulled",
      message: "",
      pod: { namespace: "default", name: "web", uid: "u" },
    });

    const abort = new AbortController();
    const stream = service.watchPods(
      { namespace: "", includeEvents: true, replayEvents: true },
      abort.signal,
    );
    const initial = await take(stream, 3);
    expect(initial.map(describeChange)).toEqual(["ADDED default/web", "ADDED default/zeta", "EVENT Pulled"]);

    const live = take(stream, 4);
    await service.applyPod({ manifest: WEB.replace("nginx:1.25", "nginx:1.26"), sourceName: "" });
    pods.recordEvent({
      type: "Normal",
      reason: "Killing",
      message: "",
      pod: { namespace: "default", name: "web", uid: "u" },
    });
    await service.deletePod({ namespace: "", name: "zeta" });
    expect((await live).map(describeChange)).toEqual([
      "MODIFIED default/web",
      "EVENT Killing",
      "MODIFIED default/zeta",
      "DELETED default/zeta",
    ]);

    // Cancelling ends the stream and unsubscribes from the pod manager.
    expect(pods.listenerCount).toBe(1);
    const end = stream.next();
    abort.abort();
    expect(await end).toEqual({ done: true, value: undefined });
    expect(pods.listenerCount).toBe(0);
  });

  it("filters by namespace and leaves events out unless asked for", async () => {
    const { pods, service } = setup();
    await service.applyPod({ manifest: WEB, sourceName: "" });
    const abort = new AbortController();
    const stream = service.watchPods(
      { namespace: "prod", includeEvents: false, replayEvents: false },
      abort.signal,
    );
    const first = take(stream, 1);
    pods.recordEvent({
      type: "Normal",
      reason: "Pulled",
      message: "",
      pod: { namespace: "prod", name: "x", uid: "u" },
    });
    await service.applyPod({
      manifest: WEB.replace("name: web\n", "name: web\n  namespace: default\n"),
      sourceName: "",
    });
    await service.applyPod({
      manifest: WEB.replace("name: web\n", "name: api\n  namespace: prod\n"),
      sourceName: "",
    });
    expect((await first).map(describeChange)).toEqual(["ADDED prod/api"]);
    abort.abort();
    await stream.return(undefined);
    expect(pods.listenerCount).toBe(0);
  });

  it("ends a watcher that falls too far behind with RESOURCE_EXHAUSTED", async () => {
    const { pods, service } = setup(2);
    const stream = service.watchPods({ namespace: "", includeEvents: true, replayEvents: false });
    const first = stream.next();
    for (let i = 0; i < 5; i++)
      pods.recordEvent({
        type: "Normal",
        reason: `R${i}`,
        message: "",
        pod: { namespace: "a", name: "b", uid: "u" },
      });
    expect((await first).value?.event?.reason).toBe("R0");
    expect((await stream.next()).value?.event?.reason).toBe("R1");
    const { code, details } = await failure(() => stream.next());
    expect(code).toBe(status.RESOURCE_EXHAUSTED);
    expect(details).toContain("watch again");
    expect(pods.listenerCount).toBe(0);
  });
});
