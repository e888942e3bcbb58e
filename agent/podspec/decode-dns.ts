// spec.dnsConfig: nameservers, search domains and resolver options merged into (or, with
// dnsPolicy None, making up) the pod's resolv.conf. Limits are Kubernetes'.
import { type FieldPath, invalid, required } from "./field-errors.js";
import { type ErrorSink, ObjectReader } from "./field-reader.js";
import { reportAll } from "./decode-common.js";
import { dns1123SubdomainErrors, ipAddressErrors } from "./names.js";
import type { DnsConfig, DnsOption } from "./types.js";

const MAX_NAMESERVERS = 3;
const MAX_SEARCH_PATHS = 32;
const MAX_SEARCH_LIST_CHARS = 2048;

export function decodeDnsConfig(value: unknown, path: FieldPath, sink: ErrorSink): DnsConfig | undefined {
  const r = ObjectReader.of(value, path, sink);
  if (r === undefined) return undefined;
  const nameservers = r.stringList("nameservers");
  if (nameservers.length > MAX_NAMESERVERS) {
    sink.add(
      invalid(r.at("nameservers"), nameservers, `must not have more than ${MAX_NAMESERVERS} nameservers`),
    );
  }
  nameservers.forEach((ns, i) => reportAll(sink, r.at("nameservers").index(i), ns, ipAddressErrors(ns)));

  const searches = r.stringList("searches");
  if (searches.length > MAX_SEARCH_PATHS) {
    sink.add(invalid(r.at("searches"), searches, `must not have more than ${MAX_SEARCH_PATHS} search paths`));
  }
  if (searches.join(" ").length > MAX_SEARCH_LIST_CHARS) {
    sink.add(
      invalid(
        r.at("searches"),
        searches,
        `must not have more than ${MAX_SEARCH_LIST_CHARS} characters (including spaces) in the search list`,
      ),
    );
  }
  // A trailing dot (a fully qualified name) is fine.
  searches.forEach((s, i) =>
    reportAll(
      sink,
      r.at("searches").index(i),
      s,
      dns1123SubdomainErrors(s.endsWith(".") ? s.slice(0, -1) : s),
    ),
  );

  const options = r.list("options", (item, itemPath): DnsOption | undefined => {
    const or = ObjectReader.of(item, itemPath, sink);
    if (or === undefined) return undefined;
    const name = or.string("name") ?? "";
    const optionValue = or.string("value");
    or.finish();
    if (name === "") {
      sink.add(required(itemPath, "must not be empty"));
      return undefined;
    }
    return { name, ...(optionValue !== undefined && { value: optionValue }) };
  });
  r.finish();
  return { nameservers, searches, options };
}
