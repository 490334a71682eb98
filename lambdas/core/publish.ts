import { acceptMessage } from "./accept.ts";
import type { HeraldContext } from "./context.ts";
import { deduplicationKey } from "./dedup.ts";
import { parseDestination, splitQuery } from "./destination.ts";
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

interface DedupClaim {
  results: PublishResult[];
  /** Set while the claiming publish is storing its messages. */
  pendingSince?: number;
}

/**
 * Carries out a plan. Every message is stored and dispatched before the response: a client that got a
 * 2xx has all of them, also for a URL group; one that got none (the process died midway) publishes again.
 *
 * A deduplicated publish first claims its key, pending (so of concurrent duplicates exactly one goes
 * on), and marks the claim done once its messages are accepted. If accepting fails the claim is
 * released, so the client's retry publishes; a claim left pending by a publish that died is taken
 * over once it is older than any publish can take.
 */
export async function acceptPlan(ctx: HeraldContext, plan: PublishPlan): Promise<PublishResponse> {
  const results: PublishResult[] = plan.messages.map((m) => ({ messageId: m.messageId, url: m.url }));
  const key = plan.deduplicationKey;
  if (key === undefined) {
    await Promise.all(plan.messages.map((message) => acceptMessage(ctx, message)));
    return { status: 200, body: plan.fanOut ? results : (results[0] as PublishResult) };
  }
  const now = ctx.clock.now();
  const expiresAt = now + ctx.config.deduplicationWindowMs;
  const pending = JSON.stringify({ results, pendingSince: now } satisfies DedupClaim);
  let held = await ctx.store.claimDedup(key, pending, now, expiresAt);
  if (held !== undefined) {
    const claim = JSON.parse(held) as DedupClaim;
    const abandoned = claim.pendingSince !== undefined && now - claim.pendingSince > ABANDONED_CLAIM_MS;
    if (abandoned) held = await ctx.store.claimDedup(key, pending, now, expiresAt, held);
    if (held !== undefined) {
      const earlier = (JSON.parse(held || "{}") as DedupClaim).results ?? claim.results;
      const body = earlier.map((r) => ({ ...r, deduplicated: true }));
      return { status: 202, body: plan.fanOut ? body : (body[0] as PublishResult) };
    }
  }
  try {
    await Promise.all(plan.messages.map((message) => acceptMessage(ctx, message)));
  } catch (error) {
    await ctx.store.releaseDedup(key, pending).catch(() => undefined);
    throw error;
  }
  await ctx.store.claimDedup(key, JSON.stringify({ results } satisfies DedupClaim), now, expiresAt, pending);
  return { status: 200, body: plan.fanOut ? results : (results[0] as PublishResult) };
}

export async function publish(ctx: HeraldContext, request: PublishRequest): Promise<PublishResponse> {
  return acceptPlan(ctx, await planPublish(ctx, request, ctx.clock.now()));
}
