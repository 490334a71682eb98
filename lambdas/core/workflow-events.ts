// waitForEvent and notify for Upstash Workflow runs (docs/workflows.md). A wait is a waiter record and a
// delayed timeout message; a notify and the timeout race for the waiter with one compare-and-set (its
// `wonBy`), so exactly one of them resumes the run. Steps the server makes itself get ids derived from
// their cause, so a retried request or a redelivered job cannot make them twice.
import { acceptMessage } from "./accept.ts";
import { cancelMessage } from "./cancel.ts";
import type { HeraldContext } from "./context.ts";
import { parseDuration } from "./duration.ts";
import { badRequest, HttpError } from "./errors.ts";
import type { IncomingHeaders } from "./headers.ts";
import { derivedMessageId, MAX_ID_LENGTH } from "./ids.ts";
import { parseJsonBody } from "./json-body.ts";
import type { Message } from "./message.ts";
import { acceptLinked, planPublish } from "./publish.ts";
import { toBase64 } from "./views.ts";
import { getRun, inherit, linkToRun } from "./workflow.ts";
import { putRecord } from "./records.ts";

const WAITER = "workflowWaiter";
const EVENT = "workflowEvent";
/** QStash's default wait (the SDK sends "7d" unless told). */
const DEFAULT_TIMEOUT_SEC = 7 * 86_400;

interface WaitStep {
  stepId?: number;
  stepName?: string;
  stepType?: string;
  concurrent?: number;
  targetStep?: number;
}

interface Waiter {
  name: string;
  eventId: string;
  runId: string;
  url: string;
  /** Epoch seconds. */
  deadline: number;
  timeout: string;
  timeoutUrl: string;
  timeoutHeaders: Record<string, string[]>;
  headers: Record<string, string[]>;
  step: WaitStep;
  createdAt: number;
  timeoutMessageId: string;
  /** Who resumed the run: "notify" or the timeout message's id. Set once (compare-and-set). */
  wonBy?: string;
}

/** A notify with a run id that found no waiter, kept for a wait that comes later (lookback). */
interface PendingEvent {
  eventId: string;
  runId: string;
  data: string;
  createdAt: number;
  /** Made by a call to the run's webhook (workflow-hooks.ts): only a waitForWebhook takes it. */
  webhook?: boolean;
}

/** Most event data kept for a later wait: a record is one DynamoDB item (400 KB at most). */
export const MAX_PENDING_EVENT_BYTES = 256 * 1024;

const WEBHOOK_STEP = "WaitForWebhook";

/** Event and run ids become key prefixes (DynamoDB sort keys hold at most 1024 bytes): capped like other ids. */
function checkIds(...ids: (string | undefined)[]): void {
  const encoder = new TextEncoder();
  const long = ids.find((id) => id !== undefined && encoder.encode(id).byteLength > MAX_ID_LENGTH);
  if (long !== undefined) throw badRequest(`an event or run id has at most ${MAX_ID_LENGTH} bytes`);
}

/**
 * An id as one part of a record name whose parts `/` separates: `%` and `/` escaped, so that no id can
 * reach into the next part (a notify of `a` listed the waiters of `a/b` by prefix).
 */
const namePart = (id: string): string => id.replace(/%/g, "%25").replace(/\//g, "%2F");

const waiterName = (eventId: string, runId: string, step: WaitStep): string =>
  `${namePart(eventId)}/${namePart(runId)}/${step.targetStep ?? 0}-${step.stepId ?? 0}`;

/** The key of an event kept for a run that waits for it later (lookback). */
const pendingEventKey = (runId: string, eventId: string): string => `${namePart(runId)}/${namePart(eventId)}`;

/**
 * Headers of the wait request kept with the waiter (the waiters API shows them): never the token that
 * authorized it, which the read-only token would then read.
 */
const SECRET_HEADERS = new Set(["authorization", "proxy-authorization", "cookie"]);
const keptHeaders = (headers: Record<string, string[]>): Record<string, string[]> =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !SECRET_HEADERS.has(name.toLowerCase())));

/** A header map as publish headers (names lower-case, several values joined). */
const asRequestHeaders = (map: Record<string, string[]>): IncomingHeaders =>
  Object.fromEntries(Object.entries(map).map(([name, values]) => [name.toLowerCase(), values.join(", ")]));

const isObject = (value: unknown): value is object =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** The SDK sends headers as `{name: [values]}`; a single string is taken as one value. */
function headerListsOf(value: unknown): Record<string, string[]> {
  if (!isObject(value)) throw badRequest("timeoutHeaders must be an object of header values");
  const lists: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(value)) {
    const list: unknown[] = Array.isArray(values) ? values : [values];
    if (!list.every((v) => typeof v === "string")) throw badRequest(`timeoutHeaders.${name} must be strings`);
    lists[name] = list as string[];
  }
  return lists;
}

const resultBody = (waiter: Waiter, outcome: { out?: string; timedOut: boolean }): Uint8Array =>
  new TextEncoder().encode(
    JSON.stringify({
      ...waiter.step,
      waitEventId: waiter.eventId,
      timeout: waiter.timeout,
      waitTimeout: outcome.timedOut,
      ...(outcome.out !== undefined ? { out: outcome.out } : {}),
    }),
  );

/**
 * `POST /v2/wait/{eventId}`: the run waits for the event, until `timeout` (default 7 days). A notify made
 * earlier for this run (the lookback form) resumes it at once.
 */
export async function waitForEvent(
  ctx: HeraldContext,
  eventId: string,
  headers: IncomingHeaders,
  body: Uint8Array,
): Promise<void> {
  checkIds(eventId);
  const parsed = parseJsonBody(body, "wait body must be JSON");
  if (!isObject(parsed)) throw badRequest("wait body must be a JSON object");
  const request = parsed as {
    url?: unknown;
    timeout?: unknown;
    timeoutUrl?: unknown;
    timeoutHeaders?: unknown;
    step?: unknown;
  };
  const runId = headers["upstash-workflow-runid"]?.trim();
  if (!runId) throw badRequest("Upstash-Workflow-RunId is required");
  if (typeof request.url !== "string" || request.url === "") throw badRequest("url is required");
  const run = await getRun(ctx, runId);
  if (!run || run.value.state !== "RUN_STARTED") throw badRequest(`workflow run ${runId} already finished`);
  const timeout = typeof request.timeout === "string" ? request.timeout : `${DEFAULT_TIMEOUT_SEC}s`;
  const timeoutSec = parseDuration(timeout, "timeout");
  const step = (request.step ?? {}) as WaitStep;
  if (!isObject(step)) throw badRequest("step must be an object");
  const now = ctx.clock.now();
  const name = waiterName(eventId, runId, step);
  const timeoutHeaders = headerListsOf(request.timeoutHeaders ?? {});
  let waiter: Waiter = {
    name,
    eventId,
    runId,
    url: request.url,
    deadline: Math.floor(now / 1000) + timeoutSec,
    timeout,
    timeoutUrl: typeof request.timeoutUrl === "string" ? request.timeoutUrl : request.url,
    timeoutHeaders,
    headers: keptHeaders(Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]]))),
    step,
    createdAt: now,
    timeoutMessageId: await derivedMessageId(now, `${name}/timeout`),
  };
  if (!(await putRecord(ctx.store, WAITER, name, waiter, undefined))) {
    // The same wait again: the SDK's delivery given again, maybe after this wait's process died having
    // stored its waiter. It goes on with the stored waiter, whose timeout may never have been accepted
    // (accepting it again is safe: its id is derived) and whose kept event may not have been looked for.
    const stored = (await ctx.store.getRecord<Waiter>(WAITER, name))?.value;
    if (!stored || stored.wonBy !== undefined) return; // resumed, or being resumed
    waiter = stored;
  }
  // Looked for after the waiter is stored, so a notify that stores its event at the same time sees the
  // waiter when it looks again (notify): one of the two always finds the other.
  if (await resumeWithPendingEvent(ctx, waiter)) return;
  // The timeout: a delayed message that resumes the run only if it wins the waiter when it comes due.
  const plan = await planPublish(
    ctx,
    {
      destination: waiter.timeoutUrl,
      rawQuery: "",
      headers: {
        ...asRequestHeaders(waiter.timeoutHeaders),
        "upstash-delay": `${Math.max(0, waiter.deadline - Math.floor(now / 1000))}s`,
      },
      body: resultBody(waiter, { timedOut: true }),
    },
    now,
    () => waiter.timeoutMessageId,
  );
  const message = plan.messages[0] as Message;
  message.workflow = {
    runId,
    seq: -1, // joins the step log only if it wins (claimTimeout)
    callType: "waitTimeout",
    runCreatedAt: run.value.createdAt,
    runUrl: run.value.url,
    waiter: name,
  };
  // As any step the run publishes: its retries, failure function, forwarded headers, labels and the rest.
  inherit(message, run.value.settings, asRequestHeaders(waiter.timeoutHeaders));
  await acceptMessage(ctx, message);
}

/**
 * Notified before it waited (lookback): takes the event kept for this run and resumes the run with it, once.
 * True when the event was there; the waiter is then gone, and the wait needs no timeout.
 */
async function resumeWithPendingEvent(ctx: HeraldContext, waiter: Waiter): Promise<boolean> {
  const key = pendingEventKey(waiter.runId, waiter.eventId);
  const pending = await ctx.store.getRecord<PendingEvent>(EVENT, key);
  if (!pending || !eligible(waiter, pending.value)) return false;
  // The event first (a notify looking again may take it for this waiter), then the waiter: deleted as this
  // wait put it (version 1), so a notify that claimed it meanwhile (a put) keeps it and resumes the run.
  if (!(await ctx.store.deleteRecord(EVENT, key, pending.version))) return false;
  if (await ctx.store.deleteRecord(WAITER, waiter.name, 1)) {
    await publishResult(ctx, { ...waiter, createdAt: pending.value.createdAt }, pending.value.data, "lookback");
  }
  return true;
}

/** Publishes the step that resumes a waiting run with the event's data (base64 in `out`). */
async function publishResult(ctx: HeraldContext, waiter: Waiter, data: string, cause: string): Promise<string> {
  const messageId = await derivedMessageId(waiter.createdAt, `${waiter.name}/${cause}`);
  const request = {
    destination: waiter.url,
    rawQuery: "",
    headers: asRequestHeaders(waiter.timeoutHeaders),
    body: resultBody(waiter, { out: toBase64(new TextEncoder().encode(data)), timedOut: false }),
  };
  const plan = await planPublish(ctx, request, ctx.clock.now(), () => messageId);
  await acceptLinked(ctx, plan, await linkToRun(ctx, request.headers, plan.messages));
  return messageId;
}

const waiterView = (waiter: Waiter) => ({
  url: waiter.url,
  deadline: waiter.deadline,
  headers: keptHeaders(waiter.headers), // a waiter kept before its token was left out holds it
  timeoutUrl: waiter.timeoutUrl,
  timeoutHeaders: waiter.timeoutHeaders,
});

/**
 * The waiters of an event (of one run) not taken yet — and, `forNotify`, those a notify took but did not
 * finish (its process died after the claim): a notify takes those over, or the run would wait for good
 * (the timeout finds its waiter taken).
 */
async function waitersOf(ctx: HeraldContext, eventId: string, runId?: string, forNotify = false): Promise<Waiter[]> {
  const prefix = runId === undefined ? `${namePart(eventId)}/` : `${namePart(eventId)}/${namePart(runId)}/`;
  // Waiter names start with the event id: only that event's waiters are read.
  return (await ctx.store.listRecords<Waiter>(WAITER, prefix)).filter(
    (waiter) => waiter.wonBy === undefined || (forNotify && waiter.wonBy === "notify"),
  );
}

/** Whether the waiter's run still runs: a run cancelled or failed meanwhile leaves waiters behind. */
const runGoesOn = async (ctx: HeraldContext, waiter: Waiter): Promise<boolean> =>
  (await getRun(ctx, waiter.runId))?.value.state === "RUN_STARTED";

/** `GET /v2/waiters/{eventId}`: waiters of runs that still run. */
export async function listWaiters(ctx: HeraldContext, eventId: string) {
  checkIds(eventId);
  const waiters = await waitersOf(ctx, eventId);
  const live = await Promise.all(waiters.map((waiter) => runGoesOn(ctx, waiter)));
  return waiters.filter((_, i) => live[i]).map(waiterView);
}

/** Takes the waiter for `who`; true when it is this one's (also when it already was: a redelivery). */
async function claimWaiter(ctx: HeraldContext, name: string, who: string): Promise<Waiter | undefined> {
  // A lost compare-and-set answers with the waiter it met: the next try starts from it, not a second read.
  for (let found = await ctx.store.getRecord<Waiter>(WAITER, name); ;) {
    if (!found) return undefined;
    if (found.value.wonBy !== undefined) return found.value.wonBy === who ? found.value : undefined;
    const swap = await ctx.store.swapRecord<Waiter>(WAITER, name, { ...found.value, wonBy: who }, found.version);
    if (swap.written) return { ...found.value, wonBy: who };
    found = swap.current;
  }
}

/**
 * `POST /v2/notify/{eventId}` and `/v2/notify/{runId}/{eventId}`: resumes the runs waiting for the event
 * with its data. With a run id and no waiter yet, the event is kept for that run's wait (lookback).
 */
export async function notify(
  ctx: HeraldContext,
  eventId: string,
  data: string,
  runId?: string,
  options: { webhook?: boolean } = {},
) {
  checkIds(eventId, runId);
  const answers = await resumeWaiters(ctx, await waitersOf(ctx, eventId, runId, true), data, options);
  if (answers.length === 0 && runId !== undefined) {
    const run = await getRun(ctx, runId);
    if (run?.value.state === "RUN_STARTED") {
      if (new TextEncoder().encode(data).byteLength > MAX_PENDING_EVENT_BYTES) {
        throw new HttpError(413, `event data over ${MAX_PENDING_EVENT_BYTES} bytes cannot be kept for a later wait`);
      }
      const pending: PendingEvent = {
        eventId,
        runId,
        data,
        createdAt: ctx.clock.now(),
        ...(options.webhook ? { webhook: true } : {}),
      };
      // Kept for the run's later wait, at most as long as a wait lasts by default, plus the retention.
      const expiresAt = pending.createdAt + DEFAULT_TIMEOUT_SEC * 1000 + ctx.config.retentionMs;
      const key = pendingEventKey(runId, eventId);
      await putRecord(ctx.store, EVENT, key, pending, undefined, { expiresAt });
      // Looked for again now the event is stored: a wait that stored its waiter after this notify listed
      // none may have read for the event before it was here (waitForEvent looks after it stores its
      // waiter). Whichever of the two deletes the event resumes the run with it.
      const late = await waitersOf(ctx, eventId, runId, true);
      if (late.some((waiter) => eligible(waiter, options))) {
        const stored = await ctx.store.getRecord<PendingEvent>(EVENT, key);
        if (stored && (await ctx.store.deleteRecord(EVENT, key, stored.version))) {
          answers.push(...(await resumeWaiters(ctx, late, stored.value.data, options)));
        }
      }
    }
  }
  return answers;
}

/** A webhook's call resumes only a waitForWebhook: its URL must not be a way to send other events. */
const eligible = (waiter: Pick<Waiter, "step">, event: { webhook?: boolean }): boolean =>
  !event.webhook || waiter.step.stepType === WEBHOOK_STEP;

/** Resumes each waiter it takes (from a timeout that would race it) with the event's data. */
async function resumeWaiters(ctx: HeraldContext, waiters: Waiter[], data: string, event: { webhook?: boolean }) {
  const answers: { waiter: ReturnType<typeof waiterView>; messageId: string; error: string }[] = [];
  for (const waiter of waiters) {
    if (!eligible(waiter, event)) continue;
    if (!(await runGoesOn(ctx, waiter))) {
      // Its run was cancelled or failed while it waited: nothing to resume (the timeout drops it too).
      await ctx.store.deleteRecord(WAITER, waiter.name);
      continue;
    }
    // Checked before the waiter is taken: a result too large to publish must not leave the run waiting.
    const size = resultBody(waiter, { out: toBase64(new TextEncoder().encode(data)), timedOut: false }).byteLength;
    if (size > ctx.config.maxBodyBytes) {
      throw new HttpError(
        413,
        `event data too large: the resuming step would be ${size} bytes, over the message limit`,
      );
    }
    if (!(await claimWaiter(ctx, waiter.name, "notify"))) continue; // the timeout won
    const messageId = await publishResult(ctx, waiter, data, "notify");
    await cancelMessage(ctx, waiter.timeoutMessageId).catch((error: unknown) => {
      if (!(error instanceof HttpError)) throw error; // already attempted, or not accepted yet: it finds the waiter taken
    });
    await ctx.store.deleteRecord(WAITER, waiter.name);
    answers.push({ waiter: waiterView(waiter), messageId, error: "" });
  }
  return answers;
}

/**
 * A wait's timeout message came due: it resumes the run only if it takes the waiter before a notify does.
 * Returns the message with its place in the step log, or undefined when a notify won (then it is dropped).
 */
export async function claimTimeout(ctx: HeraldContext, message: Message): Promise<Message | undefined> {
  const link = message.workflow;
  if (!link || link.callType !== "waitTimeout") return message;
  const mine = link.waiter === undefined ? undefined : (await ctx.store.getRecord<Waiter>(WAITER, link.waiter))?.value;
  const steps = await ctx.store.listSteps(link.runId);
  const logged = steps.find((step) => step.messageId === message.messageId);
  if (!logged) {
    if (!mine || !(await claimWaiter(ctx, mine.name, message.messageId))) return undefined;
    // Its run was cancelled or failed while it waited: it resumes nothing.
    if (!(await runGoesOn(ctx, mine))) {
      await ctx.store.deleteRecord(WAITER, mine.name);
      return undefined;
    }
  }
  const seq =
    logged?.seq ??
    (await ctx.store.appendStep(link.runId, {
      messageId: message.messageId,
      callType: "step",
      body: message.body,
      createdAt: message.createdAt,
    }));
  if (mine) await ctx.store.deleteRecord(WAITER, mine.name);
  return { ...message, workflow: { ...link, seq, callType: "step" } };
}
