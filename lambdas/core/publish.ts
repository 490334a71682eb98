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
import { linkToRun } from "./workflow.ts";

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
  /** 202 for a duplicate (docs/qstash-api.md §7). */
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
  const queryConfig = splitQuery(request.rawQuery).config;
  const options = parsePublishOptions(request.headers, nowMs, ctx.config, queryConfig);
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
    queryConfig,
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
  const respond = (status: 200 | 202, list: PublishResult[]): PublishResponse => ({
    status,
    body: plan.fanOut ? list : (list[0] as PublishResult),
  });
  const key = plan.deduplicationKey;
  if (key === undefined) {
    await Promise.all(plan.messages.map((message) => acceptMessage(ctx, message)));
    return respond(200, plan.messages.map(resultOf));
  }
  const claim = await claimDeduplication(ctx, key, plan.messages);
  if ("duplicate" in claim)
    return respond(
      202,
      claim.duplicate.map((r) => ({ ...r, deduplicated: true })),
    );

  // Every accept finishes (or fails) before the claim is released: none may succeed after the release.
  const accepted = await Promise.allSettled(
    claim.messages.map((message) => acceptMessage(ctx, message, { stored: true })),
  );
  const failure = accepted.find((r) => r.status === "rejected");
  if (failure) {
    // Some messages may be stored, and sent: the claim is left abandoned (not released), so the client's
    // retry — or a duplicate waiting on it — takes it over at once and finishes this publish under its
    // ids (what is stored is sent again if it never got past CREATED, the rest is stored). A release let
    // the retry publish under new ids: a URL group's endpoints that had their message got a second one.
    const abandoned = JSON.stringify({ results: claim.answer, pendingSince: 0 } satisfies DedupClaim);
    const now = ctx.clock.now();
    await ctx.store
      .claimDedup(key, abandoned, now, now + ctx.config.deduplicationWindowMs, claim.pending)
      .catch(() => undefined);
    throw failure.reason;
  }
  const results = claim.answer;
  const now = ctx.clock.now();
  const done = JSON.stringify({ results } satisfies DedupClaim);
  await ctx.store
    .claimDedup(key, done, now, now + ctx.config.deduplicationWindowMs, claim.pending)
    .catch(() => undefined);
  return claim.resumed
    ? respond(
        202,
        results.map((r) => ({ ...r, deduplicated: true })),
      )
    : respond(200, results);
}

const resultOf = (message: Message): PublishResult => ({ messageId: message.messageId, url: message.url });

/** The claim this publish holds: the messages to accept under it, and the answer once they are. */
interface HeldClaim {
  messages: Message[];
  answer: PublishResult[];
  /** The claim's value while the messages are accepted. */
  pending: string;
  /** It finishes a publish that died after storing some of its messages: the answer is a duplicate's. */
  resumed: boolean;
}

/**
 * Claims a deduplication key for this publish (pending), or returns the ids of the publish that holds it.
 * A duplicate of a publish still in progress waits for it to settle, so it never acknowledges ids that
 * end up not stored (the first publish fails and releases the claim: then this one goes on).
 *
 * A claim left pending by a publish that died is taken over, and that publish is finished under its own
 * ids: it is the same publish (same key), and it may have stored messages without dispatching them, or a
 * duplicate that gave up waiting may have been answered with its ids. Accepting a stored message again
 * dispatches it only if it never got past CREATED (acceptMessage).
 */
async function claimDeduplication(
  ctx: HeraldContext,
  key: string,
  messages: Message[],
): Promise<HeldClaim | { duplicate: PublishResult[] }> {
  const pendingValue = (list: Message[], since: number): string =>
    JSON.stringify({ results: list.map(resultOf), pendingSince: since } satisfies DedupClaim);
  const deadline = ctx.clock.now() + PENDING_WAIT_MS;
  for (let round = 0; ; round++) {
    const now = ctx.clock.now();
    const expiresAt = now + ctx.config.deduplicationWindowMs;
    const pending = pendingValue(messages, now);
    const heldValue = await ctx.store.claimDedup(key, pending, now, expiresAt);
    if (heldValue === undefined) return { messages, answer: messages.map(resultOf), pending, resumed: false };
    const claim = readClaim(heldValue);
    if (claim.pendingSince === undefined || round === 100) return { duplicate: claim.results };
    if (now - claim.pendingSince > ABANDONED_CLAIM_MS) {
      const stored: Message[] = [];
      for (const result of claim.results) {
        const found = await ctx.store.getMessage(result.messageId);
        if (found) stored.push(found.message);
      }
      const same =
        claim.results.length === messages.length && claim.results.every((r, i) => r.url === messages[i]?.url);
      let held: Omit<HeldClaim, "pending">;
      if (same) {
        // This publish's messages under the dead one's ids.
        const adopted = messages.map((m, i) => ({ ...m, messageId: (claim.results[i] as PublishResult).messageId }));
        held = { messages: adopted, answer: adopted.map(resultOf), resumed: stored.length > 0 };
      } else if (stored.length > 0) {
        // A URL group changed in between: what the dead publish stored is its answer, accepted again.
        const ids = new Set(stored.map((m) => m.messageId));
        held = { messages: stored, answer: claim.results.filter((r) => ids.has(r.messageId)), resumed: true };
      } else {
        held = { messages, answer: messages.map(resultOf), resumed: false };
      }
      const pendingAgain = pendingValue(held.messages, now);
      if ((await ctx.store.claimDedup(key, pendingAgain, now, expiresAt, heldValue)) === undefined) {
        return { ...held, pending: pendingAgain };
      }
      continue; // someone else changed it: look again
    }
    if (!ctx.clock.sleep || now >= deadline) return { duplicate: claim.results };
    await ctx.clock.sleep(Math.min(1_000, 25 * 2 ** round));
  }
}

export async function publish(ctx: HeraldContext, request: PublishRequest): Promise<PublishResponse> {
  const plan = await planPublish(ctx, request, ctx.clock.now());
  return acceptLinked(ctx, plan, await linkToRun(ctx, request.headers, plan.messages));
}

/**
 * Accepts a plan tied to its workflow run (linkToRun). A trigger whose run exists already is answered as a
 * duplicate, with the first trigger's id; it is accepted again only if that message was never stored.
 */
export async function acceptLinked(
  ctx: HeraldContext,
  plan: PublishPlan,
  link: { duplicateOf?: string; stored?: boolean } | undefined,
): Promise<PublishResponse> {
  if (link?.duplicateOf === undefined) return acceptPlan(ctx, plan);
  const url = (plan.messages[0] as Message).url;
  if (!link.stored) await acceptPlan(ctx, plan);
  return { status: 202, body: { messageId: link.duplicateOf, url, deduplicated: true } };
}
