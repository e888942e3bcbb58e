// A bounded queue between a push-style listener (the pod manager's watch) and a pull-style
// consumer (a server stream). A consumer that falls too far behind is ended rather than
// letting the queue grow without bound: it re-watches and gets a fresh list.
import { ResourceExhaustedError } from "../../common/errors.js";

export class AsyncQueue<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;
  private overflowed = false;

  constructor(private readonly capacity: number) {}

  push(item: T): void {
    if (this.overflowed) return;
    if (this.items.length >= this.capacity) this.overflowed = true;
    else this.items.push(item);
    this.wake?.();
  }

  /** Yields items until the signal aborts; throws ResourceExhaustedError after an overflow. */
  async *drain(signal?: AbortSignal): AsyncGenerator<T> {
    const onAbort = (): void => this.wake?.();
    signal?.addEventListener("abort", onAbort);
    try {
      for (;;) {
        if (signal?.aborted) return;
        const item = this.items.shift();
        if (item !== undefined) {
          yield item;
          continue;
        }
        if (this.overflowed) {
          throw new ResourceExhaustedError(
            `watch fell more than ${this.capacity} changes behind; watch again`,
          );
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }
}
