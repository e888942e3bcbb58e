import { describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import { RuntimeFailureError, type BerthError } from "../../../../common/errors.js";
import { explainCreateFailure } from "../../../../cri/runtime/create-failure.js";

/** The error a failed create becomes, given runc's words as conmon relayed them. */
function createFailure(ctx: { containerId: string; workingDir?: string }, message: string): BerthError {
  const err = new RuntimeFailureError(`conmon for container ${ctx.containerId}: ${message}`);
  return explainCreateFailure(err, ctx.workingDir ? { workingDir: ctx.workingDir } : {}) as BerthError;
}

describe("explainCreateFailure: working directories", () => {
  it("a working directory runc cannot enter is INVALID_ARGUMENT naming config.working_dir", () => {
    const message =
      'time="2026-12-06T03:31:22Z" level=warning msg="cannot toggle freezer: cgroups not configured for container"\n' +
      'time="2026-12-06T03:31:22Z" level=error msg="runc create failed: unable to start container process: ' +
      'error during container init: chdir to cwd (\\"/dev/zero\\") set in config.json failed: not a directory"';
    const err = createFailure({ containerId: "abc", workingDir: "/dev/zero" }, message);
    expect(err.grpcCode).toBe(status.INVALID_ARGUMENT);
    expect(err.message).toMatch(/^config\.working_dir: /);
    expect(err.message).toContain("/dev/zero");
    expect(err.message).toContain("not a directory");
  });

  it("runc 1.1's mkdir of the working directory is recognised, but only for that directory", () => {
    const message =
      'level=error msg="runc create failed: unable to start container process: error during container init: mkdir /etc/passwd: not a directory"';
    const err = createFailure({ containerId: "abc", workingDir: "/etc/passwd" }, message);
    expect(err.grpcCode).toBe(status.INVALID_ARGUMENT);
    expect(err.message).toBe(
      'config.working_dir: "/etc/passwd" cannot be the working directory in the container: not a directory',
    );
    // A mkdir of another path (a mount destination, say) is not the working directory's fault.
    expect(createFailure({ containerId: "abc", workingDir: "/work" }, message).grpcCode).toBe(
      status.INTERNAL,
    );
    expect(createFailure({ containerId: "abc" }, message).grpcCode).toBe(status.INTERNAL);
  });

  it("any other failure stays a runtime failure (INTERNAL) carrying conmon's words", () => {
    const err = createFailure(
      { containerId: "abc", workingDir: "/w" },
      "runc create failed: something broke",
    );
    expect(err.grpcCode).toBe(status.INTERNAL);
    expect(err.message).toBe("conmon for container abc: runc create failed: something broke");
  });
});
