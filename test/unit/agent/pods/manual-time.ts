// A clock and timers that move only when the test says so.
import type { Clock } from "../../../../common/clock.js";
import type { Timers } from "../../../../agent/pods/timers.js";

export class ManualTime implements Timers {
  now = Date.parse("2025-01-01T00:00:00Z");
  private next = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  /** Run after each timer fires, to let the work it started finish (default: a few I/O turns). */
  settler: () => Promise<void> = () => settle();

  readonly clock: Clock = {
    now: () => this.now,
    nowNanos: () => BigInt(this.now) * 1_000_000n,
  };

  setTimeout(callback: () => void, ms: number): unknown {
    const handle = this.next++;
    this.pending.set(handle, { at: this.now + ms, callback });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Moves time forward, firing every timer that falls due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.pending.entries()]
        .filter(([, t]) => t.at <= end)
        .sort(([, a], [, b]) => a.at - b.at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.now = Math.max(this.now, due[1].at);
      due[1].callback();
      await this.settler();
    }
    this.now = end;
    await this.settler();
  }
}

/**
 * Lets pending work run to completion: the fake runtime answers at once, but the pod layer
 * also writes files (pod dirs, stored specs), which take real I/O turns.
 */
export async function settle(rounds = 15): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setTimeout(resolve, 4));
}
