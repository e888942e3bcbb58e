// Pending streaming requests, keyed by the token in the URL an Exec/Attach/PortForward RPC
// returns. A token is random (crypto), works once, and expires after a minute, as the
// kubelet's own cache: the URL is a capability, so it must be unguessable and short-lived.
import { randomBytes } from "node:crypto";
import { ResourceExhaustedError } from "../../common/errors.js";
import type { Clock } from "../../common/clock.js";

export const DEFAULT_TOKEN_TTL_MS = 60_000;
export const DEFAULT_MAX_IN_FLIGHT = 1000;

export class RequestCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs = DEFAULT_TOKEN_TTL_MS,
    private readonly maxInFlight = DEFAULT_MAX_IN_FLIGHT,
  ) {}

  /** Stores a request and returns its new token (URL-safe). */
  insert(value: T): string {
    this.evictExpired();
    if (this.entries.size >= this.maxInFlight) {
      throw new ResourceExhaustedError(`too many pending streaming requests (${this.maxInFlight})`);
    }
    let token: string;
    do token = randomBytes(16).toString("base64url");
    while (this.entries.has(token));
    this.entries.set(token, { value, expiresAt: this.clock.now() + this.ttlMs });
    return token;
  }

  /** Takes a request out: undefined for unknown, used or expired tokens. */
  consume(token: string): T | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    if (this.clock.now() >= entry.expiresAt) return undefined;
    return entry.value;
  }

  /** True while the token is usable; does not use it up. */
  has(token: string): boolean {
    const entry = this.entries.get(token);
    return entry !== undefined && this.clock.now() < entry.expiresAt;
  }

  get size(): number {
    return this.entries.size;
  }

  private evictExpired(): void {
    const now = this.clock.now();
    for (const [token, entry] of this.entries) if (now >= entry.expiresAt) this.entries.delete(token);
  }
}
