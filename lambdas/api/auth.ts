import { hash, timingSafeEqual } from "node:crypto";
import { HttpError } from "../core/errors.ts";
import type { Access, Keys } from "../ports.ts";
import type { ApiRequest } from "./http.ts";

// One-shot hashing: a Hash object per request was a measurable part of a small publish.
const digest = (value: string): Buffer => hash("sha256", value, "buffer");

// Digests of the accepted tokens, computed once per token (they change only on rotation). Bounded, so a
// long-running process with rotated tokens does not keep every old one.
const acceptedDigests = new Map<string, Buffer>();
function acceptedDigest(token: string): Buffer {
  let value = acceptedDigests.get(token);
  if (!value) {
    if (acceptedDigests.size >= 16) acceptedDigests.clear();
    value = digest(token);
    acceptedDigests.set(token, value);
  }
  return value;
}

/** The token a request carries: `Authorization: Bearer …`, or `?qstash_token=…` for webhook senders. */
export function presentedToken(request: ApiRequest): string | undefined {
  const bearer = /^bearer\s+(.+)$/i.exec(request.headers.authorization?.trim() ?? "")?.[1]?.trim();
  if (bearer) return bearer;
  // Webhook senders may carry their own (non-Bearer) Authorization and put Herald's token in the query.
  for (const part of request.rawQuery.split("&")) {
    if (part.startsWith("qstash_token=")) {
      try {
        return decodeURIComponent(part.slice("qstash_token=".length));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export const REDACTED = "[redacted]";

/** A raw query fit for a log line: the value of any `qstash_token` parameter replaced. */
export function redactQuery(rawQuery: string): string {
  return rawQuery
    .split("&")
    .map((part) => {
      const eq = part.indexOf("=");
      if (eq < 0) return part;
      let key = part.slice(0, eq);
      try {
        key = decodeURIComponent(key);
      } catch {
        // an undecodable key is kept as it is
      }
      return key.toLowerCase() === "qstash_token" ? `${part.slice(0, eq)}=${REDACTED}` : part;
    })
    .join("&");
}

/** Headers fit for a log line: credentials (Herald's Bearer token or a sender's own) replaced. */
export function redactHeaders<T extends Record<string, string | undefined>>(headers: T): T {
  const copy: Record<string, string | undefined> = { ...headers };
  for (const name of Object.keys(copy)) if (/authorization|cookie/i.test(name)) copy[name] = REDACTED;
  return copy as T;
}

/**
 * What the request's token may do. Compares digests in constant time (equal-length buffers), against
 * every accepted token with no early exit, so neither the token's length, its matching prefix nor which
 * token it matches leaks through timing. Never echoes the token.
 */
export async function authorize(request: ApiRequest, keys: Keys): Promise<Access> {
  const token = presentedToken(request);
  if (!token) throw new HttpError(401, "missing token: send Authorization: Bearer <token>");
  const presented = digest(token);
  let access: Access | undefined;
  for (const accepted of await keys.apiTokens()) {
    const match = timingSafeEqual(presented, acceptedDigest(accepted.value));
    // The strongest match wins (a read-only token configured equal to the full token grants writes).
    if (match && access !== "write") access = accepted.access;
  }
  if (!access) throw new HttpError(401, "invalid token");
  return access;
}
