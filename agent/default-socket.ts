// The agent's default socket, in a module of its own: every CLI command needs it, and
// the CLI must not load the whole config module (YAML, validation) to know it.
export const DEFAULT_SOCKET = "/run/berth/berth.sock";
