import type { MessageStore } from "../ports.ts";
import { FINAL_STATES, type Message, type MessageState } from "./message.ts";

/** States in which a message is gone for `GET`/`DELETE /v2/messages/{id}`; its log keeps its history. */
const GONE_STATES: readonly MessageState[] = [...FINAL_STATES, "CANCEL_REQUESTED"];

/**
 * A message by id while it is still to be delivered, as QStash answers it: once it is DELIVERED, FAILED
 * (then it is in the DLQ) or cancelled it is not found, though the logs keep its whole history. A message
 * that travels with its delivery job (the lean mode, see travelsWithJob) has no record until its first
 * attempt fails, so it is not found before that either.
 */
export async function findMessage(ctx: { store: MessageStore }, messageId: string): Promise<Message | undefined> {
  const stored = await ctx.store.getMessage(messageId);
  if (!stored || GONE_STATES.includes(stored.status.state)) return undefined;
  return stored.message;
}
