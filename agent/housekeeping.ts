// Periodic housekeeping: image garbage collection on a node-cron schedule, container log
// rotation on a fixed interval (the kubelet's containerLogMonitorInterval, which need not
// divide a minute). Each job runs at most once at a time: a tick that finds it still running
// is skipped. A failure is logged and the next tick tries again.
import cron from "node-cron";
import type { Logger } from "../common/logger.js";

export type HousekeepingJob = {
  name: string;
  run(): Promise<unknown>;
} & (
  | {
      /** A cron expression, e.g. "*\/5 * * * *". */
      schedule: string;
    }
  | {
      /** Every this many milliseconds, counted from the start. */
      everyMs: number;
    }
);

export interface Housekeeping {
  stop(): void;
}

export function startHousekeeping(jobs: HousekeepingJob[], logger: Logger): Housekeeping {
  const stops = jobs.map((job) => {
    let running = false;
    const tick = (): void => {
      if (running) return;
      running = true;
      job
        .run()
        .catch((err: unknown) => logger.error({ err, job: job.name }, "housekeeping job failed"))
        .finally(() => (running = false));
    };
    if ("schedule" in job) {
      const task = cron.schedule(job.schedule, tick);
      return () => void task.stop();
    }
    const timer = setInterval(tick, job.everyMs);
    // Housekeeping alone never keeps the process alive.
    timer.unref();
    return () => clearInterval(timer);
  });
  return { stop: () => stops.forEach((stop) => stop()) };
}
