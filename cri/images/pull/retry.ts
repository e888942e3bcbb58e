// Retries of registry requests that failed for a passing reason (a reset connection, 429, 5xx):
// exponential backoff with full jitter, a bounded number of attempts, and a server's
// Retry-After honoured up to a cap.
import { setTimeout as delay } from "node:timers/promises";

export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Upper bound of the first pause; doubled for each further one. */
  baseDelayMs: number;
  /** No pause is longer than this, whatever a server asks for. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { attempts: 4, baseDelayMs: 250, maxDelayMs: 8_000 };

/** Pauses `ms`; rejects when `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = async (ms, signal) => {
  await delay(ms, undefined, signal ? { signal } : {});
};

/** The pause before retry number `retry` (0 for the first retry): a random share of an
 * exponentially growing ceiling, so that many clients do not retry in step. */
export function backoffDelayMs(
  retry: number,
  policy: RetryPolicy,
  random: () => number,
  retryAfterMs?: number,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  const jittered = Math.floor(random() * ceiling);
  return Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterMs ?? 0));
}

export interface RetryContext {
  policy: RetryPolicy;
  sleep: Sleep;
  random: () => number;
  signal?: AbortSignal;
  /** Whether `err` is worth another try; with the server's requested pause, if any. */
  classify(err: unknown): { retry: boolean; retryAfterMs?: number };
  onRetry?(err: unknown, attempt: number, delayMs: number): void;
}

/** Runs `work` until it succeeds, fails for good, or runs out of attempts (the last error is
 * thrown). `attempt` counts from 1. */
export async function withRetries<T>(ctx: RetryContext, work: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (err) {
      const { retry, retryAfterMs } = ctx.classify(err);
      if (!retry || attempt >= ctx.policy.attempts || ctx.signal?.aborted) throw err;
      const pause = backoffDelayMs(attempt - 1, ctx.policy, ctx.random, retryAfterMs);
      ctx.onRetry?.(err, attempt, pause);
      await ctx.sleep(pause, ctx.signal);
    }
  }
}

/** Retry-After as seconds or an HTTP date, in ms from `nowMs`; undefined when absent or bad. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
