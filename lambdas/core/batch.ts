// `POST /v2/batch` (docs/qstash-api.md §9). Semantics: all entries are validated first — a bad entry
// (malformed JSON, destination, header, unknown URL group) answers 400/404/413 naming its index and
// publishes nothing. Then the entries are accepted in order; the response is index-aligned: an object
// per URL entry, an array per URL-group entry. A failure inside Herald after some entries were accepted
// answers 500 (the client retries; with deduplication ids the retry is exactly-once).
import type { HeraldContext } from "./context.ts";
import { badRequest, HttpError } from "./errors.ts";
import { parseJsonBody } from "./json-body.ts";
import { MAX_REQUEST_HEAD_BYTES, type IncomingHeaders } from "./headers.ts";
import {
  acceptLinked,
  planPublish,
  type PublishPlan,
  type PublishRequest,
  type PublishResponse,
  type PublishResult,
} from "./publish.ts";
import { checkStep, linkToRun, type CheckedRuns } from "./workflow.ts";

/** Most entries in one batch. */
export const MAX_BATCH_ENTRIES = 1000;
/** A batch's message bodies together hold at most this many message body limits. */
export const BATCH_BODIES = 10;

interface BatchEntry {
  destination?: unknown;
  headers?: unknown;
  body?: unknown;
  queue?: unknown;
}

export async function publishBatch(
  ctx: HeraldContext,
  body: Uint8Array,
  callerIp: string | undefined,
): Promise<(PublishResult | PublishResult[])[]> {
  const entries = parseJsonBody(body, "batch body must be a JSON array of messages");
  if (!Array.isArray(entries)) throw badRequest("batch body must be a JSON array of messages");
  if (entries.length > MAX_BATCH_ENTRIES) throw badRequest(`a batch holds at most ${MAX_BATCH_ENTRIES} messages`);
  const now = ctx.clock.now();
  let total = 0;
  const plans: PublishPlan[] = [];
  const requests: PublishRequest[] = [];
  await eachEntry(entries, async (raw) => {
    const request = toRequest(raw as BatchEntry, callerIp);
    requests.push(request);
    const plan = await planPublish(ctx, request, now);
    // The entry's body once, however many endpoints of a URL group it goes to (one body was sent).
    total += request.body.byteLength;
    if (total > ctx.config.maxBodyBytes * BATCH_BODIES) {
      throw new HttpError(
        413,
        `batch too large: its bodies hold at most ${ctx.config.maxBodyBytes * BATCH_BODIES} bytes`,
      );
    }
    plans.push(plan);
  });
  // Workflow steps join their runs' logs in entry order (the N plan steps of a parallel step come in one
  // batch), once every entry's run is known to take them. A batch of one (a context.call) has no earlier
  // entry to protect: its link checks it, and a check would read its run a second time.
  const checked: CheckedRuns = new Map();
  if (plans.length > 1) {
    await eachEntry(plans, (plan, i) =>
      checkStep(ctx, (requests[i] as PublishRequest).headers, plan.messages, checked),
    );
  }
  const links: Awaited<ReturnType<typeof linkToRun>>[] = [];
  await eachEntry(plans, async (plan, i) => {
    links.push(await linkToRun(ctx, (requests[i] as PublishRequest).headers, plan.messages));
  });
  // Entries are accepted together, so their first jobs can share SQS batches — except queued ones, which
  // are accepted one after another in entry order (their queue positions follow it).
  const queued = plans.map((plan) => plan.messages.some((m) => m.queueName !== undefined));
  const inOrder = (async () => {
    const bodies = new Map<number, PublishResult | PublishResult[]>();
    for (const [i, plan] of plans.entries()) {
      if (queued[i]) bodies.set(i, (await acceptLinked(ctx, plan, links[i])).body);
    }
    return bodies;
  })();
  const together = Promise.all(plans.map((plan, i) => (queued[i] ? undefined : acceptLinked(ctx, plan, links[i]))));
  const [bodies, responses] = await Promise.all([inOrder, together]);
  return plans.map((_, i) => bodies.get(i) ?? (responses[i] as PublishResponse).body);
}

/** Runs `check` on each entry in order; an HttpError names the entry it came from. */
async function eachEntry<T>(items: T[], check: (item: T, index: number) => Promise<void>): Promise<void> {
  for (const [i, item] of items.entries()) {
    try {
      await check(item, i);
    } catch (error) {
      if (error instanceof HttpError) throw new HttpError(error.status, `batch entry ${i}: ${error.message}`);
      throw error;
    }
  }
}

function toRequest(entry: BatchEntry, callerIp: string | undefined) {
  if (entry === null || typeof entry !== "object") throw badRequest("must be an object");
  if (typeof entry.destination !== "string" || entry.destination === "") throw badRequest("destination is required");
  if (entry.queue !== undefined && typeof entry.queue !== "string") throw badRequest("queue must be a string");
  const headers: IncomingHeaders = {};
  if (entry.headers !== undefined) {
    if (entry.headers === null || typeof entry.headers !== "object" || Array.isArray(entry.headers)) {
      throw badRequest("headers must be an object of strings");
    }
    let bytes = 0;
    for (const [name, value] of Object.entries(entry.headers as Record<string, unknown>)) {
      if (typeof value !== "string") throw badRequest(`header "${name}" must be a string`);
      bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
      Object.defineProperty(headers, name.toLowerCase(), { value, enumerable: true, writable: true });
    }
    if (bytes > MAX_REQUEST_HEAD_BYTES) {
      throw new HttpError(
        431,
        `headers too large: an entry's names and values hold at most ${MAX_REQUEST_HEAD_BYTES} bytes`,
      );
    }
  }
  const q = entry.destination.indexOf("?");
  return {
    destination: q < 0 ? entry.destination : entry.destination.slice(0, q),
    rawQuery: q < 0 ? "" : entry.destination.slice(q + 1),
    headers,
    // A body that is not a string is sent as its JSON: the Workflow SDK's context.call batches an object body.
    body: new TextEncoder().encode(
      entry.body === undefined ? "" : typeof entry.body === "string" ? entry.body : JSON.stringify(entry.body),
    ),
    ...(callerIp ? { callerIp } : {}),
    ...(entry.queue !== undefined ? { queueName: entry.queue } : {}),
  };
}
