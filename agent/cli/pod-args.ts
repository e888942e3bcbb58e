// Pod names as kubectl accepts them on the command line: "web", "pod/web", "pods/web", or
// the resource type as its own first argument ("pod web").
const POD_TYPES = new Set(["pod", "pods", "po"]);

export function podNames(args: readonly string[]): string[] {
  const rest = args.length > 1 && POD_TYPES.has(args[0] ?? "") ? args.slice(1) : [...args];
  return rest.map((arg) => {
    const slash = arg.indexOf("/");
    if (slash === -1) return arg;
    const type = arg.slice(0, slash);
    if (!POD_TYPES.has(type)) throw new Error(`"${arg}": berth knows only pods (pod/NAME)`);
    return arg.slice(slash + 1);
  });
}
