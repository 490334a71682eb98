import type { EventLog, MessageStore } from "../ports.ts";
import { FINAL_STATES, type Message, type MessageState, type StoredMessage } from "./message.ts";

/** States in which a message is gone for `GET`/`DELETE /v2/messages/{id}`; its log keeps its history. */
const GONE_STATES: readonly MessageState[] = [...FINAL_STATES, "CANCEL_REQUESTED"];

/**
 * A message by id while it is still to be delivered, as QStash answers it: once it is DELIVERED, FAILED
 * (then it is in the DLQ) or cancelled it is not found, though the logs keep its whole history. A message
 * that travels with its delivery job (the lean mode, see travelsWithJob) has no record until its first
 * attempt fails, so it is not found before that either.
 */
export async function findMessage(
  ctx: { store: MessageStore & EventLog },
  messageId: string,
): Promise<Message | undefined> {
  return (await findPending(ctx, messageId))?.message;
}

/**
 * The stored message and status while it is pending. A light record's implicit first status
 * (MessageStatus.implicit) is not rewritten when its first attempt succeeds: the log says so instead.
 */
export async function findPending(
  ctx: { store: MessageStore & EventLog },
  messageId: string,
): Promise<StoredMessage | undefined> {
  const stored = await ctx.store.getMessage(messageId);
  if (!stored || GONE_STATES.includes(stored.status.state)) return undefined;
  if (stored.status.implicit && (await endedInLog(ctx, messageId))) return undefined;
  return stored;
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
