// The Node service behind a real gRPC server on a unix socket in a temp dir, driven by the
// CLI's client: status codes, protobuf encoding of the status messages, stream cancellation.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Server, ServiceError } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../../../common/logger.js";
import { startGrpcServer, stopGrpcServer } from "../../../../cri/grpc-server.js";
import { nodeServiceBinding } from "../../../../agent/node-api/front-ends.js";
import { connectNode, type NodeApi } from "../../../../agent/node-api/node-client.js";
import { parsePodManifest } from "../../../../agent/podspec/parse.js";
import { FakePodManager, viewOf } from "./fake-pod-manager.js";

const MANIFEST = `apiVersion: v1
kind: Pod
metadata: { name: web, namespace: prod }
spec:
  initContainers: [{ name: init, image: busybox }]
  containers: [{ name: app, image: nginx }]
`;

let dir: string;
let server: Server;
let pods: FakePodManager;
let api: NodeApi;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-node-api-"));
  pods = new FakePodManager();
  const runtimeService = {
    status: async () => ({
      status: { conditions: [{ type: "RuntimeReady", status: true, reason: "", message: "" }] },
      info: {},
      runtimeHandlers: [],
    }),
  };
  server = await startGrpcServer(join(dir, "berth.sock"), [
    nodeServiceBinding({ pods, runtimeService, logger: silentLogger() }),
  ]);
  api = connectNode(join(dir, "berth.sock"), 5000);
});

afterEach(async () => {
  api.close();
  await stopGrpcServer(server);
  await rm(dir, { recursive: true, force: true });
});

async function grpcError(call: Promise<unknown>): Promise<Partial<ServiceError>> {
  return call.then(
    () => {
      throw new Error("expected a gRPC error");
    },
    (err: unknown) => err as Partial<ServiceError>,
  );
}

describe("berth.v1.Node over gRPC", () => {
  it("applies a manifest and returns typed status fields", async () => {
    const { pods: applied } = await api.applyPod({ manifest: MANIFEST, sourceName: "web.yaml" });
    expect(applied[0]?.action).toBe("created");
    expect(applied[0]?.pod?.initContainerNames).toEqual(["init"]);
    expect(applied[0]?.pod?.restartPolicy).toBe("Always");

    // States travel as the oneof: waiting, running, terminated, and lastState.
    const view = pods.get("prod", "web")!;
    pods.seed({
      ...view,
      status: {
        ...view.status,
        phase: "Running",
        podIP: "10.88.0.7",
        podIPs: [{ ip: "10.88.0.7" }],
        initContainerStatuses: [
          {
            name: "init",
            state: {
              terminated: {
                exitCode: 0,
                reason: "Completed",
                startedAt: "t1",
                finishedAt: "t2",
                containerID: "berth://i",
              },
            },
            lastState: {},
            ready: true,
            started: false,
            restartCount: 0,
            image: "busybox",
            imageID: "sha256:b",
          },
        ],
        containerStatuses: [
          {
            name: "app",
            state: { running: { startedAt: "t3" } },
            lastState: {
              terminated: {
                exitCode: 137,
                signal: 9,
                reason: "OOMKilled",
                startedAt: "t0",
                finishedAt: "t1",
                containerID: "berth://old",
              },
            },
            ready: true,
            started: true,
            restartCount: 1,
            image: "nginx",
            imageID: "sha256:n",
            containerID: "berth://a",
          },
        ],
      },
    });
    const pod = await api.getPod({ namespace: "prod", name: "web" });
    expect(pod.status?.podIp).toBe("10.88.0.7");
    expect(pod.status?.initContainerStatuses[0]?.state?.state).toEqual({
      $case: "terminated",
      value: {
        exitCode: 0,
        signal: 0,
        reason: "Completed",
        message: "",
        startedAt: "t1",
        finishedAt: "t2",
        containerId: "berth://i",
      },
    });
    expect(pod.status?.initContainerStatuses[0]?.lastState).toBeUndefined();
    const app = pod.status?.containerStatuses[0];
    expect(app?.state?.state).toEqual({ $case: "running", value: { startedAt: "t3" } });
    expect(app?.lastState?.state?.$case).toBe("terminated");
    expect(app?.restartCount).toBe(1);
    expect(app?.containerId).toBe("berth://a");
  });

  it("maps validation, not-found and static-pod refusals to their status codes", async () => {
    const invalid = await grpcError(
      api.applyPod({ manifest: "kind: Pod\napiVersion: v1\nspec: {}", sourceName: "bad.yaml" }),
    );
    expect(invalid.code).toBe(status.INVALID_ARGUMENT);
    expect(invalid.details).toContain("bad.yaml: ");
    expect(invalid.details).toContain("spec.containers: Required value");

    const missing = await grpcError(api.getPod({ namespace: "", name: "ghost" }));
    expect(missing.code).toBe(status.NOT_FOUND);
    expect(missing.details).toBe('pod "default/ghost" not found');

    const [spec] = parsePodManifest(MANIFEST, "t");
    pods.seed(viewOf(spec!, { kind: "file", path: "/etc/berth/manifests/web.yaml" }));
    const owned = await grpcError(api.applyPod({ manifest: MANIFEST, sourceName: "" }));
    expect(owned.code).toBe(status.FAILED_PRECONDITION);
    expect(owned.details).toContain(
      "pod prod/web is managed by file /etc/berth/manifests/web.yaml; edit that file",
    );
  });

  it("passes an int64 grace period through to the pod manager", async () => {
    await api.applyPod({ manifest: MANIFEST, sourceName: "" });
    await api.deletePod({ namespace: "prod", name: "web", gracePeriodSeconds: 0n });
    expect(pods.deleted).toEqual([{ namespace: "prod", name: "web", gracePeriodSeconds: 0 }]);
  });

  it("reports the node with its runtime conditions and pod count", async () => {
    await api.applyPod({ manifest: MANIFEST, sourceName: "" });
    const node = await api.getNode();
    expect(node.podCount).toBe(1);
    expect(Number(node.capacity.cpu)).toBeGreaterThan(0);
    expect(node.capacity.memory).toMatch(/^\d+Ki$/);
    // NetworkReady was not reported by this runtime: the node is not Ready.
    expect(node.conditions.map((c) => `${c.type}=${c.status}`)).toEqual([
      "RuntimeReady=True",
      "NetworkReady=Unknown",
      "Ready=False",
    ]);
  });

  it("streams a watch and stops serving it when the client cancels", async () => {
    await api.applyPod({ manifest: MANIFEST, sourceName: "" });
    const abort = new AbortController();
    const seen: string[] = [];
    const done = (async () => {
      for await (const change of api.watchPods(
        { namespace: "", includeEvents: true, replayEvents: false },
        abort.signal,
      )) {
        seen.push(
          change.type === "EVENT"
            ? `EVENT ${change.event?.reason}`
            : `${change.type} ${change.pod?.metadata?.name}`,
        );
        if (seen.length === 1) {
          pods.recordEvent({
            type: "Warning",
            reason: "BackOff",
            message: "",
            pod: { namespace: "prod", name: "web", uid: "u" },
          });
        }
        if (seen.length === 2) abort.abort();
      }
    })();
    await done;
    expect(seen).toEqual(["ADDED web", "EVENT BackOff"]);
    // The server notices the cancellation and drops its subscription.
    const deadline = Date.now() + 5000;
    while (pods.listenerCount > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(pods.listenerCount).toBe(0);
  });
});
