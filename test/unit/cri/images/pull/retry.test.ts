import { describe, expect, it } from "vitest";
import { RegistryRequestError } from "../../../../../cri/images/pull/registry-error.js";
import { retryClassifier } from "../../../../../cri/images/pull/registry-client.js";
import {
  backoffDelayMs,
  parseRetryAfter,
  withRetries,
  type RetryPolicy,
} from "../../../../../cri/images/pull/retry.js";

const policy: RetryPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 1000 };

describe("backoffDelayMs", () => {
  it("grows exponentially under a cap, scaled by jitter", () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, policy, () => 1))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(400);
    expect(backoffDelayMs(0, policy, () => 0)).toBe(0);
  });

  it("waits at least what the server asked, but never past the cap", () => {
    expect(backoffDelayMs(0, policy, () => 1, 700)).toBe(700);
    expect(backoffDelayMs(0, policy, () => 1, 60_000)).toBe(1000);
  });
});

describe("withRetries", () => {
  const transient = () => new RegistryRequestError("transient", "HTTP 503", 503);

  it("retries transient failures with pauses, then succeeds", async () => {
    const pauses: number[] = [];
    let calls = 0;
    const value = await withRetries(
      { policy, random: () => 1, sleep: async (ms) => void pauses.push(ms), classify: retryClassifier },
      async (attempt) => {
        calls++;
        if (attempt < 3) throw transient();
        return "ok";
      },
    );
    expect(value).toBe("ok");
    expect(calls).toBe(3);
    expect(pauses).toEqual([100, 200]);
  });

  it("stops after the bounded attempts with the last error", async () => {
    let calls = 0;
    const run = withRetries(
      { policy, random: () => 0, sleep: async () => {}, classify: retryClassifier },
      async () => {
        calls++;
        throw transient();
      },
    );
    await expect(run).rejects.toThrow("HTTP 503");
    expect(calls).toBe(4);
  });

  it("does not retry what will fail again", async () => {
    let calls = 0;
    const run = withRetries(
      { policy, random: () => 0, sleep: async () => {}, classify: retryClassifier },
      async () => {
        calls++;
        throw new RegistryRequestError("invalid", "digest mismatch");
      },
    );
    await expect(run).rejects.toThrow("digest mismatch");
    expect(calls).toBe(1);
  });

  it("stops when aborted", async () => {
    const controller = new AbortController();
    let calls = 0;
    const run = withRetries(
      {
        policy,
        random: () => 0,
        sleep: async () => {},
        classify: retryClassifier,
        signal: controller.signal,
      },
      async () => {
        calls++;
        controller.abort();
        throw transient();
      },
    );
    await expect(run).rejects.toThrow("HTTP 503");
    expect(calls).toBe(1);
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates", () => {
    const now = Date.parse("2024-01-01T00:00:00Z");
    expect(parseRetryAfter("5", now)).toBe(5000);
    expect(parseRetryAfter("Mon, 01 Jan 2024 00:00:10 GMT", now)).toBe(10_000);
    expect(parseRetryAfter("Sun, 31 Dec 2023 00:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
  });
});
