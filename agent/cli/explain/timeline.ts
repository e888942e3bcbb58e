// `berth explain --timeline`: what happened to a pod, one entry per happening, oldest first,
// from what explain already gathers: the pod's events (scheduling, pulls, creations, starts,
// probe failures, kills, OOM kills, back-offs, evictions), its conditions (sandbox ready,
// Ready), and its container statuses (each attempt's start and exit with code and reason:
// events fold repeats into one with the latest time, so earlier starts and the exits are
// only in the statuses). Pure, like the diagnosis.
import type { PodEvent } from "../../api/generated/berth.js";
import type { ContainerStateView } from "../../pods/pod-manager-api.js";
import { containerOf, normalizeEvents, oomEventKind } from "./events.js";
import { exitEvidence, terminatedOf, type Terminated } from "./facts.js";
import type { ExplainInput } from "./types.js";

export interface TimelineEntry {
  /** RFC 3339, as recorded: events to the millisecond, statuses to the second. */
  time: string;
  /** The container it happened to; absent for the pod itself. */
  container?: string;
  /** What happened, in Kubernetes' words: Scheduled, Pulled, Created, Started, Unhealthy, Killing, OOMKilled, Exited, BackOff, Evicted ... */
  what: string;
  /** Warning for what went wrong. */
  type: "Normal" | "Warning";
  /** The evidence: the event's message, the exit code and reason, the probe's output. */
  details: string;
  /** Times it was seen (the node folds repeats of an event into one, with the latest time). */
  count: number;
  /** Where it was read. */
  source: "event" | "status";
}

export interface Timeline {
  pod: { namespace: string; name: string; uid: string };
  /** Oldest first. */
  entries: TimelineEntry[];
}

/** One entry before ordering: the time in ms to sort by, and whether it is only known to the second. */
interface Placed {
  entry: TimelineEntry;
  ms: number;
  /** Tie-break within one millisecond: the usual order of a pod's life. */
  rank: number;
  /** For an exit: the start of the same run. */
  runStart?: Placed;
}

/** The order things happen in when their times cannot tell (whole-second status times). */
const LIFE_ORDER = [
  "Applied",
  "Scheduled",
  "SandboxReady",
  "SandboxChanged",
  "FailedCreatePodSandBox",
  "Pulling",
  "Pulled",
  "Failed",
  "BackOff",
  "Created",
  "Started",
  "Restarted",
  "Ready",
  "ProbeWarning",
  "Unhealthy",
  "NotReady",
  "Killing",
  "OOMKilling",
  "OOMKilled",
  "Exited",
  "Evicted",
  "Deleting",
];

function rankOf(what: string): number {
  const i = LIFE_ORDER.indexOf(what);
  return i < 0 ? LIFE_ORDER.indexOf("Killing") : i;
}

function msOf(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}

const SECOND = 1000;

function fromEvent(e: PodEvent): Placed | undefined {
  const ms = msOf(e.time);
  if (ms === undefined) return undefined;
  const container = e.fieldPath ? containerOf(e.fieldPath) : undefined;
  // The runtime's OOM events are OOMKilling when the main process kept running.
  const what = oomEventKind(e) === "container-killed" && e.reason !== "OOMKilling" ? "OOMKilled" : e.reason;
  return {
    entry: {
      time: e.time,
      ...(container !== undefined && { container }),
      what,
      type: e.type === "Warning" ? "Warning" : "Normal",
      details: e.message.trim(),
      count: Math.max(1, e.count),
      source: "event",
    },
    ms,
    rank: rankOf(what),
  };
}

/** "exited with code 137 (OOMKilled) after ~2m". */
function exitDetails(t: Terminated): string {
  return exitEvidence(t).replace(/^exited with /, "exit ");
}

interface Attempt {
  started?: string;
  terminated?: Terminated;
  /** 0 for the first run; restarts counted from there. */
  restart: number;
}

/** Each attempt a status records: the last one (lastState) and the current one. */
function attemptsOf(
  state: ContainerStateView | Record<string, never>,
  last: ContainerStateView | Record<string, never>,
  restartCount: number,
): Attempt[] {
  const attempts: Attempt[] = [];
  const previous = terminatedOf(last);
  if (previous !== undefined && restartCount > 0)
    attempts.push({ started: previous.startedAt, terminated: previous, restart: restartCount - 1 });
  if ("running" in state) attempts.push({ started: state.running.startedAt, restart: restartCount });
  const current = terminatedOf(state);
  if (current !== undefined)
    attempts.push({ started: current.startedAt, terminated: current, restart: restartCount });
  return attempts;
}

function fromStatuses(input: Pick<ExplainInput, "pod">): Placed[] {
  const out: Placed[] = [];
  const { status } = input.pod;
  for (const s of [...status.initContainerStatuses, ...status.containerStatuses]) {
    for (const attempt of attemptsOf(s.state, s.lastState, s.restartCount)) {
      const started = msOf(attempt.started);
      let runStart: Placed | undefined;
      if (started !== undefined) {
        const what = attempt.restart > 0 ? "Restarted" : "Started";
        runStart = {
          entry: {
            time: attempt.started as string,
            container: s.name,
            what,
            type: "Normal",
            details: attempt.restart > 0 ? `restart ${attempt.restart}` : "first run",
            count: 1,
            source: "status",
          },
          ms: started,
          rank: rankOf(what),
        };
        out.push(runStart);
      }
      const t = attempt.terminated;
      const finished = msOf(t?.finishedAt);
      if (t !== undefined && finished !== undefined) {
        const what = t.reason === "OOMKilled" ? "OOMKilled" : "Exited";
        out.push({
          entry: {
            time: t.finishedAt,
            container: s.name,
            what,
            type: t.exitCode === 0 && what === "Exited" ? "Normal" : "Warning",
            details: exitDetails(t),
            count: 1,
            source: "status",
          },
          // Known to the second only: placeExits puts it within that second.
          ms: finished,
          rank: rankOf(what),
          ...(runStart !== undefined && { runStart }),
        });
      }
    }
  }
  for (const c of status.conditions) {
    const ms = msOf(c.lastTransitionTime);
    if (ms === undefined) continue;
    let what: string | undefined;
    if (c.type === "PodReadyToStartContainers" && c.status === "True") what = "SandboxReady";
    if (c.type === "Ready") what = c.status === "True" ? "Ready" : "NotReady";
    if (what === undefined) continue;
    const details =
      what === "SandboxReady"
        ? "pod sandbox created, network ready"
        : [c.reason, c.message].filter((p) => p !== undefined && p !== "").join(": ") ||
          (what === "Ready" ? "all containers ready" : "not ready");
    out.push({
      entry: {
        time: c.lastTransitionTime,
        what,
        type: what === "NotReady" ? "Warning" : "Normal",
        details,
        count: 1,
        source: "status",
      },
      ms,
      rank: rankOf(what),
    });
  }
  return out;
}

/**
 * A status start and its Started event are one happening: the event's time is finer, the
 * status says which restart it was. A status OOM kill and the runtime's OOMKilled event, too.
 */
function mergeTwins(statuses: Placed[], events: Placed[]): Placed[] {
  const used = new Set<Placed>();
  const twinOf: Record<string, string> = { Started: "Started", Restarted: "Started", OOMKilled: "OOMKilled" };
  for (const s of statuses) {
    const twin = twinOf[s.entry.what];
    if (twin === undefined) continue;
    const second = Math.floor(Date.parse(s.entry.time) / SECOND) * SECOND;
    const match = events.find(
      (e) =>
        !used.has(e) &&
        e.entry.what === twin &&
        e.entry.container === s.entry.container &&
        e.ms >= second - SECOND &&
        e.ms < second + 2 * SECOND,
    );
    if (match === undefined) continue;
    used.add(match);
    // The event is recorded when the node notices, which can be a moment later: its finer
    // time is used only when it agrees with the status to the second.
    if (match.ms >= second && match.ms < second + SECOND) {
      s.entry = { ...s.entry, time: match.entry.time };
      s.ms = match.ms;
    }
  }
  return [...statuses, ...events.filter((e) => !used.has(e))];
}

/** What leads to a container's exit: an exit in the same second comes after them. */
const EXIT_CAUSES = new Set([
  "Unhealthy",
  "ProbeWarning",
  "Killing",
  "OOMKilling",
  "FailedPostStartHook",
  "FailedPreStopHook",
]);
/** What starts a container's next run: an exit in the same second comes before them. */
const RUN_STARTS = new Set(["Created", "Started", "Restarted"]);

/**
 * Exits are known to the second (status times), the events around them to the millisecond.
 * Within its second, an exit goes after its run's start and the kills and probe failures that
 * led to it, and before the next run's Created and Started; anything else in that second
 * keeps the order of its time.
 */
function placeExits(placed: Placed[]): void {
  for (const exit of placed) {
    if (exit.entry.source !== "status" || (exit.entry.what !== "Exited" && exit.entry.what !== "OOMKilled"))
      continue;
    const second = exit.ms;
    const runStartMs = exit.runStart?.ms ?? -Infinity;
    const sameSecond = placed.filter(
      (p) =>
        p !== exit &&
        p !== exit.runStart &&
        p.entry.container === exit.entry.container &&
        p.ms >= second &&
        p.ms < second + SECOND &&
        p.ms > runStartMs,
    );
    let ms = Math.max(second, runStartMs + 0.5);
    for (const cause of sameSecond) if (EXIT_CAUSES.has(cause.entry.what)) ms = Math.max(ms, cause.ms + 0.5);
    for (const next of sameSecond)
      if (RUN_STARTS.has(next.entry.what) && next.ms <= ms) ms = Math.min(ms, next.ms - 0.5);
    exit.ms = ms;
  }
}

/** Deletion under way: from the first "Stopping container" kill, else now. */
function deletion(input: Pick<ExplainInput, "pod" | "now">, events: Placed[]): Placed[] {
  if (!input.pod.terminating) return [];
  const stops = events.filter(
    (e) => e.entry.what === "Killing" && /^Stopping container /.test(e.entry.details),
  );
  const first = stops.sort((a, b) => a.ms - b.ms)[0];
  const ms = first !== undefined ? first.ms - 1 : input.now;
  return [
    {
      entry: {
        time: new Date(ms).toISOString(),
        what: "Deleting",
        type: "Normal",
        details: "deletion requested: containers are being stopped",
        count: 1,
        source: "status",
      },
      ms,
      rank: rankOf("Deleting"),
    },
  ];
}

export function buildTimeline(input: Pick<ExplainInput, "pod" | "events" | "now">): Timeline {
  const events = normalizeEvents(input.events)
    .map(fromEvent)
    .filter((p): p is Placed => p !== undefined);
  const placed = mergeTwins(fromStatuses(input), events);
  const hasScheduled = events.some((e) => e.entry.what === "Scheduled");
  const startTime = msOf(input.pod.status.startTime);
  // The event history is bounded: without its Scheduled event, the pod's start time tells when it was applied.
  if (!hasScheduled && startTime !== undefined)
    placed.push({
      entry: {
        time: input.pod.status.startTime as string,
        what: "Applied",
        type: "Normal",
        details: "the node accepted the pod",
        count: 1,
        source: "status",
      },
      ms: startTime,
      rank: rankOf("Applied"),
    });
  placeExits(placed);
  placed.push(...deletion(input, events));
  const ordered = placed
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.ms - b.p.ms || a.p.rank - b.p.rank || a.i - b.i)
    .map(({ p }) => p.entry);
  const { metadata } = input.pod;
  return { pod: { namespace: metadata.namespace, name: metadata.name, uid: metadata.uid }, entries: ordered };
}
