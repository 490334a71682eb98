import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "../core/errors.ts";
import type { Keys } from "../ports.ts";
import type { ApiRequest } from "./http.ts";

const digest = (value: string): Buffer => createHash("sha256").update(value).digest();

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

/**
 * Compares digests in constant time (equal-length buffers), against every accepted token, so neither
 * the token's length nor its matching prefix leaks through timing. Never echoes the token.
 */
export async function authorize(request: ApiRequest, keys: Keys): Promise<void> {
  const token = presentedToken(request);
  if (!token) throw new HttpError(401, "missing token: send Authorization: Bearer <token>");
  const presented = digest(token);
  let ok = false;
  for (const accepted of await keys.apiTokens()) ok = timingSafeEqual(presented, acceptedDigest(accepted)) || ok;
  if (!ok) throw new HttpError(401, "invalid token");
}
