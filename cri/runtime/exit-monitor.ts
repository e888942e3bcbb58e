// Watches the directory where conmon drops one file per exited container, so a container
// that exits on its own is recorded at once, not at the next status call.
import { watch, type FSWatcher } from "node:fs";
import { mkdir } from "node:fs/promises";
import type { Logger } from "../../common/logger.js";

export class ExitMonitor {
  private watcher?: FSWatcher;

  constructor(
    private readonly exitsDir: string,
    private readonly onExit: (containerId: string) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await mkdir(this.exitsDir, { recursive: true, mode: 0o700 });
    this.watcher = watch(this.exitsDir, (_event, filename) => {
      if (!filename || filename.startsWith(".")) return;
      this.onExit(filename.toString()).catch((err: unknown) =>
        this.logger.error({ err, container: filename }, "recording a container exit failed"),
      );
    });
    this.watcher.on("error", (err) => this.logger.error({ err }, "exit monitor failed"));
  }

  close(): void {
    this.watcher?.close();
  }
}
