/** Header names as they are stored and shown: Go-style canonical (`content-type` -> `Content-Type`). */
export type HeaderMap = Record<string, string[]>;

/** Request headers as received: lower-case names, repeated headers already joined with ", ". */
export type IncomingHeaders = Record<string, string>;

const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Same rule as Go's textproto.CanonicalMIMEHeaderKey, which QStash's stored header maps follow. */
export function canonicalHeaderName(name: string): string {
  if (!TOKEN_CHARS.test(name)) return name;
  let out = "";
  let upper = true;
  for (const ch of name) {
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === "-";
  }
  return out;
}

export function addHeader(map: HeaderMap, name: string, value: string): void {
  const key = canonicalHeaderName(name);
  const existing = map[key];
  if (existing) existing.push(value);
  else map[key] = [value];
}

/** Flattens a header map for an outgoing request (several values joined the way HTTP allows). */
export function flattenHeaders(map: HeaderMap): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, values] of Object.entries(map)) out[name] = values.join(", ");
  return out;
}

/** Case-insensitive lookup in a header map. */
export function getHeader(map: HeaderMap, name: string): string | undefined {
  const values = map[canonicalHeaderName(name)];
  return values?.join(", ");
}
