// Checks on Exec, Attach and PortForward requests that need no runtime state; the
// RuntimeService adds the checks that do (the container exists and runs).
import { InvalidArgumentError } from "../../common/errors.js";
import type { AttachRequest, ExecRequest, PortForwardRequest } from "../api/generated/api.js";

interface StreamFlags {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

function validateStreamFlags(req: StreamFlags): void {
  // With a terminal, stderr is merged into stdout: the kubelet refuses to ask for both.
  if (req.tty && req.stderr) throw new InvalidArgumentError("stderr", "tty and stderr cannot both be true");
  if (!req.stdin && !req.stdout && !req.stderr) {
    throw new InvalidArgumentError("stdin", "one of stdin, stdout, and stderr must be set");
  }
}

export function validateExecRequest(req: ExecRequest): void {
  if (!req.containerId) throw new InvalidArgumentError("container_id", "is required");
  if (req.cmd.length === 0 || req.cmd[0] === "") throw new InvalidArgumentError("cmd", "must not be empty");
  validateStreamFlags(req);
}

export function validateAttachRequest(req: AttachRequest): void {
  if (!req.containerId) throw new InvalidArgumentError("container_id", "is required");
  validateStreamFlags(req);
}

export function validatePortForwardRequest(req: PortForwardRequest): void {
  if (!req.podSandboxId) throw new InvalidArgumentError("pod_sandbox_id", "is required");
  req.port.forEach((port, i) => {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new InvalidArgumentError(`port[${i}]`, `${port} is not a valid port (1-65535)`);
    }
  });
}
