import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../../../common/errors.js";
import {
  criuCheckFailure,
  probeCriu,
  validateCheckpointLocation,
} from "../../../../cri/runtime/checkpoint.js";

describe("checkpoint", () => {
  it("quotes CRIU's error lines", () => {
    const output =
      "Warn (criu/kerndat.c:1): something\n" +
      "Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds\n" +
      "Error (criu/crtools.c:260): Could not initialize kernel features detection.\n";
    expect(criuCheckFailure(output)).toBe(
      "Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds; " +
        "Error (criu/crtools.c:260): Could not initialize kernel features detection.",
    );
    expect(criuCheckFailure("Looks bad\n")).toBe("Looks bad");
    expect(criuCheckFailure("")).toBe("no output");
  });

  it("a missing criu binary is reported as not installed", async () => {
    const support = await probeCriu("/nonexistent/criu");
    expect(support).toEqual({
      supported: false,
      reason: "/nonexistent/criu is not installed (Debian package criu)",
    });
  });

  it("the location must be an absolute path", () => {
    expect(() => validateCheckpointLocation("")).toThrow(InvalidArgumentError);
    expect(() => validateCheckpointLocation("a.tar")).toThrow(/absolute/);
    expect(() => validateCheckpointLocation("/a\0.tar")).toThrow(/NUL/);
    expect(() => validateCheckpointLocation("/var/lib/a.tar")).not.toThrow();
  });
});
