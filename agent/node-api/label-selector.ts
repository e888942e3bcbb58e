// Kubernetes label selectors, as `kubectl get -l` takes them:
//   app=web, tier==db, env!=prod, env in (a,b), env notin (c), release, !legacy, replicas>2
// Requirements are separated by commas and must all hold.
import { InvalidArgumentError } from "../../common/errors.js";

type Requirement =
  | { key: string; op: "exists" | "absent" }
  | { key: string; op: "in" | "notin"; values: ReadonlySet<string> }
  | { key: string; op: "gt" | "lt"; value: number };

export type LabelSelector = (labels: Readonly<Record<string, string>>) => boolean;

const FIELD = "label_selector";
const TOKEN = /\s*(==|!=|=|!|\(|\)|,|>|<|[^\s=!(),<>]+)/y;

/** Parses a selector; an empty one matches every pod. */
export function parseLabelSelector(text: string): LabelSelector {
  const requirements = parseRequirements(text);
  return (labels) => requirements.every((r) => matches(r, labels));
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const start = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (m === null) {
      if (text.slice(start).trim() === "") break;
      throw new InvalidArgumentError(FIELD, `cannot parse ${JSON.stringify(text)} at ${start}`);
    }
    tokens.push(m[1] as string);
  }
  return tokens;
}

function parseRequirements(text: string): Requirement[] {
  const tokens = tokenize(text);
  const requirements: Requirement[] = [];
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const fail = (problem: string): never => {
    throw new InvalidArgumentError(FIELD, `${JSON.stringify(text)}: ${problem}`);
  };
  const word = (what: string): string => {
    const t = tokens[i++];
    if (t === undefined || /^(==|!=|=|!|\(|\)|,|>|<)$/.test(t)) fail(`expected ${what}`);
    return t as string;
  };
  while (i < tokens.length) {
    if (peek() === "!") {
      i++;
      requirements.push({ key: word("a label key after !"), op: "absent" });
    } else {
      const key = word("a label key");
      const op = peek();
      if (op === undefined || op === ",") {
        requirements.push({ key, op: "exists" });
      } else if (op === "=" || op === "==" || op === "!=") {
        i++;
        const next = peek();
        // `key=` selects an empty value, as in Kubernetes.
        const value = next === undefined || next === "," ? "" : word("a value");
        requirements.push({ key, op: op === "!=" ? "notin" : "in", values: new Set([value]) });
      } else if (op === "in" || op === "notin") {
        i++;
        if (tokens[i++] !== "(") fail(`expected ( after ${op}`);
        const values = new Set<string>();
        while (peek() !== ")") {
          values.add(word("a value"));
          if (peek() === ",") i++;
          else if (peek() !== ")") fail("expected , or ) in a value list");
        }
        i++;
        requirements.push({ key, op, values });
      } else if (op === ">" || op === "<") {
        i++;
        const raw = word("an integer");
        if (!/^-?\d+$/.test(raw)) fail(`${JSON.stringify(raw)} is not an integer`);
        requirements.push({ key, op: op === ">" ? "gt" : "lt", value: Number(raw) });
      } else {
        fail(`unexpected ${JSON.stringify(op)} after ${JSON.stringify(key)}`);
      }
    }
    if (i < tokens.length) {
      if (tokens[i] !== ",") fail(`expected , before ${JSON.stringify(tokens[i])}`);
      i++;
      if (i === tokens.length) fail("ends with a comma");
    }
  }
  return requirements;
}

function matches(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = has ? labels[r.key] : undefined;
  switch (r.op) {
    case "exists":
      return has;
    case "absent":
      return !has;
    case "in":
      return value !== undefined && r.values.has(value);
    case "notin":
      return value === undefined || !r.values.has(value);
    case "gt":
    case "lt": {
      if (value === undefined || !/^-?\d+$/.test(value)) return false;
      return r.op === "gt" ? Number(value) > r.value : Number(value) < r.value;
    }
  }
}
