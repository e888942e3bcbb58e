// Parsing of WWW-Authenticate headers (RFC 9110 challenges), as registries send them with a 401:
//   Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:app:pull"
//   Basic realm="Registry Realm"
// One header may hold several challenges separated by commas, and a response several headers.

export interface AuthChallenge {
  /** Lowercase: "bearer", "basic". */
  scheme: string;
  /** Parameters by lowercase name. */
  params: Record<string, string>;
}

const TOKEN_CHAR = /[!#$%&'*+.^_`|~0-9A-Za-z-]/;

export function parseWwwAuthenticate(values: string | string[] | undefined): AuthChallenge[] {
  if (values === undefined) return [];
  const challenges: AuthChallenge[] = [];
  for (const value of Array.isArray(values) ? values : [values]) challenges.push(...parseOne(value));
  return challenges;
}

function parseOne(text: string): AuthChallenge[] {
  let pos = 0;
  const challenges: AuthChallenge[] = [];
  const skip = (chars: RegExp) => {
    while (pos < text.length && chars.test(text[pos]!)) pos++;
  };
  const token = (): string => {
    const start = pos;
    while (pos < text.length && TOKEN_CHAR.test(text[pos]!)) pos++;
    return text.slice(start, pos);
  };
  const quoted = (): string => {
    pos++; // opening quote
    let out = "";
    while (pos < text.length && text[pos] !== '"') {
      if (text[pos] === "\\" && pos + 1 < text.length) pos++;
      out += text[pos++];
    }
    pos++; // closing quote (or past the end of a malformed header)
    return out;
  };

  for (;;) {
    skip(/[\s,]/);
    const scheme = token();
    if (scheme === "") break;
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    for (;;) {
      skip(/[\s,]/);
      const mark = pos;
      const name = token();
      skip(/[ \t]/);
      if (name === "" || text[pos] !== "=") {
        // Not a parameter: the next challenge's scheme (or a token68 we have no use for).
        pos = name === "" ? pos : mark;
        if (name === "" && pos < text.length && text[pos] !== ",") pos++;
        break;
      }
      pos++; // "="
      skip(/[ \t]/);
      challenge.params[name.toLowerCase()] = text[pos] === '"' ? quoted() : token();
    }
    if (pos >= text.length) break;
  }
  return challenges;
}
