// Every CLI command module, in the order `berth --help` lists them. A new command is a
// new file in this folder plus one entry here.
//
// A module is imported only when its command runs: the others appear in the help listing
// from the light summaries below, so `berth --version` or `berth pods` never load the
// daemon, the CRI runtime or code generated for services they do not call. A unit test
// checks that each summary matches what its module registers.
import type { RegisterCommand } from "../context.js";

/** How the top-level help lists a command, without loading its module. */
export interface CommandSummary {
  name: string;
  /** The help's term for it, as commander writes it: "logs [options] <container>". */
  term: string;
  description: string;
}

export interface CommandModule {
  commands: CommandSummary[];
  load(): Promise<RegisterCommand>;
}

export const COMMAND_MODULES: CommandModule[] = [
  {
    commands: [{ name: "agent", term: "agent [options]", description: "run the berth agent (the daemon)" }],
    load: async () => (await import("./agent.js")).registerAgent,
  },
  {
    commands: [
      {
        name: "pods",
        term: "pods [options]",
        description: "list the node's pods (READY, STATUS and RESTARTS as kubectl shows them)",
      },
      { name: "ps", term: "ps [options]", description: "list containers" },
    ],
    load: async () => (await import("./pods.js")).registerPods,
  },
  {
    commands: [
      {
        name: "apply",
        term: "apply [options]",
        description: "create or update pods from Pod manifests (YAML or JSON)",
      },
    ],
    load: async () => (await import("./apply.js")).registerApply,
  },
  {
    commands: [
      {
        name: "delete",
        term: "delete [options] <pod...>",
        description: "delete pods gracefully (preStop hooks, SIGTERM, grace period, SIGKILL)",
      },
    ],
    load: async () => (await import("./delete.js")).registerDelete,
  },
  {
    commands: [
      {
        name: "describe",
        term: "describe [options] <pod...>",
        description: "show a pod in detail: containers, states, probes, conditions, volumes, events",
      },
    ],
    load: async () => (await import("./describe.js")).registerDescribe,
  },
  {
    commands: [
      {
        name: "events",
        term: "events [options]",
        description: "list pod events (Pulled, Started, BackOff, Unhealthy, Killing, ...)",
      },
    ],
    load: async () => (await import("./events.js")).registerEvents,
  },
  {
    commands: [
      {
        name: "explain",
        term: "explain [options] <pod...>",
        description: "diagnose a pod: why it restarted, was killed, is not ready or was evicted",
      },
    ],
    load: async () => (await import("./explain.js")).registerExplain,
  },
  {
    commands: [
      { name: "images", term: "images [options]", description: "list images" },
      { name: "image", term: "image", description: "manage images on this node" },
    ],
    load: async () => (await import("./images.js")).registerImages,
  },
  {
    commands: [
      {
        name: "pull",
        term: "pull [options] <image>",
        description: "pull an image from its registry into the node's store",
      },
    ],
    load: async () => (await import("./pull.js")).registerPull,
  },
  {
    commands: [
      {
        name: "exec",
        term: "exec [options] <pod> <command...>",
        description: "run a command in a container: berth exec -it POD [-c CONTAINER] -- CMD [ARGS...]",
      },
      {
        name: "port-forward",
        term: "port-forward [options] <pod> <ports...>",
        description: "forward local ports to a pod: berth port-forward POD LOCAL:REMOTE [...]",
      },
    ],
    load: async () => (await import("./exec.js")).registerExec,
  },
  {
    commands: [{ name: "logs", term: "logs [options] <container>", description: "print a container's log" }],
    load: async () => (await import("./logs.js")).registerLogs,
  },
  {
    commands: [
      {
        name: "inspect",
        term: "inspect [options] <ids...>",
        description: "show the verbose status of containers, pod sandboxes or images",
      },
    ],
    load: async () => (await import("./inspect.js")).registerInspect,
  },
  {
    commands: [
      {
        name: "stats",
        term: "stats [options] [containers...]",
        description: "show CPU and memory use of running containers",
      },
      {
        name: "top",
        term: "top [options] [containers...]",
        description: "a refreshing view of container CPU and memory, busiest first (q or Ctrl-C quits)",
      },
    ],
    load: async () => (await import("./stats.js")).registerStats,
  },
  {
    commands: [
      {
        name: "install",
        term: "install [options]",
        description: "install berth as a systemd service (berth.service), write the default config, start it",
      },
      {
        name: "uninstall",
        term: "uninstall [options]",
        description: "stop and remove the berth service; containers keep running, data stays unless --purge",
      },
    ],
    load: async () => (await import("./install.js")).registerInstall,
  },
  {
    commands: [
      {
        name: "doctor",
        term: "doctor [options]",
        description:
          "check this host for what berth needs (cgroup v2, runc, conmon, CNI, ...) and how to fix it",
      },
    ],
    load: async () => (await import("./doctor.js")).registerDoctor,
  },
];
