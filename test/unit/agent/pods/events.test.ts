// The bounded, aggregating event history.
import { describe, expect, it } from "vitest";
import { EventHistory, type NewEvent } from "../../../../agent/pods/events.js";

const pod = { namespace: "default", name: "p", uid: "u1" };

function event(message: string, extra: Partial<NewEvent> = {}): NewEvent {
  return { type: "Warning", reason: "Unhealthy", message, pod, ...extra };
}

describe("EventHistory", () => {
  it("folds repeats into one event whose count grows and time moves on", () => {
    const history = new EventHistory();
    history.record(event("Liveness probe failed: x"), 1000);
    history.record(event("other"), 2000);
    const again = history.record(event("Liveness probe failed: x"), 3000);
    expect(again.count).toBe(2);
    expect(again.time).toBe(new Date(3000).toISOString());
    // The repeat is now the newest.
    expect(history.list().map((e) => [e.message, e.count])).toEqual([
      ["other", 1],
      ["Liveness probe failed: x", 2],
    ]);
  });

  it("keeps events of different pods, reasons or containers apart", () => {
    const history = new EventHistory();
    history.record(event("m"), 1);
    history.record(event("m", { pod: { ...pod, uid: "u2" } }), 2);
    history.record(event("m", { fieldPath: "spec.containers{a}" }), 3);
    history.record(event("m", { type: "Normal" }), 4);
    expect(history.size).toBe(4);
  });

  it("drops the oldest events beyond its capacity", () => {
    const history = new EventHistory(3);
    for (let i = 0; i < 5; i++) history.record(event(`e${i}`), i);
    expect(history.list().map((e) => e.message)).toEqual(["e2", "e3", "e4"]);
  });

  it("filters by namespace and name", () => {
    const history = new EventHistory();
    history.record(event("a"), 1);
    history.record(event("b", { pod: { namespace: "kube-system", name: "q", uid: "u3" } }), 2);
    expect(history.list({ namespace: "kube-system" }).map((e) => e.message)).toEqual(["b"]);
    expect(history.list({ name: "p" }).map((e) => e.message)).toEqual(["a"]);
  });
});
