// Attach: the container's own conmon serves its stdio on <attachDir>/<id>/attach (a
// symlink to the bundle dir, which keeps the socket path short). Output from then on
// reaches the client; stdin reaches the container when it was created with stdin;
// resizes go through conmon's control fifo in the bundle dir. The session ends when the
// container (and so its conmon) exits, or when the client leaves.
import { join } from "node:path";
import type { Logger } from "../../common/logger.js";
import type { CommandOutcome, CommandStreams } from "./command.js";
import { attachConmon } from "./conmon-attach.js";
import { writeControl } from "./exec-terminal.js";

export interface AttachTarget {
  attachDir: string;
  containerId: string;
  bundleDir: string;
  perlBinary: string;
  logger: Logger;
}

export async function attachToContainer(
  target: AttachTarget,
  streams: CommandStreams,
): Promise<CommandOutcome> {
  const ctl = join(target.bundleDir, "ctl");
  let resizing = Promise.resolve();
  if (streams.tty) {
    streams.onResize((size) => {
      resizing = resizing
        .then(() => writeControl(ctl, `1 ${size.height} ${size.width}\n`))
        .catch((err: Error) =>
          target.logger.debug({ err, container: target.containerId }, "terminal resize failed"),
        );
    });
  }
  const attachment = attachConmon(join(target.attachDir, target.containerId), streams, target.perlBinary);
  const onAbort = (): void => attachment.detach();
  streams.signal.addEventListener("abort", onAbort, { once: true });
  try {
    await attachment.connected;
  } catch (err) {
    attachment.detach();
    return {
      kind: "failed",
      message: `cannot attach to container ${target.containerId}: ${(err as Error).message}`,
    };
  }
  try {
    await attachment.done;
    await resizing;
    return { kind: "exited", exitCode: 0 };
  } finally {
    streams.signal.removeEventListener("abort", onAbort);
    attachment.detach();
  }
}
