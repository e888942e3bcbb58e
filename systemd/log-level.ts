// Changing the log level of a running agent. A pino child logger copies its parent's level
// when it is made and never looks again, and every module holds a child; so the root logger
// records its descendants (weakly: per-request children come and go) and a level change
// reaches all of them.
import type { Logger } from "../common/logger.js";

export interface LevelControl {
  /** Sets the level on the root logger and on every live descendant. */
  setLevel(level: string): void;
  /** Live descendants, for tests. */
  descendants(): number;
}

export function trackLogLevel(root: Logger): LevelControl {
  const children = new Set<WeakRef<Logger>>();
  const registry = new FinalizationRegistry<WeakRef<Logger>>((ref) => children.delete(ref));
  const previous = root.onChild;
  // Children inherit onChild from their parent, so grandchildren are recorded too.
  root.onChild = (child) => {
    const ref = new WeakRef(child as Logger);
    children.add(ref);
    registry.register(child, ref);
    previous.call(root, child);
  };
  return {
    setLevel(level) {
      root.level = level;
      for (const ref of children) {
        const child = ref.deref();
        if (child === undefined) children.delete(ref);
        else child.level = level;
      }
    },
    descendants: () => [...children].filter((ref) => ref.deref() !== undefined).length,
  };
}
