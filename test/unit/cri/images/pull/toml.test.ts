import { describe, expect, it } from "vitest";
import { parseToml, TomlSyntaxError } from "../../../../../cri/images/pull/toml.js";

describe("parseToml (the hosts.toml subset)", () => {
  it("reads keys, strings, booleans, integers, arrays and tables in file order", () => {
    const doc = parseToml(
      [
        "# registry config",
        'server = "https://registry.example.com"  # trailing comment',
        "skip_verify = false",
        "retries = 3",
        "",
        '[host."https://mirror-b.example.com"]',
        '  capabilities = ["pull", "resolve"]',
        "  skip_verify = true",
        '[host."https://mirror-a.example.com:5000"]',
        "  ca = '/etc/certs/a.pem'",
        '  [host."https://mirror-a.example.com:5000".header]',
        '    x-token = ["a", "b"]',
      ].join("\n"),
    );
    expect(doc).toEqual({
      server: "https://registry.example.com",
      skip_verify: false,
      retries: 3,
      host: {
        "https://mirror-b.example.com": { capabilities: ["pull", "resolve"], skip_verify: true },
        "https://mirror-a.example.com:5000": { ca: "/etc/certs/a.pem", header: { "x-token": ["a", "b"] } },
      },
    });
    expect(Object.keys(doc.host as object)).toEqual([
      "https://mirror-b.example.com",
      "https://mirror-a.example.com:5000",
    ]);
  });

  it("handles escapes, dotted keys, multi-line arrays with comments, inline tables and CRLF", () => {
    const doc = parseToml(
      'a.b = "tab\\there \\"q\\" \\u00e9"\r\nlist = [\r\n  1, # one\r\n  -2,\r\n  1_000,\r\n]\r\ninline = { x = true, "y z" = "w" }\r\n',
    );
    expect(doc).toEqual({
      a: { b: 'tab\there "q" é' },
      list: [1, -2, 1000],
      inline: { x: true, "y z": "w" },
    });
  });

  it.each([
    ['key = "unterminated', /line 1: unterminated string/],
    ["key = 1.5", /line 1: unsupported value "1.5"/],
    ["a = 1\na = 2", /line 2: key "a" is defined twice/],
    ["[t]\n[t]", /line 2: table "t" is defined twice/],
    ["[[arr]]", /arrays of tables are not supported/],
    ['a = """x"""', /multi-line strings are not supported/],
    ["a = 1 b = 2", /line 1: expected end of line/],
    ['a = "x"\n[a]', /line 2: "a" names a value, not a table/],
    ["= 1", /expected a key/],
    ['a = "\\q"', /unknown escape/],
    ["a = [1, 2", /expected "," or "\]" in array/],
  ])("refuses %j", (text, message) => {
    expect(() => parseToml(text)).toThrow(TomlSyntaxError);
    expect(() => parseToml(text)).toThrow(message);
  });
});
