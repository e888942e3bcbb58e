// The kernel's limits on a path: no name longer than NAME_MAX bytes, no path longer than
// PATH_MAX. A request naming a longer path can never succeed, and some tools (conmon relaying
// runc's error, say) handle one badly, so such paths are refused before anything is made.
import { echo, InvalidArgumentError } from "./errors.js";

export const NAME_MAX = 255;
export const PATH_MAX = 4096;

/** Throws InvalidArgumentError naming `field` when `path` or one of its names is too long. */
export function checkPathLength(path: string, field: string): void {
  if (Buffer.byteLength(path) >= PATH_MAX) {
    throw new InvalidArgumentError(
      field,
      `"${echo(path)}" is longer than the ${PATH_MAX - 1} bytes a path may have`,
    );
  }
  for (const name of path.split("/")) {
    if (Buffer.byteLength(name) > NAME_MAX) {
      throw new InvalidArgumentError(
        field,
        `"${echo(path)}" has a name longer than the ${NAME_MAX} bytes a file name may have`,
      );
    }
  }
}
