import { describe, expect, it } from "vitest";
import { EventBus, type EventSubscription } from "../../../../cri/events/event-bus.js";

/** Reads `count` events without waiting for more. */
async function take<T>(subscription: EventSubscription<T>, count: number): Promise<T[]> {
  const iterator = subscription[Symbol.asyncIterator]();
  const out: T[] = [];
  for (let i = 0; i < count; i++) {
    const next = await iterator.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

describe("EventBus", () => {
  it("delivers events to every subscriber in publish order", async () => {
    const bus = new EventBus<number>();
    const a = bus.subscribe();
    const b = bus.subscribe();
    for (let i = 1; i <= 5; i++) bus.publish(i);
    expect(await take(a, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(await take(b, 5)).toEqual([1, 2, 3, 4, 5]);
  });

  it("subscribes at the call, not when reading starts", async () => {
    const bus = new EventBus<string>();
    const sub = bus.subscribe();
    bus.publish("early");
    expect(await take(sub, 1)).toEqual(["early"]);
  });

  it("wakes a waiting reader when an event arrives", async () => {
    const bus = new EventBus<string>();
    const sub = bus.subscribe();
    const next = sub[Symbol.asyncIterator]().next();
    bus.publish("x");
    expect(await next).toEqual({ value: "x", done: false });
  });

  it("drops the slow subscriber's oldest events and leaves the others whole", async () => {
    const overruns: number[] = [];
    const bus = new EventBus<number>({
      capacity: 3,
      onOverrun: ({ subscriber }) => overruns.push(subscriber),
    });
    const slow = bus.subscribe();
    const fast = bus.subscribe();
    const fastRead: number[] = [];
    for (let i = 1; i <= 10; i++) {
      bus.publish(i);
      fastRead.push(...(await take(fast, 1)));
    }
    expect(fastRead).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(slow.pending).toBe(3);
    expect(slow.dropped).toBe(7);
    expect(fast.dropped).toBe(0);
    expect(await take(slow, 3)).toEqual([8, 9, 10]);
    // One report for the overrun, not one per dropped event.
    expect(overruns).toEqual([slow.id]);
  });

  it("reports a new overrun after the subscriber caught up", async () => {
    const overruns: number[] = [];
    const bus = new EventBus<number>({
      capacity: 1,
      onOverrun: ({ subscriber }) => overruns.push(subscriber),
    });
    const sub = bus.subscribe();
    bus.publish(1);
    bus.publish(2);
    expect(await take(sub, 1)).toEqual([2]);
    bus.publish(3);
    bus.publish(4);
    expect(overruns).toHaveLength(2);
  });

  it("close() ends a subscription, releases its waiting reader and stops delivery", async () => {
    const bus = new EventBus<number>();
    const sub = bus.subscribe();
    const waiting = sub[Symbol.asyncIterator]().next();
    expect(bus.subscriberCount).toBe(1);
    sub.close();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(bus.subscriberCount).toBe(0);
    bus.publish(1);
    expect(sub.pending).toBe(0);
  });

  it("ends the subscription when its abort signal fires", async () => {
    const bus = new EventBus<number>();
    const abort = new AbortController();
    const sub = bus.subscribe(abort.signal);
    bus.publish(1);
    const received: number[] = [];
    const reading = (async () => {
      for await (const event of sub) {
        received.push(event);
        if (event === 2) abort.abort();
      }
    })();
    bus.publish(2);
    bus.publish(3);
    await reading;
    expect(received).toEqual([1, 2]);
    expect(bus.subscriberCount).toBe(0);
  });

  it("unsubscribes when a for-await loop breaks", async () => {
    const bus = new EventBus<number>();
    const sub = bus.subscribe();
    bus.publish(1);
    for await (const event of sub) {
      expect(event).toBe(1);
      break;
    }
    expect(bus.subscriberCount).toBe(0);
  });

  it("an aborted signal or a closed bus gives an ended subscription", async () => {
    const bus = new EventBus<number>();
    const abort = new AbortController();
    abort.abort();
    expect(await take(bus.subscribe(abort.signal), 1)).toEqual([]);
    const open = bus.subscribe();
    bus.close();
    expect(await take(open, 1)).toEqual([]);
    expect(await take(bus.subscribe(), 1)).toEqual([]);
    expect(bus.subscriberCount).toBe(0);
  });

  it("refuses two concurrent readers of one subscription", async () => {
    const bus = new EventBus<number>();
    const sub = bus.subscribe();
    const iterator = sub[Symbol.asyncIterator]();
    const first = iterator.next();
    await expect(iterator.next()).rejects.toThrow(/already being read/);
    bus.publish(7);
    expect(await first).toEqual({ value: 7, done: false });
  });
});
