import { describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import {
  AlreadyExistsError,
  DataLossError,
  DETAILS_LIMIT,
  echo,
  ECHO_LIMIT,
  InvalidArgumentError,
  NotFoundError,
  toGrpcStatus,
} from "../../../common/errors.js";

describe("echo", () => {
  it("keeps short values whole and caps long ones, saying how long they were", () => {
    expect(echo("abc")).toBe("abc");
    expect(echo("x".repeat(ECHO_LIMIT))).toBe("x".repeat(ECHO_LIMIT));
    const long = echo("y".repeat(100_000));
    expect(long.startsWith("y".repeat(ECHO_LIMIT))).toBe(true);
    expect(long.length).toBeLessThan(ECHO_LIMIT + 40);
    expect(long).toContain("100000 characters");
  });
});

describe("errors never carry unbounded input", () => {
  const huge = "z".repeat(100_000);
  it.each([
    ["NotFoundError", new NotFoundError("container", huge)],
    ["AlreadyExistsError", new AlreadyExistsError("container", huge, huge)],
    ["InvalidArgumentError (field)", new InvalidArgumentError(huge, "bad")],
    ["InvalidArgumentError (problem)", new InvalidArgumentError("f", huge)],
  ])("%s", (_name, err) => {
    expect(err.message.length).toBeLessThanOrEqual(DETAILS_LIMIT + 200);
    expect(toGrpcStatus(err).details.length).toBeLessThanOrEqual(DETAILS_LIMIT + 40);
  });

  it("the INTERNAL catch-all caps its message too", () => {
    const mapped = toGrpcStatus(new Error(huge));
    expect(mapped.code).toBe(status.INTERNAL);
    expect(mapped.details.length).toBeLessThanOrEqual(DETAILS_LIMIT + 40);
    expect(toGrpcStatus(huge).details.length).toBeLessThanOrEqual(DETAILS_LIMIT + 40);
  });

  it("DataLoss maps to DATA_LOSS", () => {
    expect(toGrpcStatus(new DataLossError("blob: content has digest a, expected b"))).toEqual({
      code: status.DATA_LOSS,
      details: "blob: content has digest a, expected b",
    });
  });
});
