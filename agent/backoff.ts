// CrashLoopBackOff: how long a failed container waits before it is started again. The rules
// are the kubelet's: the first delay is 10 s, each further failure doubles it up to 5 min,
// and a container that ran for longer than twice the maximum (10 min) since it was last
// allowed to restart is considered fixed, so its next failure starts over at 10 s.
// Keys are chosen by the caller, one per container (e.g. `<pod uid>/<container name>`).
import type { Clock } from "../common/clock.js";

export const DEFAULT_INITIAL_BACKOFF_MS = 10_000;
export const DEFAULT_MAX_BACKOFF_MS = 300_000;

export interface BackOffOptions {
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
}

interface Entry {
  /** The delay given at the last failure. */
  readonly delayMs: number;
  /** When that delay ends: the earliest moment of the restart. */
  readonly restartAt: number;
}

export class CrashLoopBackOff {
  private readonly entries = new Map<string, Entry>();
  private readonly initialDelayMs: number;
  private readonly maxDelayMs: number;
  private lastGcAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    options: BackOffOptions = {},
  ) {
    this.initialDelayMs = options.initialDelayMs ?? DEFAULT_INITIAL_BACKOFF_MS;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_BACKOFF_MS;
    if (!(this.initialDelayMs > 0 && this.maxDelayMs >= this.initialDelayMs)) {
      throw new RangeError("backoff delays must satisfy 0 < initialDelayMs <= maxDelayMs");
    }
  }

  /**
   * Records that `key` failed at `now` and returns the delay (ms) before it may start again.
   * Successive failures give 10 s, 20 s, 40 s, 80 s, 160 s, 300 s, 300 s, ...
   */
  next(key: string, now: number = this.clock.now()): number {
    this.collectIfDue(now);
    const entry = this.entries.get(key);
    const delayMs =
      entry === undefined || this.ranLongEnough(entry, now)
        ? this.initialDelayMs
        : Math.min(entry.delayMs * 2, this.maxDelayMs);
    this.entries.set(key, { delayMs, restartAt: now + delayMs });
    return delayMs;
  }

  /** True while `key` must not be restarted yet. */
  isInBackOff(key: string, now: number = this.clock.now()): boolean {
    return this.remainingMs(key, now) > 0;
  }

  /** How long `key` must still wait (0 when it may start now). */
  remainingMs(key: string, now: number = this.clock.now()): number {
    const entry = this.entries.get(key);
    return entry === undefined ? 0 : Math.max(0, entry.restartAt - now);
  }

  /** The delay given at the last failure of `key`, 0 if none is remembered. */
  currentDelayMs(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  /** The container is known to be good again (e.g. its spec changed): its next failure waits 10 s. */
  reset(key: string): void {
    this.entries.delete(key);
  }

  /** The container is gone for good (pod deleted): nothing about it is kept. */
  forget(key: string): void {
    this.entries.delete(key);
  }

  /**
   * Drops entries that have outlived their use: once a key ran long enough to start over, its
   * entry changes nothing, so removing it is invisible to callers. `next` calls this now and
   * then; a caller may also run it from housekeeping.
   */
  collectGarbage(now: number = this.clock.now()): void {
    this.lastGcAt = now;
    for (const [key, entry] of this.entries) {
      if (this.ranLongEnough(entry, now)) this.entries.delete(key);
    }
  }

  /** Number of keys remembered (for metrics and tests). */
  get size(): number {
    return this.entries.size;
  }

  private ranLongEnough(entry: Entry, now: number): boolean {
    return now - entry.restartAt > 2 * this.maxDelayMs;
  }

  private collectIfDue(now: number): void {
    if (now - this.lastGcAt >= this.maxDelayMs) this.collectGarbage(now);
  }
}
