// Fans events out to any number of subscribers, each reading at its own pace through its own
// bounded buffer. A subscriber that falls behind loses its own oldest events; it never holds
// up the publisher or the other subscribers, and memory stays bounded however slow it is.

export const DEFAULT_SUBSCRIBER_BUFFER = 1000;

export interface EventBusOptions {
  /** Events each subscriber may have waiting before its oldest are dropped (default 1000). */
  readonly capacity?: number;
  /** Told when a subscriber starts losing events (once per overrun, not once per event). */
  readonly onOverrun?: (info: { subscriber: number; capacity: number }) => void;
}

export interface EventSubscription<T> extends AsyncIterable<T> {
  /** Numbered in subscription order, for logs. */
  readonly id: number;
  /** Events this subscriber lost because its buffer was full. */
  readonly dropped: number;
  /** Events waiting to be read. */
  readonly pending: number;
  /** Ends the subscription: a waiting reader is released, buffered events are discarded. */
  close(): void;
}

/** A fixed-size FIFO that overwrites its oldest entry when full. */
class RingBuffer<T> {
  private readonly slots: (T | undefined)[];
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.slots = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  /** Appends; returns true when the oldest entry had to go to make room. */
  push(value: T): boolean {
    const tail = (this.head + this.count) % this.capacity;
    this.slots[tail] = value;
    if (this.count < this.capacity) {
      this.count++;
      return false;
    }
    this.head = (this.head + 1) % this.capacity;
    return true;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const value = this.slots[this.head];
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    return value;
  }

  clear(): void {
    this.slots.fill(undefined);
    this.head = 0;
    this.count = 0;
  }
}

class Subscriber<T> implements EventSubscription<T> {
  dropped = 0;
  private readonly buffer: RingBuffer<T>;
  private waiting: ((result: IteratorResult<T>) => void) | undefined;
  private closed = false;
  private overrunning = false;

  constructor(
    readonly id: number,
    capacity: number,
    private readonly onClose: (subscriber: Subscriber<T>) => void,
    private readonly onOverrun: EventBusOptions["onOverrun"],
  ) {
    this.buffer = new RingBuffer<T>(capacity);
  }

  get pending(): number {
    return this.buffer.size;
  }

  deliver(event: T): void {
    if (this.closed) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: event, done: false });
      return;
    }
    if (this.buffer.push(event)) {
      this.dropped++;
      if (!this.overrunning) {
        this.overrunning = true;
        this.onOverrun?.({ subscriber: this.id, capacity: this.buffer.capacity });
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffer.clear();
    this.onClose(this);
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve?.({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private next(): Promise<IteratorResult<T>> {
    if (this.buffer.size > 0) {
      const value = this.buffer.shift() as T;
      if (this.buffer.size === 0) this.overrunning = false;
      return Promise.resolve({ value, done: false });
    }
    this.overrunning = false;
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    // One reader at a time: a second concurrent next() would steal the first one's event.
    if (this.waiting) return Promise.reject(new Error("event subscription is already being read"));
    return new Promise((resolve) => (this.waiting = resolve));
  }
}

export class EventBus<T> {
  private readonly subscribers = new Set<Subscriber<T>>();
  private readonly capacity: number;
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: EventBusOptions = {}) {
    this.capacity = Math.max(1, Math.floor(options.capacity ?? DEFAULT_SUBSCRIBER_BUFFER));
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * Subscribes now (events published from this call on are delivered), not when iteration
   * starts. Aborting `signal` ends the subscription.
   */
  subscribe(signal?: AbortSignal): EventSubscription<T> {
    const subscriber = new Subscriber<T>(
      this.nextId++,
      this.capacity,
      (s) => this.subscribers.delete(s),
      this.options.onOverrun,
    );
    if (this.closed || signal?.aborted) {
      subscriber.close();
      return subscriber;
    }
    this.subscribers.add(subscriber);
    signal?.addEventListener("abort", () => subscriber.close(), { once: true });
    return subscriber;
  }

  publish(event: T): void {
    for (const subscriber of this.subscribers) subscriber.deliver(event);
  }

  /** Ends every subscription; later subscriptions end at once. */
  close(): void {
    this.closed = true;
    for (const subscriber of [...this.subscribers]) subscriber.close();
  }
}
