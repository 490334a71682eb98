import { badRequest, clip } from "./errors.ts";
import { MAX_REQUEST_HEAD_BYTES } from "./headers.ts";

export type Destination = { kind: "url"; url: string } | { kind: "urlGroup"; name: string };

const SCHEME = /^([a-z][a-z0-9+.-]*):/i;
const COLLAPSED = /^(https?):\/(?!\/)/i;
const RESOURCE_NAME = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Turns what followed `/v2/publish/` (raw, undecoded) plus the request's raw query into a destination
 * (docs/qstash-api.md §4). SDKs put the URL unencoded into the path; proxies such as API Gateway collapse
 * `https://` into `https:/`, which is repaired. The destination's own query arrived as the request's
 * query: it is re-appended minus `qstash_token` and `upstash-*` configuration parameters.
 */
export function parseDestination(rawRemainder: string, rawQuery: string): Destination {
  let target = rawRemainder;
  if (/^https?%3a/i.test(target)) target = decodeOrReject(target); // a fully percent-encoded URL
  target = target.replace(COLLAPSED, "$1://");

  const scheme = SCHEME.exec(target)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (RESOURCE_NAME.test(target)) return { kind: "urlGroup", name: target };
    throw badRequest(`invalid destination url: "${clip(target)}" is neither an http(s) URL nor a URL group name`);
  }
  if (scheme !== "http" && scheme !== "https") {
    throw badRequest("invalid destination url: endpoint has invalid scheme, add http:// or https://");
  }
  target = `${scheme}${target.slice(scheme.length)}`; // HTTPS://x -> https://x, as it is signed and sent
  const { forwardQuery } = splitQuery(rawQuery);
  const hash = target.indexOf("#");
  const [base, fragment] = hash < 0 ? [target, ""] : [target.slice(0, hash), target.slice(hash)];
  const url = forwardQuery ? `${base}${base.includes("?") ? "&" : "?"}${forwardQuery}${fragment}` : target;
  assertHttpUrl(url, "destination url");
  return { kind: "url", url };
}

/** Checks that a header value such as Upstash-Callback is an absolute http(s) URL. */
export function assertHttpUrl(url: string, what: string): void {
  // No longer than an HTTP publish's request line may be.
  if (url.length > MAX_REQUEST_HEAD_BYTES) {
    throw badRequest(`invalid ${what}: longer than ${MAX_REQUEST_HEAD_BYTES} characters`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badRequest(`invalid ${what}: "${clip(url)}" is not a valid URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw badRequest(`invalid ${what}: endpoint has invalid scheme, add http:// or https://`);
  }
  // WHATWG URL parsing forgives `http:///host`; the signature's `sub` would then differ from the URL
  // actually requested, so such URLs are refused.
  if (parsed.hostname === "" || !/^https?:\/\/[^/?#]/i.test(url)) {
    throw badRequest(`invalid ${what}: "${clip(url)}" has no host`);
  }
}

/**
 * Splits a raw query into the part that belongs to the destination and the Herald configuration in it:
 * webhook senders that cannot set headers pass `?upstash-retries=3&upstash-delay=10s` (lower-cased names).
 */
export function splitQuery(rawQuery: string): { forwardQuery: string; config: Record<string, string> } {
  const kept: string[] = [];
  const config: Record<string, string> = {};
  for (const part of rawQuery.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const rawKey = eq < 0 ? part : part.slice(0, eq);
    const key = decodeQueryComponent(rawKey).toLowerCase();
    if (key === "qstash_token") continue;
    if (key.startsWith("upstash-")) {
      config[key] = eq < 0 ? "" : decodeQueryComponent(part.slice(eq + 1));
      continue;
    }
    kept.push(part);
  }
  return { forwardQuery: kept.join("&"), config };
}

function decodeQueryComponent(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, " "));
  } catch {
    return value;
  }
}

function decodeOrReject(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    throw badRequest(`invalid destination url: "${clip(value)}" is not valid percent-encoding`);
  }
}
