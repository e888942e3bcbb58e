// Extracts the most useful words from a failed external command (execa error): its
// stderr when it printed any, else the error message. Used to build error messages that
// carry what runc, conmon, mount or a plugin actually said.
export function commandErrorText(err: unknown): string {
  if (err && typeof err === "object") {
    const stderr = "stderr" in err ? err.stderr : undefined;
    if (typeof stderr === "string" && stderr.trim()) return stderr.trim();
    const shortMessage = "shortMessage" in err ? err.shortMessage : undefined;
    if (typeof shortMessage === "string") return shortMessage;
  }
  return err instanceof Error ? err.message : String(err);
}
