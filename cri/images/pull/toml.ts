// A parser for the part of TOML that registry host files use: comments, `key = value` lines with
// bare, quoted and dotted keys, `[table]` headers (dotted, quoted parts allowed), strings (basic
// with escapes, and literal), booleans, integers, arrays (over several lines too) and inline
// tables. Anything else (floats, dates, multi-line strings, arrays of tables) is refused with the
// line it is on, rather than guessed at.

export type TomlValue = string | number | boolean | TomlValue[] | TomlTable;
export interface TomlTable {
  [key: string]: TomlValue;
}

export class TomlSyntaxError extends Error {
  constructor(
    readonly line: number,
    problem: string,
  ) {
    super(`line ${line}: ${problem}`);
  }
}

const BARE_KEY = /[A-Za-z0-9_-]/;

export function isTomlTable(value: TomlValue | undefined): value is TomlTable {
  return value !== undefined && typeof value === "object" && !Array.isArray(value);
}

/** Parses `text`; keys keep the order they appear in, as host files rely on it for mirrors. */
export function parseToml(text: string): TomlTable {
  return new TomlParser(text).parseDocument();
}

class TomlParser {
  private pos = 0;
  private line = 1;
  private readonly root: TomlTable = {};
  /** Tables named by a [header] already, which may not be named again. */
  private readonly definedTables = new Set<TomlTable>();

  constructor(private readonly text: string) {}

  parseDocument(): TomlTable {
    let current = this.root;
    for (;;) {
      this.skipBlankAndComments();
      if (this.atEnd()) return this.root;
      const ch = this.peek();
      if (ch === "[") {
        current = this.parseTableHeader();
      } else {
        const path = this.parseKeyPath();
        this.skipSpaces();
        this.expect("=");
        this.skipSpaces();
        const value = this.parseValue();
        this.assign(current, path, value);
      }
      this.endOfLine();
    }
  }

  private fail(problem: string): never {
    throw new TomlSyntaxError(this.line, problem);
  }

  private atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  private peek(offset = 0): string {
    return this.text[this.pos + offset] ?? "";
  }

  private next(): string {
    const ch = this.text[this.pos++] ?? "";
    if (ch === "\n") this.line++;
    return ch;
  }

  private expect(ch: string): void {
    if (this.peek() !== ch) this.fail(`expected "${ch}", found ${this.describeNext()}`);
    this.next();
  }

  private describeNext(): string {
    if (this.atEnd()) return "end of file";
    const ch = this.peek();
    return ch === "\n" ? "end of line" : `"${ch}"`;
  }

  private skipSpaces(): void {
    while (this.peek() === " " || this.peek() === "\t") this.next();
  }

  private skipComment(): void {
    if (this.peek() !== "#") return;
    while (!this.atEnd() && this.peek() !== "\n") this.next();
  }

  /** Whitespace, newlines and comments, as allowed between lines and inside arrays. */
  private skipBlankAndComments(): void {
    for (;;) {
      const ch = this.peek();
      if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") this.next();
      else if (ch === "#") this.skipComment();
      else return;
    }
  }

  private endOfLine(): void {
    this.skipSpaces();
    this.skipComment();
    if (this.peek() === "\r") this.next();
    if (this.atEnd()) return;
    if (this.peek() !== "\n") this.fail(`expected end of line, found ${this.describeNext()}`);
    this.next();
  }

  private parseTableHeader(): TomlTable {
    this.expect("[");
    if (this.peek() === "[") this.fail("arrays of tables are not supported");
    this.skipSpaces();
    const path = this.parseKeyPath();
    this.skipSpaces();
    this.expect("]");
    let table = this.root;
    for (const key of path) {
      const existing = table[key];
      if (existing === undefined) {
        const created: TomlTable = {};
        table[key] = created;
        table = created;
      } else if (isTomlTable(existing)) {
        table = existing;
      } else {
        this.fail(`"${path.join(".")}" names a value, not a table`);
      }
    }
    if (this.definedTables.has(table)) this.fail(`table "${path.join(".")}" is defined twice`);
    this.definedTables.add(table);
    return table;
  }

  private parseKeyPath(): string[] {
    const path = [this.parseKey()];
    for (;;) {
      this.skipSpaces();
      if (this.peek() !== ".") return path;
      this.next();
      this.skipSpaces();
      path.push(this.parseKey());
    }
  }

  private parseKey(): string {
    const ch = this.peek();
    if (ch === '"') return this.parseBasicString();
    if (ch === "'") return this.parseLiteralString();
    let key = "";
    while (BARE_KEY.test(this.peek()) && !this.atEnd()) key += this.next();
    if (key === "") this.fail(`expected a key, found ${this.describeNext()}`);
    return key;
  }

  private assign(table: TomlTable, path: string[], value: TomlValue): void {
    let target = table;
    for (const key of path.slice(0, -1)) {
      const existing = target[key];
      if (existing === undefined) {
        const created: TomlTable = {};
        target[key] = created;
        target = created;
      } else if (isTomlTable(existing)) {
        target = existing;
      } else {
        this.fail(`"${key}" already holds a value`);
      }
    }
    const last = path[path.length - 1]!;
    if (last in target) this.fail(`key "${path.join(".")}" is defined twice`);
    target[last] = value;
  }

  private parseValue(): TomlValue {
    const ch = this.peek();
    if (ch === '"') {
      if (this.text.startsWith('"""', this.pos)) this.fail("multi-line strings are not supported");
      return this.parseBasicString();
    }
    if (ch === "'") {
      if (this.text.startsWith("'''", this.pos)) this.fail("multi-line strings are not supported");
      return this.parseLiteralString();
    }
    if (ch === "[") return this.parseArray();
    if (ch === "{") return this.parseInlineTable();
    return this.parseScalarWord();
  }

  private parseScalarWord(): TomlValue {
    let word = "";
    while (!this.atEnd() && /[A-Za-z0-9_+\-.:]/.test(this.peek())) word += this.next();
    if (word === "true") return true;
    if (word === "false") return false;
    if (/^[+-]?(?:0|[1-9](?:_?[0-9])*)$/.test(word)) {
      const value = Number(word.replace(/_/g, ""));
      if (!Number.isSafeInteger(value)) this.fail(`integer ${word} is out of range`);
      return value;
    }
    if (word === "") this.fail(`expected a value, found ${this.describeNext()}`);
    this.fail(`unsupported value "${word}"`);
  }

  private parseBasicString(): string {
    this.expect('"');
    let out = "";
    for (;;) {
      if (this.atEnd() || this.peek() === "\n") this.fail("unterminated string");
      const ch = this.next();
      if (ch === '"') return out;
      if (ch !== "\\") {
        out += ch;
        continue;
      }
      const esc = this.next();
      switch (esc) {
        case '"':
        case "\\":
          out += esc;
          break;
        case "n":
          out += "\n";
          break;
        case "t":
          out += "\t";
          break;
        case "r":
          out += "\r";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "u":
        case "U": {
          const length = esc === "u" ? 4 : 8;
          const hex = this.text.slice(this.pos, this.pos + length);
          if (!new RegExp(`^[0-9A-Fa-f]{${length}}$`).test(hex)) this.fail("bad unicode escape");
          const code = parseInt(hex, 16);
          if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) this.fail("bad unicode escape");
          this.pos += length;
          out += String.fromCodePoint(code);
          break;
        }
        default:
          this.fail(`unknown escape "\\${esc}"`);
      }
    }
  }

  private parseLiteralString(): string {
    this.expect("'");
    let out = "";
    for (;;) {
      if (this.atEnd() || this.peek() === "\n") this.fail("unterminated string");
      const ch = this.next();
      if (ch === "'") return out;
      out += ch;
    }
  }

  private parseArray(): TomlValue[] {
    this.expect("[");
    const items: TomlValue[] = [];
    for (;;) {
      this.skipBlankAndComments();
      if (this.peek() === "]") {
        this.next();
        return items;
      }
      items.push(this.parseValue());
      this.skipBlankAndComments();
      if (this.peek() === ",") {
        this.next();
        continue;
      }
      if (this.peek() !== "]") this.fail(`expected "," or "]" in array, found ${this.describeNext()}`);
    }
  }

  private parseInlineTable(): TomlTable {
    this.expect("{");
    const table: TomlTable = {};
    this.skipSpaces();
    if (this.peek() === "}") {
      this.next();
      return table;
    }
    for (;;) {
      this.skipSpaces();
      const path = this.parseKeyPath();
      this.skipSpaces();
      this.expect("=");
      this.skipSpaces();
      this.assign(table, path, this.parseValue());
      this.skipSpaces();
      if (this.peek() === ",") {
        this.next();
        continue;
      }
      this.expect("}");
      return table;
    }
  }
}
