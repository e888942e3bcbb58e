// Periodic housekeeping on node-cron schedules: image garbage collection for now. Each job
// runs at most once at a time; a failure is logged and the next tick tries again.
import cron from "node-cron";
import type { Logger } from "../common/logger.js";

export interface HousekeepingJob {
  name: string;
  /** A cron expression, e.g. "*\/5 * * * *". */
  schedule: string;
  run(): Promise<unknown>;
}

export interface Housekeeping {
  stop(): void;
}

export function startHousekeeping(jobs: HousekeepingJob[], logger: Logger): Housekeeping {
  const tasks = jobs.map((job) => {
    let running = false;
    return cron.schedule(job.schedule, () => {
      if (running) return;
      running = true;
      job
        .run()
        .catch((err: unknown) => logger.error({ err, job: job.name }, "housekeeping job failed"))
        .finally(() => (running = false));
    });
  });
  return { stop: () => tasks.forEach((t) => t.stop()) };
}
