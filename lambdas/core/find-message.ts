import type { Clock, EventLog, MessageStore, RecordStore } from "../ports.ts";
import { cancelMarkOf, unseenByWalk } from "./cancel-marks.ts";
import { FINAL_STATES, type Message, type MessageState, type StoredMessage } from "./message.ts";

/** States in which a message is gone for `GET`/`DELETE /v2/messages/{id}`; its log keeps its history. */
const GONE_STATES: readonly MessageState[] = [...FINAL_STATES, "CANCEL_REQUESTED"];

/**
 * A message by id while it is still to be delivered, as QStash answers it: once it is DELIVERED, FAILED
 * (then it is in the DLQ) or cancelled it is not found, though the logs keep its whole history. A message
 * that travels with its delivery job (the lean mode, see travelsWithJob) has no record until its first
 * attempt fails, so it is not found before that either.
 */
export async function findMessage(ctx: ReadContext, messageId: string): Promise<Message | undefined> {
  return (await findPending(ctx, messageId))?.message;
}

type ReadContext = { store: MessageStore & EventLog & RecordStore; clock: Clock; config: { retentionMs: number } };

/**
 * The stored message and status while it is pending. A light record's implicit first status
 * (MessageStatus.implicit) is not rewritten when its first attempt succeeds: the log says so instead;
 * nor when a bulk cancel's mark cancels it (cancel-marks.ts): the mark says so (for a RETRY too).
 */
export async function findPending(ctx: ReadContext, messageId: string): Promise<StoredMessage | undefined> {
  const stored = await ctx.store.getMessage(messageId);
  if (!stored || GONE_STATES.includes(stored.status.state)) return undefined;
  if (unseenByWalk(stored.status) && (await cancelMarkOf(ctx, stored.message))) return undefined;
  if (stored.status.implicit && (outlivedItsLog(ctx, stored.message) || (await endedInLog(ctx, messageId)))) {
    return undefined;
  }
  return stored;
}

/**
 * Whether a light record's implicit status can no longer be told from its log: the message is older than
 * the retention, which is as far back as the log is read (its pages expire with it), while the message
 * item may live days longer (its expiry covers every retry it could have). Such a record is taken as
 * ended: one still pending would be a first job that waited in SQS for longer than the retention (a job
 * that still comes is attempted: only GET, DELETE and the schedule view read this).
 */
export function outlivedItsLog(ctx: { clock: Clock; config: { retentionMs: number } }, message: Message): boolean {
  return message.createdAt < ctx.clock.now() - ctx.config.retentionMs;
}

/**
 * Whether the log holds a final event of the message. The scan starts at the time its id encodes and
 * stops at that event: a message delivered at once costs a few pages' reads.
 */
export async function endedInLog(ctx: { store: EventLog }, messageId: string): Promise<boolean> {
  return (await finalStateInLog(ctx, messageId)) !== undefined;
}

/** The final state the log holds for the message (as endedInLog scans), or undefined. */
export async function finalStateInLog(ctx: { store: EventLog }, messageId: string): Promise<MessageState | undefined> {
  for await (const { item } of ctx.store.scanEvents({ order: "earliestFirst", messageIds: [messageId] })) {
    if (FINAL_STATES.includes(item.event.state as MessageState)) return item.event.state as MessageState;
  }
  return undefined;
}
