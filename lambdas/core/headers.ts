/** Header names as they are stored and shown: Go-style canonical (`content-type` -> `Content-Type`). */
export type HeaderMap = Record<string, string[]>;

/** Request headers as received: lower-case names, repeated headers already joined with ", ". */
export type IncomingHeaders = Record<string, string>;

/**
 * What an HTTP request's line and headers may hold (Node's default maxHeaderSize; larger answers 431, §3).
 * What a JSON body could carry instead — a batch entry's headers, a URL — is held to it too: a stored
 * message or URL group is one DynamoDB item (400 KB).
 */
export const MAX_REQUEST_HEAD_BYTES = 16 * 1024;

const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

// What an HTTP/1.1 field value may hold as Node sends it: tab, visible ASCII, space and obs-text bytes.
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Whether a header can be sent as is: a token name and a value without control or non-Latin-1 characters. */
export function isSendableHeader(name: string, value: string): boolean {
  return TOKEN_CHARS.test(name) && FIELD_VALUE.test(value);
}

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
  const existing = Object.hasOwn(map, key) ? map[key] : undefined;
  if (existing) existing.push(value);
  // defineProperty, not assignment: a header may be named like an Object.prototype member ("__proto__").
  else Object.defineProperty(map, key, { value: [value], enumerable: true, writable: true, configurable: true });
}

/** Flattens a header map for an outgoing request (several values joined the way HTTP allows). */
export function flattenHeaders(map: HeaderMap): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([name, values]) => [name, values.join(", ")]));
}

/** Case-insensitive lookup in a header map. */
export function getHeader(map: HeaderMap, name: string): string | undefined {
  const key = canonicalHeaderName(name);
  const values = Object.hasOwn(map, key) ? map[key] : undefined;
  return values?.join(", ");
}
