// JSON with bigint: the CRI types carry int64 fields as bigint, which JSON.stringify
// refuses. They are stored as {"$bigint": "<decimal>"} and revived on parse.
export function stringifyWithBigInt(value: unknown, space?: number): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === "bigint" ? { $bigint: v.toString() } : v),
    space,
  );
}

export function parseWithBigInt<T>(text: string): T {
  return JSON.parse(text, (_key, v: unknown) => {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const keys = Object.keys(v);
      const tagged = (v as { $bigint?: unknown }).$bigint;
      if (keys.length === 1 && typeof tagged === "string" && /^-?\d+$/.test(tagged)) return BigInt(tagged);
    }
    return v;
  }) as T;
}
