// Every create step registers how to undo itself; when a later step fails, the steps
// before it are undone in reverse order, so a failed operation leaves nothing behind.
import type { Logger } from "../../common/logger.js";

export class UndoStack {
  private readonly steps: { what: string; undo: () => Promise<void> }[] = [];

  constructor(private readonly logger: Logger) {}

  push(what: string, undo: () => Promise<void>): void {
    this.steps.push({ what, undo });
  }

  /** Runs every undo step, newest first; an undo that fails is logged and the rest still run. */
  async rollback(): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        await step.undo();
      } catch (err) {
        this.logger.error({ err, step: step.what }, "rollback step failed");
      }
    }
  }

  /** Runs body; on failure rolls back and rethrows the original error. */
  static async run<T>(logger: Logger, body: (undo: UndoStack) => Promise<T>): Promise<T> {
    const undo = new UndoStack(logger);
    try {
      return await body(undo);
    } catch (err) {
      await undo.rollback();
      throw err;
    }
  }
}
