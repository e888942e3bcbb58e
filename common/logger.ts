// berth logs JSON lines to stdout with pino; journald keeps them. Modules receive a Logger
// from their host instead of creating one, so tests can pass a silent one.
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string = process.env.BERTH_LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: { service: "berth" } });
}

export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
