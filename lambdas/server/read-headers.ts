import type { IncomingHeaders } from "../core/headers.ts";

// Headers of which Node keeps the first when repeated (http.IncomingMessage's rule); others are joined.
const FIRST_WINS = new Set([
  "age",
  "content-length",
  "content-type",
  "etag",
  "expires",
  "from",
  "host",
  "if-modified-since",
  "if-unmodified-since",
  "last-modified",
  "location",
  "max-forwards",
  "proxy-authorization",
  "referer",
  "retry-after",
  "server",
  "user-agent",
]);

/**
 * The request's headers as one string per lower-case name, read from `rawHeaders` in one pass (Node's
 * `req.headers` object, built on first use and then copied, was a measurable part of a small publish).
 * Repeated headers follow Node's rules, except Authorization: Node keeps the first, API Gateway joins them
 * with commas, which no token matches; joined here too, so an ambiguous request is refused in local mode
 * as well.
 */
export function readHeaders(raw: readonly string[]): IncomingHeaders {
  const flat: IncomingHeaders = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    const prior = Object.hasOwn(flat, name) ? flat[name] : undefined;
    if (prior === undefined) setHeader(flat, name, value);
    else if (!FIRST_WINS.has(name)) {
      setHeader(flat, name, `${prior}${name === "cookie" ? "; " : name === "authorization" ? "," : ", "}${value}`);
    }
  }
  return flat;
}

function setHeader(headers: IncomingHeaders, name: string, value: string): void {
  // Defined, not assigned: a header named "__proto__" must stay a header.
  if (name === "__proto__") Object.defineProperty(headers, name, { value, enumerable: true, writable: true });
  else headers[name] = value;
}
