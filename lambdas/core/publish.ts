import { acceptMessage } from "./accept.ts";
import type { HeraldContext } from "./context.ts";
import { deduplicationKey } from "./dedup.ts";
import { parseDestination, splitQuery } from "./destination.ts";
import { assertDestinationAllowed } from "./destination-policy.ts";
import { HttpError } from "./errors.ts";
import type { IncomingHeaders } from "./headers.ts";
import { newMessageId } from "./ids.ts";
import type { Message } from "./message.ts";
import { parsePublishOptions } from "./publish-options.ts";
import { assertQueueName } from "./queues.ts";
import { findUrlGroup } from "./url-groups.ts";

export interface PublishRequest {
  /** The raw path after `/v2/publish/` (or `/v2/enqueue/<queue>/`): a URL or a URL group name. */
  destination: string;
  rawQuery: string;
  headers: IncomingHeaders;
  body: Uint8Array;
  callerIp?: string;
  /** Set for `/v2/enqueue/<queue>/…`, batch entries with `queue`, and schedules with Upstash-Queue-Name. */
  queueName?: string;
}

export interface PublishResult {
  messageId: string;
  url: string;
  deduplicated?: boolean;
}

/** What a publish will create, decided before anything is written. */
export interface PublishPlan {
  messages: Message[];
  /** Published to a URL group: the response is an array, one element per endpoint. */
  fanOut: boolean;
  deduplicationKey?: string;
}

export interface PublishResponse {
  /** 202 for a duplicate (qstash-api.md §5.8). */
  status: 200 | 202;
  body: PublishResult | PublishResult[];
}

/**
 * Reads a publish request into the message(s) it creates, without side effects. `makeId` lets a caller
 * derive ids (schedule firings, so a firing processed twice creates each message once).
 */
export async function planPublish(
  ctx: Pick<HeraldContext, "config" | "store">,
  request: PublishRequest,
  nowMs: number,
  makeId: (index: number) => string = () => newMessageId(nowMs),
): Promise<PublishPlan> {
  if (request.body.byteLength > ctx.config.maxBodyBytes) {
    throw new HttpError(413, `message body too large: at most ${ctx.config.maxBodyBytes} bytes`);
  }
  if (request.queueName !== undefined) assertQueueName(request.queueName);
  const destination = parseDestination(request.destination, request.rawQuery);
  if (destination.kind === "url") assertDestinationAllowed(ctx.config.destinations, destination.url, "destination url");
  const options = parsePublishOptions(request.headers, nowMs, ctx.config, splitQuery(request.rawQuery).config);
  const base = (url: string, index: number): Message => {
    const message: Message = { messageId: makeId(index), url, body: request.body, createdAt: nowMs, ...options };
    if (request.callerIp) message.callerIp = request.callerIp;
    if (request.queueName !== undefined) message.queueName = request.queueName;
    return message;
  };
  let messages: Message[];
  if (destination.kind === "urlGroup") {
    const group = await findUrlGroup(ctx, destination.name);
    messages = group.endpoints.map((endpoint, i) => {
      const message = base(endpoint.url, i);
      message.topicName = group.name;
      if (endpoint.name) message.endpointName = endpoint.name;
      return message;
    });
  } else {
    messages = [base(destination.url, 0)];
  }
  const plan: PublishPlan = { messages, fanOut: destination.kind === "urlGroup" };
  const key = deduplicationKey(
    request.headers,
    destination.kind === "url" ? destination.url : destination.name,
    messages[0] as Message,
  );
  if (key !== undefined) plan.deduplicationKey = key;
  return plan;
}

/** A claim still pending this long after it was made belongs to a publish that died (the API's limit is 29 s). */
const ABANDONED_CLAIM_MS = 30_000;
/**
 * How long a duplicate waits for a pending claim: until it is settled, or abandoned (then taken over). On
 * AWS the duplicate's own request may be cut at 29 s; the client's retry then finds the claim abandoned.
 */
const PENDING_WAIT_MS = ABANDONED_CLAIM_MS + 2_000;

interface DedupClaim {
  results: PublishResult[];
  /** Set while the claiming publish is storing its messages. */
  pendingSince?: number;
}

function readClaim(value: string): DedupClaim {
  const parsed = JSON.parse(value) as DedupClaim | PublishResult[];
  return Array.isArray(parsed) ? { results: parsed } : parsed;
}

/**
 * Carries out a plan. Every message is stored and dispatched before the response: a client that got a
 * 2xx has all of them, also for a URL group; one that got none (the process died midway) publishes again.
 */
export async function acceptPlan(ctx: HeraldContext, plan: PublishPlan): Promise<PublishResponse> {
  const results: PublishResult[] = plan.messages.map((m) => ({ messageId: m.messageId, url: m.url }));
  const respond = (status: 200 | 202, list: PublishResult[]): PublishResponse => ({
    status,
    body: plan.fanOut ? list : (list[0] as PublishResult),
  });
  const key = plan.deduplicationKey;
  if (key === undefined) {
    await Promise.all(plan.messages.map((message) => acceptMessage(ctx, message)));
    return respond(200, results);
  }
  const pending = JSON.stringify({ results, pendingSince: ctx.clock.now() } satisfies DedupClaim);
  const earlier = await claimDeduplication(ctx, key, pending);
  if (earlier)
    return respond(
      202,
      earlier.map((r) => ({ ...r, deduplicated: true })),
    );

  // Every accept finishes (or fails) before the claim is released: none may succeed after the release.
  const accepted = await Promise.allSettled(
    plan.messages.map((message) => acceptMessage(ctx, message, { stored: true })),
  );
  const failure = accepted.find((r) => r.status === "rejected");
  if (failure) {
    await ctx.store.releaseDedup(key, pending).catch(() => undefined);
    throw failure.reason;
  }
  const now = ctx.clock.now();
  const done = JSON.stringify({ results } satisfies DedupClaim);
  await ctx.store.claimDedup(key, done, now, now + ctx.config.deduplicationWindowMs, pending).catch(() => undefined);
  return respond(200, results);
}

/**
 * Claims a deduplication key for this publish (pending), or returns the ids of the publish that holds it.
 * A duplicate of a publish still in progress waits for it to settle, so it never acknowledges ids that
 * end up not stored (the first publish fails and releases the claim: then this one goes on). A claim
 * left pending by a publish that died is taken over — unless its messages exist (it died after storing
 * them), which makes it a plain duplicate.
 */
async function claimDeduplication(
  ctx: HeraldContext,
  key: string,
  pending: string,
): Promise<PublishResult[] | undefined> {
  const deadline = ctx.clock.now() + PENDING_WAIT_MS;
  for (let round = 0; ; round++) {
    const now = ctx.clock.now();
    const expiresAt = now + ctx.config.deduplicationWindowMs;
    const held = await ctx.store.claimDedup(key, pending, now, expiresAt);
    if (held === undefined) return undefined;
    const claim = readClaim(held);
    if (claim.pendingSince === undefined || round === 100) return claim.results;
    if (now - claim.pendingSince > ABANDONED_CLAIM_MS) {
      for (const result of claim.results) {
        if (await ctx.store.getMessage(result.messageId)) return claim.results; // it stored (some of) them
      }
      const taken = await ctx.store.claimDedup(key, pending, now, expiresAt, held);
      if (taken === undefined) return undefined;
      continue; // someone else changed it: look again
    }
    if (!ctx.clock.sleep || now >= deadline) return claim.results;
    await ctx.clock.sleep(Math.min(1_000, 25 * 2 ** round));
  }
}

export async function publish(ctx: HeraldContext, request: PublishRequest): Promise<PublishResponse> {
  return acceptPlan(ctx, await planPublish(ctx, request, ctx.clock.now()));
}
