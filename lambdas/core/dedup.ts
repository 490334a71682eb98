// Deduplication (docs/architecture.md §16): `Upstash-Deduplication-Id`, or a content hash with
// `Upstash-Content-Based-Deduplication: true`. A duplicate within the window gets the first publish's
// message ids back with `deduplicated: true` (HTTP 202) and creates nothing. The claim is one
// put-if-absent in the Store, so concurrent duplicates cannot both win.
import { createHash } from "node:crypto";
import { badRequest, clip } from "./errors.ts";
import type { IncomingHeaders } from "./headers.ts";
import type { Message } from "./message.ts";

/** The claim key for a publish, or undefined when it asks for no deduplication. */
export function deduplicationKey(headers: IncomingHeaders, destination: string, message: Message): string | undefined {
  const explicit = headers["upstash-deduplication-id"]?.trim();
  if (explicit !== undefined && explicit !== "") {
    if (explicit.length > 256) throw badRequest(`invalid Upstash-Deduplication-Id "${clip(explicit)}": too long`);
    return `id:${explicit}`;
  }
  const contentBased = headers["upstash-content-based-deduplication"]?.trim().toLowerCase();
  if (contentBased === undefined || contentBased === "false") return undefined;
  if (contentBased !== "true") throw badRequest("Upstash-Content-Based-Deduplication must be true or false");
  // Destination, body, Content-Type and forwarded headers (message.header holds exactly those).
  const hash = createHash("sha256");
  hash.update(destination).update("\n");
  const headerNames = Object.keys(message.header).sort();
  for (const name of headerNames) hash.update(`${name}:${(message.header[name] ?? []).join(",")}\n`);
  hash.update(message.body);
  return `content:${hash.digest("base64url")}`;
}
