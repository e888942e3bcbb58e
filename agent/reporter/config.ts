// The `reporter` section of berth's config: where the orchestrator listens, how often berth
// reports, TLS, and how much the reporter keeps while the orchestrator is away.
import { InvalidArgumentError } from "../../common/errors.js";

export interface ReporterConfig {
  /** The orchestrator's gRPC address ("host:port", "unix:///path"); "" switches reporting off. */
  endpoint: string;
  /** Seconds between reports when nothing changes (a pod change reports at once). */
  intervalSeconds: number;
  tls: {
    enabled: boolean;
    /** PEM of the CA that signed the orchestrator's certificate; "" for the system's CAs. */
    caFile: string;
    /** Client certificate and key (PEM) when the orchestrator asks for one; "" for none. */
    certFile: string;
    keyFile: string;
    /** The name to check the orchestrator's certificate against, when not the endpoint's host. */
    serverName: string;
  };
  /**
   * Metric samples, and pod events, kept while the orchestrator cannot be reached: beyond it the
   * oldest are dropped (and counted). 360 samples are an hour at the default interval.
   */
  queueLimit: number;
  /**
   * Pod status changes kept while the orchestrator cannot be reached. They are never dropped
   * one by one: beyond this the queue is replaced by one full report of every pod.
   */
  podUpdateLimit: number;
}

export function defaultReporterConfig(): ReporterConfig {
  return {
    endpoint: "",
    intervalSeconds: 10,
    tls: { enabled: false, caFile: "", certFile: "", keyFile: "", serverName: "" },
    queueLimit: 360,
    podUpdateLimit: 10_000,
  };
}

export function validateReporterConfig(config: ReporterConfig, section = "reporter"): void {
  if (!(config.intervalSeconds > 0) || !Number.isFinite(config.intervalSeconds))
    throw new InvalidArgumentError(`${section}: intervalSeconds`, "must be a positive number of seconds");
  for (const field of ["queueLimit", "podUpdateLimit"] as const) {
    if (!Number.isInteger(config[field]) || config[field] < 1)
      throw new InvalidArgumentError(`${section}: ${field}`, "must be a whole number, 1 or more");
  }
  if ((config.tls.certFile === "") !== (config.tls.keyFile === ""))
    throw new InvalidArgumentError(`${section}: tls`, "certFile and keyFile go together");
  if (!config.tls.enabled && (config.tls.caFile || config.tls.certFile))
    throw new InvalidArgumentError(`${section}: tls: enabled`, "must be true when TLS files are given");
}
