// Deduplication (docs/architecture.md §16): `Upstash-Deduplication-Id`, or a content hash with
// `Upstash-Content-Based-Deduplication: true`. A duplicate within the window gets the first publish's
// message ids back with `deduplicated: true` (HTTP 202) and creates nothing. The claim is one
// put-if-absent in the Store, so concurrent duplicates cannot both win.
import { createHash } from "node:crypto";
import { badRequest, clip } from "./errors.ts";
import type { IncomingHeaders } from "./headers.ts";
import type { Message } from "./message.ts";

/** The claim key for a publish, or undefined when it asks for no deduplication. */
export function deduplicationKey(
  headers: IncomingHeaders,
  destination: string,
  message: Message,
  queryConfig: Record<string, string> = {},
): string | undefined {
  // As every option, from a header or an `upstash-*` query parameter (the header wins).
  const get = (name: string): string | undefined => headers[name] ?? queryConfig[name];
  const explicit = get("upstash-deduplication-id")?.trim();
  if (explicit !== undefined && explicit !== "") {
    if (explicit.length > 256) throw badRequest(`invalid Upstash-Deduplication-Id "${clip(explicit)}": too long`);
    return `id:${explicit}`;
  }
  const contentBased = get("upstash-content-based-deduplication")?.trim().toLowerCase();
  if (contentBased === undefined || contentBased === "false") return undefined;
  if (contentBased !== "true") throw badRequest("Upstash-Content-Based-Deduplication must be true or false");
  // Destination, body, Content-Type and forwarded headers (message.header holds exactly those). The
  // destination and headers as JSON, which holds no raw newline, then one: where the body starts is never
  // in doubt (a body that looked like a header line made another message's key).
  const hash = createHash("sha256");
  const forwarded = Object.keys(message.header)
    .sort()
    .map((name) => [name, message.header[name] ?? []]);
  hash.update(JSON.stringify([destination, forwarded])).update("\n");
  hash.update(message.body);
  return `content:${hash.digest("base64url")}`;
}
