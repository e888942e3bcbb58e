import { describe, expect, it } from "vitest";
import { Semaphore } from "../../../probes/semaphore.js";

describe("Semaphore", () => {
  it("admits up to the limit and hands slots over in FIFO order", async () => {
    const semaphore = new Semaphore(2);
    const releaseA = await semaphore.acquire();
    const releaseB = await semaphore.acquire();
    const order: string[] = [];
    const c = semaphore.acquire().then((release) => {
      order.push("c");
      return release;
    });
    const d = semaphore.acquire().then((release) => {
      order.push("d");
      return release;
    });
    await Promise.resolve();
    expect(semaphore.inUse).toBe(2);
    expect(semaphore.queued).toBe(2);
    expect(order).toEqual([]);

    releaseA();
    releaseA(); // a second release of the same slot is ignored
    const releaseC = await c;
    expect(order).toEqual(["c"]);
    expect(semaphore.queued).toBe(1);
    expect(semaphore.inUse).toBe(2);

    releaseB();
    const releaseD = await d;
    expect(order).toEqual(["c", "d"]);
    releaseC();
    releaseD();
    expect(semaphore.inUse).toBe(0);
  });

  it("rejects a limit below 1", () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
