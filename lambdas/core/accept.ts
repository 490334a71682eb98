import type { HeraldContext } from "./context.ts";
import { flowLaneName, registerFlowControl } from "./flow-control.ts";
import type { Message } from "./message.ts";
import { enqueueMessage } from "./queues.ts";
import { storeNewMessage } from "./store-new.ts";

/** A carried message's job must stay within one 64 KiB SQS chunk: its body travels base64-encoded. */
export const MAX_CARRIED_BODY_BYTES = 32 * 1024;
/**
 * And its header maps (forwarded, callback, failure callback) within this, names and values together: a
 * batch entry's JSON can hold far more headers than an HTTP request (lib/queues.ts MAX_JOB_BYTES).
 */
export const MAX_CARRIED_HEADER_BYTES = 16 * 1024;

function headerBytes(message: Message): number {
  let bytes = 0;
  for (const map of [message.header, message.callback?.header, message.failureCallback?.header]) {
    for (const [name, values] of Object.entries(map ?? {})) {
      bytes += name.length;
      for (const value of values) bytes += value.length;
    }
  }
  return bytes;
}

export interface AcceptOptions {
  /** The message must have a stored record from the start (a deduplicated publish looks its ids up). */
  stored?: boolean;
}

/**
 * Whether the message can travel inside its first delivery job with no stored record (only in the
 * opt-in `lean` mode, HeraldConfig.messageRecords: by default every message can be read and cancelled
 * from its publish on, as on QStash): nothing looks it up before that attempt ends. A delayed message can be listed and cancelled; a queue, a flow-control
 * key, a schedule's firing (its derived id is looked up when the firing runs again) and deduplication all
 * read the record; a callback of a queued message holds its queue until it ends.
 */
export function travelsWithJob(ctx: HeraldContext, message: Message, options: AcceptOptions = {}): boolean {
  return (
    ctx.dispatcher.carriesMessages === true &&
    ctx.config.messageRecords === "lean" &&
    nothingWaitsOn(message, options) &&
    message.scheduleId === undefined &&
    // A workflow's step: a trigger sent again looks its first one up (linkToRun).
    message.workflow === undefined &&
    message.body.byteLength <= MAX_CARRIED_BODY_BYTES &&
    headerBytes(message) <= MAX_CARRIED_HEADER_BYTES
  );
}

/**
 * Nothing lists the message by state before its first attempt, nor waits for its end: it is due at once,
 * not in a queue, without flow control or deduplication, not a queued message's callback. (A schedule's
 * firing due at once qualifies: its view reads a light record's end from the log.)
 */
function nothingWaitsOn(message: Message, options: AcceptOptions): boolean {
  return (
    !options.stored &&
    message.notBefore <= message.createdAt &&
    message.queueName === undefined &&
    message.flowControl === undefined &&
    !message.origin?.sourceQueued
  );
}

/**
 * Stores a new message and schedules its first attempt (a queue message waits for its turn instead).
 * Store first, then dispatch: a crash in between loses nothing the client was told about (it got no
 * response). A message whose id already exists (a derived callback id, when an attempt is processed
 * again) is not stored again — but if it never got past CREATED its first dispatch may be what failed,
 * so it is dispatched again (a duplicate job is harmless: the attempt's status changes are compare-and-set).
 * A message that can travel with its job (travelsWithJob) is only dispatched: its job is its record.
 */
export async function acceptMessage(ctx: HeraldContext, given: Message, options?: AcceptOptions): Promise<boolean> {
  // Whether the message is `unlisted` is decided here, every time: a copy (a DLQ entry's message
  // retried) must not bring the flag along.
  const { unlisted: _unlisted, ...plain } = given;
  let message: Message = plain;
  if (travelsWithJob(ctx, message, options)) {
    await ctx.dispatcher.dispatch({ messageId: message.messageId, retried: 0, message }, message.notBefore);
    return true;
  }
  const parallelism = message.flowControl ? await registerFlowControl(ctx, message.flowControl) : 0;
  if (message.queueName !== undefined) return enqueueMessage(ctx, message);
  // The default keeps a record of every message (it can be read and cancelled at once, as on QStash);
  // where the store keeps light records, one nothing waits on is one item, with no status written for a
  // first attempt that succeeds (docs/architecture.md §19).
  if (ctx.store.lightRecords && nothingWaitsOn(message, options ?? {})) message = { ...message, unlisted: true };
  const stored = await storeNewMessage(ctx, message);
  if (!stored) return false;
  // Sent again for an id stored before: its first job may still be pending, and may end first. It is due
  // when the stored message says (this run's plan, made later, would put a delay later).
  const again = stored.created ? {} : { redelivered: true };
  const job = { messageId: message.messageId, retried: 0, ...again };
  // A flow-control key's message due at once goes through one of the key's lanes where the platform has
  // them (AWS: FIFO message groups), so it meets the key's slots when one may be free (§15, "Lanes").
  const { flowControl, notBefore } = stored.message;
  if (ctx.dispatcher.dispatchOrdered && flowControl && parallelism > 0 && notBefore <= ctx.clock.now()) {
    // The lane only meters arrivals: a send it refuses (SQS throttles a message group past its partition's
    // rate) goes through the standard queue instead.
    const lane = flowLaneName(flowControl.key, message.messageId, parallelism);
    await ctx.dispatcher.dispatchOrdered(job, lane).catch(() => ctx.dispatcher.dispatch(job, notBefore));
  } else await ctx.dispatcher.dispatch(job, stored.message.notBefore);
  return stored.created;
}
