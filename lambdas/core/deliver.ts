import type { DeliveryJob, SendOutcome } from "../ports.ts";
import { acceptMessage } from "./accept.ts";
import { retryDelayMs } from "./backoff.ts";
import { callbackMessage } from "./callbacks.ts";
import { cancelMarkOf, unseenByWalk } from "./cancel-marks.ts";
import type { HeraldContext } from "./context.ts";
import { buildDeliveryRequest } from "./delivery-request.ts";
import { getHeader } from "./headers.ts";
import { endedInLog } from "./find-message.ts";
import { dlqIdFor, newJwtId } from "./ids.ts";
import { acquireFlowSlot, heldByAnotherRun, releaseFlowSlot, waitForFlowSlot, type SlotWait } from "./flow-control.ts";
import {
  FINAL_STATES,
  type AttemptResponse,
  type LogEvent,
  type Message,
  type MessageStatus,
  type StoredMessage,
} from "./message.ts";
import { laneGate, pinLane, type LaneTurn } from "./queue-lanes.ts";
import { onMessageFinal, parkIfPaused } from "./queues.ts";
import { redactMessage } from "./redact.ts";
import { signDelivery } from "./signature.ts";
import { asDelivered, endRun, getRun, initialPayload } from "./workflow.ts";
import { claimTimeout } from "./workflow-events.ts";

/**
 * Runs one delivery attempt (docs/architecture.md §10). Safe to run twice for the same job (at-least-once
 * dispatch): side effects use derived ids and every status change is a compare-and-set.
 *
 * Order per outcome — side effects first, status last — so a crash never loses one:
 *   success:       callback message, then DELIVERED
 *   retryable:     callback message, next job dispatched, then RETRY (retried + 1)
 *   final failure: callback message, DLQ entry, failure-callback message, then FAILED
 */
export type DeliveryOutcome = "delivered" | "retry" | "failed" | "canceled" | "skipped" | "waiting";

export interface DeliverOptions {
  /**
   * How long this run may wait in its process before its attempt: a flow-control slot held by an attempt
   * of this process is then waited for and taken over (flow-control.ts). Without it, a run that may not
   * start waits in the key's list.
   */
  slotWait?: SlotWait;
  /** Internal: the status changed under this run once already. */
  again?: boolean;
}

export async function deliverMessage(
  ctx: HeraldContext,
  job: DeliveryJob,
  options: DeliverOptions = {},
): Promise<DeliveryOutcome> {
  // A message that travels with its job has no record to read: its first attempt needs none. A carried
  // job given again (a batch that timed out, SQS's own duplicate) looks first: its message may have a
  // record since (its first attempt failed, and it was stored for its retry) or have ended (its log says).
  if (job.message) {
    const { messageId } = job.message;
    if (job.redelivered) {
      if (await ctx.store.getMessage(messageId))
        return deliverMessage(ctx, { messageId, retried: 0, redelivered: true });
      if (await endedInLog(ctx, messageId)) return "skipped";
    }
    const mark = await cancelMarkOf(ctx, job.message);
    if (mark) {
      const created: LogEvent = { time: job.message.createdAt, messageId, state: "CREATED" };
      await ctx.store.appendEvents(
        [created, ...canceledByMark(messageId, mark.at, ctx.clock.now())],
        [redactMessage(job.message)],
      );
      return "canceled";
    }
    return attemptAndSettle(ctx, job.message, undefined, 0);
  }
  // The attempt starts with this read: a cancel written after it is one that met an attempt under way
  // (the log's ACTIVE time is this moment, so a cancel logged earlier provably came before the attempt).
  const readAt = ctx.clock.now();
  const stored = await ctx.store.getMessage(job.messageId);
  if (!stored) return "skipped"; // unknown or past retention
  const { status } = stored;
  let message = stored.message;
  // A light record before its first attempt is in no list a bulk cancel walks: its mark says instead
  // (so for a RETRY the walk may not have seen).
  const markedAt = unseenByWalk(status) ? await cancelMarkedAt(ctx, job, stored) : undefined;

  if (status.state === "CANCEL_REQUESTED" || markedAt !== undefined) {
    // Another run of this attempt holds its flow-control slot: its attempt is in flight, and its outcome
    // stands over the cancel (§13). This job comes back once that hold would be stale, rather than end the
    // message CANCELED under it and free its slot (a second attempt of the key would then start).
    const busyUntil = message.flowControl ? await heldByAnotherRun(ctx, message.flowControl.key, job) : undefined;
    if (busyUntil !== undefined) {
      await ctx.dispatcher.dispatch(job, busyUntil);
      return "waiting";
    }
    const canceled: MessageStatus = { state: "CANCELED", retried: status.retried };
    const now = ctx.clock.now();
    const written = await ctx.store.updateStatus(
      message.messageId,
      status,
      canceled,
      markedAt === undefined
        ? [{ time: now, messageId: message.messageId, state: "CANCELED" }]
        : canceledByMark(message.messageId, markedAt, now),
    );
    // Not written: canceled already (this write's answer lost, or another run) lets its queue move on too.
    const current = written ? undefined : (await ctx.store.getMessage(message.messageId))?.status;
    if (written || current?.state === "CANCELED") {
      await onMessageFinal(ctx, message, canceled);
    } else if (markedAt !== undefined && current && !options.again) {
      // A mark's cancel lost to another writer (a cancel by id, an attempt's outcome): this job does what
      // the status written now says.
      return deliverMessage(ctx, job, { ...options, again: true });
    }
    // A slot a waker kept for this job is given up, and a stale hold of its attempt (its worker died)
    // dropped; a live one was waited out above.
    if (message.flowControl) await releaseFlowSlot(ctx, message.flowControl.key, job);
    return "canceled";
  }
  // A job whose attempt is over may be the redelivery of a run that died after settling, before letting
  // its queue move on or releasing its flow-control slot: both are done (again) here, idempotently.
  const stale =
    FINAL_STATES.includes(status.state) ||
    // A job for the next attempt is dispatched before the status records the failed one; if a crash came
    // in between, the status is one behind. Any other mismatch is a stale duplicate.
    (job.retried !== status.retried && job.retried !== status.retried + 1);
  if (stale) {
    if (FINAL_STATES.includes(status.state)) await onMessageFinal(ctx, message, status);
    if (message.flowControl) await releaseFlowSlot(ctx, message.flowControl.key, job);
    return "skipped";
  }
  if (status.state !== "CREATED" && status.state !== "RETRY") return "skipped";
  // A light record's successful first attempt is only logged: a job given again (a batch that timed out,
  // SQS's own duplicate) looks there before attempting again.
  if (status.implicit && job.redelivered && (await endedInLog(ctx, message.messageId))) return "skipped";

  // A workflow wait's timeout resumes its run only if no notify came first (workflow-events.ts).
  if (message.workflow?.callType === "waitTimeout") {
    const resumed = await claimTimeout(ctx, message);
    if (!resumed) {
      await ctx.store.updateStatus(message.messageId, status, { ...status, state: "CANCELED" }, [
        { time: ctx.clock.now(), messageId: message.messageId, state: "CANCELED" },
      ]);
      return "canceled";
    }
    message = resumed;
  }
  const retried = job.retried;
  // A queue that is paused holds its messages (a job from a lane joins its entries, or runs holding the
  // lane: queue-lanes.ts); a flow-control key may make the attempt wait its turn.
  let lane: LaneTurn | undefined;
  if (job.ordered && message.queueName !== undefined) {
    lane = await laneGate(ctx, message);
    if (!lane) return "waiting";
  } else if (await parkIfPaused(ctx, message)) return "waiting";
  const flow = message.flowControl;
  if (flow) {
    // A queued message does not wait in the process: its queue could be paused meanwhile.
    const slotWait = message.queueName === undefined ? options.slotWait : undefined;
    const admission = await acquireFlowSlot(ctx, flow.key, job, slotWait);
    if (!admission.admitted) {
      if (admission.retryAt !== undefined) await ctx.dispatcher.dispatch(job, admission.retryAt);
      else await waitForFlowSlot(ctx, flow.key, job);
      return "waiting";
    }
    // Two wakers may give a waiter two jobs: the second may have read the status while the first was in
    // flight and take the slot once the first released it. Holding the slot now, it reads again, so an
    // attempt that settled meanwhile is not made twice.
    const now = await ctx.store.getMessage(message.messageId).catch(async (error: unknown) => {
      await releaseFlowSlot(ctx, flow.key, job); // not left held (by this process too) for nothing
      throw error;
    });
    if (!now || now.status.state !== status.state || now.status.retried !== status.retried) {
      await releaseFlowSlot(ctx, flow.key, job);
      // It reads the new status and does what it says.
      if (!options.again) return deliverMessage(ctx, job, { ...options, again: true });
      await ctx.dispatcher.dispatch(job, ctx.clock.now()); // changed twice: try once more later
      return "waiting";
    }
  }
  try {
    // Waiting for a flow-control slot starts the attempt later: then ACTIVE is logged when it is admitted.
    return await attemptAndSettle(ctx, message, status, retried, flow ? undefined : readAt, lane);
  } finally {
    if (flow) await releaseFlowSlot(ctx, flow.key, job);
  }
}

/**
 * When a bulk cancel's mark cancels this pending message (cancel-marks.ts, unseenByWalk), the time of
 * that cancel. A light record's job given again may be of a message delivered already (its success only
 * logged): that is not cancelled.
 */
async function cancelMarkedAt(
  ctx: HeraldContext,
  job: DeliveryJob,
  { message, status }: StoredMessage,
): Promise<number | undefined> {
  const mark = await cancelMarkOf(ctx, message);
  if (!mark || (status.implicit && job.redelivered && (await endedInLog(ctx, message.messageId)))) return undefined;
  return mark.at;
}

/** The events of a message a bulk cancel's mark cancelled: the cancel's request, when it was made. */
function canceledByMark(messageId: string, requestedAt: number, now: number): LogEvent[] {
  return [
    { time: Math.min(requestedAt, now), messageId, state: "CANCEL_REQUESTED" }, // a mark's time runs ahead
    { time: now, messageId, state: "CANCELED" },
  ];
}

/**
 * Makes attempt `retried` and records its outcome. `status` is the stored status; undefined for a message
 * that travels with its job (no record yet): its events are logged together with the message, and only a
 * retry stores it — as RETRY, before the next attempt is dispatched, since that job carries only the id.
 */
async function attemptAndSettle(
  ctx: HeraldContext,
  message: Message,
  status: MessageStatus | undefined,
  retried: number,
  startedAt = ctx.clock.now(),
  lane?: LaneTurn,
): Promise<DeliveryOutcome> {
  // ACTIVE is logged with the attempt's start time but written with its outcome, in the same store call:
  // one write round trip per attempt instead of two.
  const active: LogEvent = { time: startedAt, messageId: message.messageId, state: "ACTIVE" };
  const outcome = await attempt(ctx, message, retried);
  const now = ctx.clock.now();
  const response =
    outcome.kind === "response" ? toAttemptResponse(outcome, ctx.config.maxResponseBodyBytes) : undefined;
  const error = describeFailure(outcome);

  const outcomeFields = { source: message, retried, nowMs: now, ...(response ? { response } : {}), error };
  if (message.callback && !message.origin) {
    await acceptMessage(ctx, callbackMessage({ kind: "callback", settings: message.callback, ...outcomeFields }));
  }

  const carried: LogEvent[] = status
    ? []
    : [{ time: message.createdAt, messageId: message.messageId, state: "CREATED" }, active];
  if (error === undefined) {
    const delivered: LogEvent = {
      time: now,
      messageId: message.messageId,
      state: "DELIVERED",
      ...(response ? { response } : {}),
    };
    // A light record's first attempt that succeeded is only logged: nothing reads its final status but
    // GET and DELETE, which look in the log (find-message.ts). One write less per message. A later
    // attempt's outcome is written: its predecessor's RETRY may still land, and must not stand.
    if (status?.implicit && retried === 0) await ctx.store.appendEvents([active, delivered], [], [message.messageId]);
    else if (status) await settle(ctx, message, status, { state: "DELIVERED", retried }, [active, delivered], lane);
    else await ctx.store.appendEvents([...carried, delivered], [redactMessage(message)]);
    return "delivered";
  }

  const errorEvent: LogEvent = { time: now, messageId: message.messageId, state: "ERROR", error };
  if (response) errorEvent.response = response;
  const nonRetryable =
    response?.status === 489 && getHeader(response.header, "Upstash-NonRetryable-Error")?.toLowerCase() === "true";

  if (!nonRetryable && retried < message.maxRetries) {
    const nextAt = now + retryDelayMs(message, retried, response?.header, now, ctx.config);
    const retryEvent: LogEvent = { time: now, messageId: message.messageId, state: "RETRY", nextDeliveryTime: nextAt };
    if (!status) {
      // A crash after this store and before the dispatch redelivers the carried job: it attempts again,
      // finds the record, and dispatches then.
      const next: MessageStatus = { state: "RETRY", retried: retried + 1 };
      if (!(await ctx.store.createMessage(message, next, [...carried, errorEvent, retryEvent]))) {
        const existing = (await ctx.store.getMessage(message.messageId))?.status;
        if (!existing || !sameStatus(existing, next)) return "skipped";
      }
      await ctx.dispatcher.dispatch({ messageId: message.messageId, retried: retried + 1 }, nextAt);
      return "retry";
    }
    // The retry's wait outlasts this job's hold on its lane: the lane's entries hold the message from now.
    if (lane && !lane.pinned) await pinLane(ctx, lane.lane, message.messageId);
    await ctx.dispatcher.dispatch({ messageId: message.messageId, retried: retried + 1 }, nextAt);
    await settle(ctx, message, status, { state: "RETRY", retried: retried + 1 }, [active, errorEvent, retryEvent]);
    return "retry";
  }

  const dlqId = dlqIdFor(message);
  await ctx.store.putDlq({ dlqId, message, failedAt: now, retried, ...(response ? { response } : {}), error });
  // A workflow step that fails for good fails its run, once: its failure function is called by the step
  // that failed the run (again when that step's job is given again), not by a parallel branch failing
  // after it.
  const runStep = message.workflow && message.workflow.callType !== "toCallback" ? message.workflow : undefined;
  const failsRun =
    runStep === undefined ||
    (await endRun(ctx, runStep.runId, "RUN_FAILED", undefined, message.messageId)) ||
    (await getRun(ctx, runStep.runId))?.value.failedBy === message.messageId;
  if (message.failureCallback && !message.origin && failsRun) {
    const settings = message.failureCallback;
    // A workflow's failure function reads the run's initial payload as sourceBody (docs/workflows.md).
    const sourceBody = runStep ? await initialPayload(ctx, runStep.runId) : undefined;
    await acceptMessage(
      ctx,
      callbackMessage({
        kind: "failureCallback",
        settings,
        dlqId,
        ...outcomeFields,
        ...(sourceBody ? { sourceBody } : {}),
      }),
    );
  }
  const failed: LogEvent = { time: now, messageId: message.messageId, state: "FAILED", error };
  if (status) await settle(ctx, message, status, { state: "FAILED", retried }, [active, errorEvent, failed], lane);
  else await ctx.store.appendEvents([...carried, errorEvent, failed], [redactMessage(message)]);
  return "failed";
}

async function attempt(ctx: HeraldContext, message: Message, retried: number): Promise<SendOutcome> {
  const [{ current }, sent] = await Promise.all([ctx.keys.signingKeys(), asDelivered(ctx, message)]);
  const signature = signDelivery({
    signingKey: current,
    url: sent.url,
    body: sent.body,
    nowMs: ctx.clock.now(),
    jwtId: newJwtId(),
  });
  return ctx.sender.send(buildDeliveryRequest(sent, retried, signature, ctx.config));
}

/** Records the outcome (see settleStatus) and lets a queue move on once the message is final. */
async function settle(
  ctx: HeraldContext,
  message: Message,
  expected: MessageStatus,
  next: MessageStatus,
  events: LogEvent[],
  lane?: LaneTurn,
): Promise<void> {
  const written = await settleStatus(ctx, message, expected, next, events);
  // A job that ran through its lane without holding it has no entry to end: its SQS receipt was the turn.
  const inStore = !lane || lane.pinned;
  if (written && FINAL_STATES.includes(written.state)) await onMessageFinal(ctx, message, written, inStore);
}

/**
 * Records the outcome of attempt `retried`, returning the status written (undefined when none was). The compare-and-set can lose to two writers:
 * - the previous attempt's RETRY record landing after this attempt read the status (its job is
 *   dispatched before its status is written): then this outcome is applied on top of it;
 * - a cancel that arrived while the attempt was in flight: it is too late for a final outcome
 *   (DELIVERED, or FAILED with its DLQ entry and failure callback already made); a retry that would
 *   follow is not made: the message ends CANCELED. The CANCELED that a previous attempt's late RETRY
 *   made of such a cancel gives way to this attempt's final outcome in the same way.
 * Any other status means another run of this job settled it already.
 */
async function settleStatus(
  ctx: HeraldContext,
  message: Message,
  expected: MessageStatus,
  outcome: MessageStatus,
  outcomeEvents: LogEvent[],
): Promise<MessageStatus | undefined> {
  let current = expected;
  let next = outcome;
  let events = outcomeEvents;
  for (let tries = 0; tries < 4; tries++) {
    if (await ctx.store.updateStatus(message.messageId, current, next, events)) return next;
    const stored = (await ctx.store.getMessage(message.messageId))?.status;
    if (!stored) return undefined;
    // Already this outcome: our write landed though its answer was lost (the store's client retried it
    // and the retry failed its condition), or another run of this job settled it alike. Either way what
    // follows a written outcome (a queue moving on) must still happen; it is idempotent.
    if (sameStatus(stored, next)) return next;
    const attempt = next.state === "RETRY" ? next.retried - 1 : next.retried;
    if (stored.state === "RETRY" && stored.retried === attempt && !sameStatus(stored, current)) {
      current = stored; // the previous attempt's record arrived late
      continue;
    }
    if (stored.state === "CANCELED" && stored.retried === attempt) {
      // The previous attempt's RETRY, landing late, met a cancel that came while this attempt was in
      // flight, and ended the message CANCELED: this attempt's final outcome stands over it (§13). A retry
      // it would make is not: only its attempt is logged.
      if (next.state === "RETRY") {
        await ctx.store.appendEvents(events.filter((e) => e.state === "ACTIVE" || e.state === "ERROR"));
        return undefined;
      }
      current = stored;
      continue;
    }
    if (stored.state !== "CANCEL_REQUESTED") return undefined;
    // A cancel came in while the attempt was in flight: a final outcome is written over it; a retry that
    // would follow is not made (CANCELED). Written by the next round, whose read-back also covers a
    // write whose answer was lost.
    if (next.state === "RETRY") {
      next = { state: "CANCELED", retried: next.retried };
      events = [
        ...events.filter((e) => e.state === "ACTIVE" || e.state === "ERROR"),
        { time: ctx.clock.now(), messageId: message.messageId, state: "CANCELED" },
      ];
    }
    current = stored;
  }
  return undefined;
}

const sameStatus = (a: MessageStatus, b: MessageStatus): boolean => a.state === b.state && a.retried === b.retried;

function toAttemptResponse(outcome: SendOutcome & { kind: "response" }, maxBytes: number): AttemptResponse {
  const body = outcome.body.byteLength > maxBytes ? outcome.body.subarray(0, maxBytes) : outcome.body;
  return { status: outcome.status, header: outcome.header, body };
}

function describeFailure(outcome: SendOutcome): string | undefined {
  if (outcome.kind === "error") return outcome.error;
  if (outcome.status >= 200 && outcome.status < 300) return undefined;
  // Redirects are not followed (the signature's `sub` names the original URL): a 3xx is a failed attempt.
  return `destination answered ${outcome.status}`;
}
