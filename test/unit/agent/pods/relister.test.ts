// The relist: which pods get a sync when the runtime's objects change, from lists and from
// the runtime's container events.
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../../common/logger.js";
import { ContainerEventType, type ContainerEventResponse } from "../../../../cri/api/generated/api.js";
import { podLabels } from "../../../../agent/pods/labels.js";
import { Relister } from "../../../../agent/pods/relister.js";
import { FakeRuntime } from "./fake-runtime.js";
import { ManualTime, settle } from "./manual-time.js";

function sandboxFor(fake: FakeRuntime, uid: string): Promise<string> {
  return fake
    .clients()
    .runtime.runPodSandbox({
      config: {
        metadata: { name: uid, namespace: "default", uid, attempt: 0 },
        hostname: "",
        logDirectory: "",
        portMappings: [],
        labels: podLabels({ name: uid, namespace: "default", uid }),
        annotations: {},
      },
      runtimeHandler: "",
    })
    .then((r) => r.podSandboxId);
}

describe("Relister", () => {
  it("syncs the pods whose sandboxes or containers changed since the last list", async () => {
    const fake = new FakeRuntime();
    const time = new ManualTime();
    const changed: string[] = [];
    const relister = new Relister({
      runtime: fake.clients().runtime,
      timers: time,
      intervalMs: 1000,
      logger: silentLogger(),
      onChange: (uid) => changed.push(uid),
    });
    const a = await sandboxFor(fake, "a");
    await sandboxFor(fake, "b");
    // Objects nobody labelled as berth's are not berth's business.
    await fake.clients().runtime.runPodSandbox({
      config: { hostname: "", logDirectory: "", portMappings: [], labels: { app: "other" }, annotations: {} },
      runtimeHandler: "",
    });
    relister.start();
    await time.advance(1000);
    expect(changed.sort()).toEqual(["a", "b"]);
    changed.length = 0;
    await time.advance(1000);
    expect(changed).toEqual([]);
    fake.killSandbox(a);
    await time.advance(1000);
    expect(changed).toEqual(["a"]);
    await relister.stop();
  });

  it("follows the runtime's container events when it has them", async () => {
    const fake = new FakeRuntime();
    const time = new ManualTime();
    const changed: string[] = [];
    const queue: ContainerEventResponse[] = [];
    let wake: (() => void) | undefined;
    const push = (e: ContainerEventResponse): void => {
      queue.push(e);
      wake?.();
    };
    const base = fake.clients().runtime;
    const runtime = {
      ...base,
      getContainerEvents: async function* (_req: object, signal?: AbortSignal) {
        while (!signal?.aborted) {
          const next = queue.shift();
          if (next) yield next;
          else await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    };
    const relister = new Relister({
      runtime,
      timers: time,
      intervalMs: 1000,
      logger: silentLogger(),
      onChange: (uid) => changed.push(uid),
    });
    relister.start();
    await settle(2);
    expect(relister.following).toBe(true);
    push({
      containerId: "c1",
      containerEventType: ContainerEventType.CONTAINER_STOPPED_EVENT,
      createdAt: 1n,
      podSandboxStatus: {
        id: "s",
        state: 0,
        createdAt: 0n,
        labels: podLabels({ name: "p", namespace: "default", uid: "from-event" }),
        annotations: {},
        runtimeHandler: "",
      },
      containersStatuses: [],
    });
    await settle(2);
    expect(changed).toEqual(["from-event"]);
    const stopping = relister.stop();
    wake?.();
    await stopping;
  });
});
