// How long the reporter waits before trying an unreachable orchestrator again: exponential
// (1 s, 2 s, 4 s, ... up to 60 s) with "equal jitter", a random half of each step added to the
// other half, so that a fleet of nodes that lost the orchestrator together does not come back
// at the same instant while each node still waits at least half the step.
export interface RetryBackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  /** A number in [0, 1); Math.random by default. */
  readonly random?: () => number;
}

export class RetryBackoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;
  private failures = 0;

  constructor(options: RetryBackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1000;
    this.maxMs = options.maxMs ?? 60_000;
    this.random = options.random ?? Math.random;
    if (!(this.initialMs > 0 && this.maxMs >= this.initialMs)) {
      throw new RangeError("backoff delays must satisfy 0 < initialMs <= maxMs");
    }
  }

  /** The delay after one more failure. */
  next(): number {
    const step = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return Math.round(step / 2 + this.random() * (step / 2));
  }

  reset(): void {
    this.failures = 0;
  }

  /** Failures since the last success. */
  get consecutiveFailures(): number {
    return this.failures;
  }
}
